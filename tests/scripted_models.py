"""A scripted stand-in for generate(): answers chosen by the test, so outputs can be hostile or arbitrary."""

from __future__ import annotations

from collections.abc import Callable

from bre_core.models import Generation

SCRIPT = "<script>window.__pwned = 1</script>"
IMAGE = '<img src=x onerror="window.__pwned = 2">'
LINK = "[click](javascript:alert(1))"
PICTURE = "![tracker](http://127.0.0.1:9/pixel.png)"
HOSTILE_PASSAGE = f"{SCRIPT} inhibits {IMAGE} while {LINK} and {PICTURE} do not."
# A ChemProt answer naming the hostile strings as entities, so they reach the tables and the highlighted passage.
HOSTILE_OUTPUT = f"the relation between {SCRIPT} and {IMAGE} is downregulation; the relation between {PICTURE} and {LINK} is agonist."


def scripted_generate(answer: Callable[[str, str], str]):
    """A generate() whose output for each source is `answer(model name, source)`; patch bre_core.models.generate."""

    def generate(
        loaded, sources, max_new_tokens, batch_size=16, progress=False, *, max_seconds=None, refuse_long=False
    ):
        outputs = [answer(loaded.spec.name, source) for source in sources]
        return [Generation(out, len(src.split()), len(out.split()) + 1, 0.001) for src, out in zip(sources, outputs)]

    return generate
