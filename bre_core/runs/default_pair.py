"""The pair of variants the Compare tab opens with for a task: finetuned checkpoints when there are some."""

from __future__ import annotations

from dataclasses import dataclass

from bre_core.config import ModelsFile
from bre_core.runs.variants import Variant, best_variant, runnable_variants

FINETUNE_COMMAND = "python -m bre_core finetune --model {model} --dataset {dataset} --setting full --out runs"


@dataclass(frozen=True)
class DefaultPair:
    """Variant ids of columns A and B, and a one-line note for the page (empty when there is nothing to say)."""

    a: str
    b: str
    note: str = ""
    commands: tuple[str, ...] = ()  # the commands that would train the pair (with the note)


def default_pair(models: ModelsFile, variants: list[Variant], dataset: str) -> DefaultPair:
    """When finetuned checkpoints of `dataset` exist: the models file's RQ1 pair (then any other pair) whose two
    models both have one, the pair whose weaker side has the best validation micro-F1, each side its best variant;
    else the default pair, finetuned where it can be. Without any: the default pair as published, and a note saying
    these checkpoints were not trained for the format and how to train them."""
    first, second = models.default_pair
    trained = {model: best_variant(found) for model, found in runnable_variants(variants, dataset).items()}
    if not trained:
        commands = tuple(FINETUNE_COMMAND.format(model=m, dataset=dataset) for m in dict.fromkeys((first, second)))
        note = (
            f"No finetuned checkpoint for {dataset} yet: {first} and {second} are shown as published, and they were "
            f"not trained for this output format. Train them with: {' and '.join(commands)}."
        )
        return DefaultPair(first, second, note, commands)
    groups = [models.pairs.get("rq1", [])] + [pairs for name, pairs in models.pairs.items() if name != "rq1"]
    for pairs in groups:
        both = [(a, b) for a, b in pairs if a in trained and b in trained]
        if both:
            a, b = max(both, key=lambda pair: _weaker_side(trained[pair[0]], trained[pair[1]]))
            return DefaultPair(trained[a].id, trained[b].id)
    pick = [trained[m].id if m in trained else m for m in (first, second)]
    return DefaultPair(pick[0], pick[1])


def _weaker_side(a: Variant, b: Variant) -> float:
    scores = [v.validation_f1 if v.validation_f1 is not None else -1.0 for v in (a, b)]
    return min(scores)
