"""From `finetune` to the Compare tab, to the hub and to a Space, end to end (tiny models, the hub stand-in).

Two tiny T5s stand for a general and a biomedical model; each is finetuned on the fixture ChemProt corpus (the
general one with full data, the biomedical one with full data and with k2 seed 1). The app finds the checkpoints
in the runs folder with no file edited; `publish` sends them to the stand-in, and a Space downloaded from it serves
the same comparison with an empty cache.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURE_DATA
from hub_client import environment, point_at
from hub_layouts import TOKEN
from hub_standin import HubStandIn
from served_app import free_port
from tiny_models import build_trainable_model

from bre_core.config import load_models_file
from bre_core.datasets import load_documents
from bre_core.finetune import finetune
from bre_core.settings import DecodingSettings, TrainingSettings
from bre_core.tasks import get_task

pytestmark = pytest.mark.slow  # training tiny models, a served Space

MAX_NEW = 16
GENERAL = "tiny-general@chemprot-full-seed42"
BIO_FULL = "tiny-bio@chemprot-full-seed42"
BIO_K2 = "tiny-bio@chemprot-k2-seed1"
TEXT = "Imatinib downregulates BCR-ABL kinase activity in leukemia cells."
PREFIX = "bre-tester/bre-"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A models file of the two tiny base models and a runs folder of their three finetuned runs."""
    base = tmp_path_factory.mktemp("finetuned")
    task = get_task("chemprot")
    documents = [
        d for split in ("train", "validation", "test") for d in load_documents("chemprot", split, FIXTURE_DATA)
    ]
    texts = [task.source(d) for d in documents] + [task.target(d) for d in documents]
    entries = []
    for name, domain, seed in (("tiny-general", "general", 0), ("tiny-bio", "biomedical", 1)):
        spec = build_trainable_model("t5", base / name, texts, seed=seed)
        entries.append({"name": name, "path": spec.path, "architecture": "seq2seq", "params": "tiny", "domain": domain})
        entries[-1].update(ift="none", family="t5")
    models_path = base / "models.yaml"
    models_path.write_text(
        yaml.safe_dump(
            {
                "models": entries,
                "pairs": {"rq1": [["tiny-general", "tiny-bio"]]},
                "default_pair": ["tiny-general", "tiny-bio"],
            }
        )
    )
    models = load_models_file(models_path)
    runs = base / "runs"
    common = {"learning_rate": 5e-3, "micro_batch": 2, "effective_batch": 2, "eval_from_epoch": 1}
    plans = [("tiny-general", "full", 42, 2), ("tiny-bio", "full", 42, 2), ("tiny-bio", "k2", 1, 1)]
    for name, setting, seed, epochs in plans:
        training = TrainingSettings(setting=setting, seed=seed, epochs=epochs, **common)
        finetune(
            models.get(name),
            "chemprot",
            runs,
            training,
            DecodingSettings(max_new_tokens=MAX_NEW),
            data_dir=FIXTURE_DATA,
            progress=False,
            device="cpu",
        )
    return models_path, runs


def app_context(models_path, runs):
    from bre_core.ui.context import AppContext

    ctx = AppContext(models=load_models_file(models_path), data_dir=str(FIXTURE_DATA), runs_dirs=[Path(runs)])
    ctx.max_new_tokens = MAX_NEW
    return ctx


def test_the_app_offers_the_finetuned_checkpoints_without_any_file_edited(trained):
    from bre_core.ui.variant_picker import model_choices, variant_choices

    models_path, runs = trained
    ctx = app_context(models_path, runs)
    assert model_choices(ctx) == [("tiny-general · general", "tiny-general"), ("tiny-bio · biomedical", "tiny-bio")]
    labels = dict((v, label) for label, v in variant_choices(ctx, "tiny-bio", "chemprot"))
    assert list(labels) == ["tiny-bio", BIO_FULL, BIO_K2]
    assert labels["tiny-bio"] == "as published (zero-shot)"
    assert labels[BIO_FULL].startswith("finetuned on chemprot: full, seed 42 (validation micro-F1 ")
    assert labels[BIO_K2] == "finetuned on chemprot: k2, seed 1"  # few-shot: no validation
    assert variant_choices(ctx, "tiny-bio", "ddi") == [("as published (zero-shot)", "tiny-bio")]
    spec = ctx.spec(BIO_K2)
    assert Path(spec.path) == runs / "tiny-bio__chemprot__test__k2__seed1" / "checkpoint"
    assert (spec.domain, spec.finetuned.setting, spec.finetuned.seed) == ("biomedical", "k2", 1)
    # the default pair: the RQ1 pair, each side its best-validation variant; no note
    pair = ctx.default_pair("chemprot")
    assert (pair.a, pair.b, pair.note) == (GENERAL, BIO_FULL, "")
    # another task has no checkpoint: the default pair as published, and how to train it
    other = ctx.default_pair("ddi")
    assert (other.a, other.b) == ("tiny-general", "tiny-bio")
    assert "python -m bre_core finetune --model tiny-bio --dataset ddi --setting full --out runs" in other.note


def test_the_two_checkpoints_compare_on_free_text_and_on_a_benchmark_example(trained):
    from bre_core.ui.compare_tab import BENCHMARK, FREE_TEXT, compare_text, run_comparison

    ctx = app_context(*trained)
    runs = trained[1]
    [example] = load_documents("chemprot", "test", FIXTURE_DATA)
    # a benchmark example: each side's predictions from the run of exactly its setting and seed
    shown = run_comparison(ctx, "chemprot", GENERAL, BIO_K2, BENCHMARK, split="test", example_id=example.id)
    assert shown.precomputed
    assert "run tiny-general\\_\\_chemprot\\_\\_test\\_\\_full\\_\\_seed42" in shown.a.caption
    assert "run tiny-bio\\_\\_chemprot\\_\\_test\\_\\_k2\\_\\_seed1" in shown.b.caption
    recorded = {}
    for run_name in ("tiny-general__chemprot__test__full__seed42", "tiny-bio__chemprot__test__k2__seed1"):
        line = (runs / run_name / "predictions.jsonl").read_text().splitlines()[0]
        recorded[run_name] = json.loads(line)["output"]
    assert shown.a.raw == recorded["tiny-general__chemprot__test__full__seed42"]
    assert shown.b.raw == recorded["tiny-bio__chemprot__test__k2__seed1"]
    # re-run live: the checkpoints themselves are loaded, and decode what their runs recorded (greedy)
    live = run_comparison(ctx, "chemprot", GENERAL, BIO_K2, BENCHMARK, split="test", example_id=example.id, live=True)
    assert "live ·" in live.a.caption and (live.a.raw, live.b.raw) == (shown.a.raw, shown.b.raw)
    # free text, and the API under the variant ids
    free = run_comparison(ctx, "chemprot", GENERAL, BIO_K2, FREE_TEXT, text=TEXT)
    api = compare_text(ctx, "chemprot", GENERAL, BIO_K2, TEXT)
    assert (api["a"]["model"], api["b"]["model"]) == (GENERAL, BIO_K2)
    assert (api["a"]["output"], api["b"]["output"]) == (free.a.raw, free.b.raw)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubStandIn(tmp_path_factory.mktemp("hub-root"), tokens={TOKEN: "bre-tester"}) as server:
        yield server


def _commits(hub, since: int) -> list:
    return [r for r in hub.requests[since:] if r[1] == "POST" and "/commit/" in r[2]]


def test_publish_then_a_space_built_from_it_serves_the_comparison(trained, hub, tmp_path, monkeypatch):
    from huggingface_hub import HfApi, snapshot_download

    from bre_core.publish import publish

    models_path, runs = trained
    point_at(monkeypatch, hub.url, tmp_path / "hf-publisher", token=TOKEN)
    api = HfApi(endpoint=hub.url, token=TOKEN)
    models = load_models_file(models_path)
    before = len(hub.requests)
    result = publish([runs], PREFIX, models, space="bre-tester/bre-space", api=api, log=lambda line: None)
    assert not result.failed and [p.uploaded for p in result.published] == [True, True, True]
    assert len(_commits(hub, before)) == 4  # three model repositories and the Space
    published = {p.hub_id: p.revision for p in result.published}
    assert sorted(published) == [
        "bre-tester/bre-tiny-bio-chemprot-full-seed42",
        "bre-tester/bre-tiny-bio-chemprot-k2-seed1",
        "bre-tester/bre-tiny-general-chemprot-full-seed42",
    ]
    # each run folder records where its checkpoint went; each repository has the checkpoint and a model card
    manifest = json.loads((runs / "tiny-bio__chemprot__test__k2__seed1" / "manifest.json").read_text())
    hub_id = "bre-tester/bre-tiny-bio-chemprot-k2-seed1"
    assert manifest["published"] == {"hub_id": hub_id, "revision": published[hub_id]}
    files = set(api.list_repo_files(hub_id))
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= files
    card = Path(api.hf_hub_download(hub_id, "README.md", revision=published[hub_id])).read_text()
    assert "| dataset | chemprot" in card and "| setting, seed | k2, 1 |" in card and "| test | study |" in card
    assert "| test | corrected |" in card and "| bre version | 0.1.0" in card and "| hardware |" in card
    # publishing again uploads nothing
    again_from = len(hub.requests)
    again = publish([runs], PREFIX, models, space="bre-tester/bre-space", api=api, log=lambda line: None)
    assert [p.uploaded for p in again.published] == [False, False, False] and not again.space_uploaded
    assert {p.hub_id: p.revision for p in again.published} == published and _commits(hub, again_from) == []
    # the Space: its models file pins each checkpoint by commit, with its lineage
    space = Path(snapshot_download("bre-tester/bre-space", repo_type="space", local_dir=tmp_path / "space"))
    listed = {m["name"]: m for m in yaml.safe_load((space / "models.yaml").read_text())["models"]}
    assert listed[BIO_K2] == {
        "name": BIO_K2,
        "hub_id": hub_id,
        "revision": published[hub_id],
        "finetuned": {"base": "tiny-bio", "dataset": "chemprot", "setting": "k2", "seed": 1},
    }
    assert sorted(p.name for p in (space / "runs").iterdir()) == sorted(p.name for p in runs.iterdir())
    assert not list((space / "runs").rglob("checkpoint"))
    assert "sdk: gradio" in (space / "README.md").read_text() and (space / "bre_core" / "ui" / "app.py").is_file()
    # the Space served with an empty cache, the hub at the stand-in: one comparison of two published checkpoints
    expected = compare_text_locally(trained)
    port = free_port()
    env = environment(hub.url, tmp_path / "hf-space", token=None)
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", BRE_DATA_DIR=str(FIXTURE_DATA))
    env.pop("PYTHONPATH", None)
    log = open(tmp_path / "space.log", "wb")  # noqa: SIM115 - closed below; a pipe left unread could block it
    server = subprocess.Popen([sys.executable, "app.py"], cwd=space, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        answer = _call_compare_text(f"http://127.0.0.1:{port}/", server, tmp_path / "space.log")
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    assert (answer["a"]["model"], answer["b"]["model"]) == (GENERAL, BIO_K2)
    assert (answer["a"]["output"], answer["b"]["output"]) == expected
    cached = tmp_path / "hf-space" / "hub" / "models--bre-tester--bre-tiny-bio-chemprot-k2-seed1" / "snapshots"
    assert [p.name for p in cached.iterdir()] == [published[hub_id]]  # downloaded at the pinned commit


def compare_text_locally(trained) -> tuple[str, str]:
    from bre_core.ui.compare_tab import compare_text
    from bre_core.ui.context import MAX_NEW_TOKENS

    ctx = app_context(*trained)
    ctx.max_new_tokens = MAX_NEW_TOKENS  # the served app's bound
    answer = compare_text(ctx, "chemprot", GENERAL, BIO_K2, TEXT)
    return answer["a"]["output"], answer["b"]["output"]


def _call_compare_text(url: str, server: subprocess.Popen, log: Path, timeout_s: float = 120) -> dict:
    """/compare_text of the served Space, once it answers (it starts within seconds; model loads take longer)."""
    from gradio_client import Client

    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise AssertionError(log.read_text(errors="replace")[-3000:])
        try:
            client = Client(url, verbose=False)
            break
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return client.predict("chemprot", GENERAL, BIO_K2, TEXT, api_name="/compare_text")


def test_a_failure_half_way_leaves_a_consistent_space_and_a_rerun_completes_it(trained, hub, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    from bre_core.publish import publish

    models_path, runs = trained
    point_at(monkeypatch, hub.url, tmp_path / "hf", token=TOKEN)
    api = HfApi(endpoint=hub.url, token=TOKEN)
    models = load_models_file(models_path)

    class Failing(HfApi):
        def create_commit(self, repo_id, *args, **kwargs):
            if "k2" in repo_id:
                raise OSError("connection reset")
            return super().create_commit(repo_id, *args, **kwargs)

    prefix = "bre-tester/half-"
    half = publish([runs], prefix, models, to=tmp_path / "out", api=Failing(endpoint=hub.url, token=TOKEN), log=print)
    assert [p.name for p, _ in half.failed] == ["tiny-bio__chemprot__test__k2__seed1"]
    listed = [m["name"] for m in yaml.safe_load((tmp_path / "out" / "models.yaml").read_text())["models"]]
    assert listed == ["tiny-general", "tiny-bio", BIO_FULL, GENERAL]
    assert "tiny-bio__chemprot__test__k2__seed1" not in os.listdir(tmp_path / "out" / "runs")
    load_models_file(tmp_path / "out" / "models.yaml")  # valid as written
    full = publish([runs], prefix, models, to=tmp_path / "out", api=api, log=print)
    assert not full.failed and [p.uploaded for p in full.published] == [False, True, False]
    listed = [m["name"] for m in yaml.safe_load((tmp_path / "out" / "models.yaml").read_text())["models"]]
    assert listed == ["tiny-general", "tiny-bio", BIO_FULL, BIO_K2, GENERAL]
