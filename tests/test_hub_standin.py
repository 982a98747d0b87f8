"""End to end over HTTP through a stand-in for the Hugging Face Hub (tests/hub_standin.py) on 127.0.0.1.

bre_core downloads the real repository layouts (tests/hub_layouts.py: tiny weights) and corpora (tests/hub_corpora.py)
into an empty HF_HOME through the pinned huggingface_hub, transformers and datasets, pointed at the stand-in with
HF_ENDPOINT (this process: tests/hub_client.py) and nothing else: bre_core does not know it is there.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hub_client import environment, point_at
from hub_layouts import GATED, MISSING, PINNED, TOKEN, build_model_repos
from hub_standin import HubStandIn, git_blob_id

from bre_core.config import MODELS_FILE, load_models_file
from bre_core.datasets import load_documents
from bre_core.settings import DecodingSettings
from bre_core.tasks import get_task

REPO = Path(__file__).resolve().parents[1]
FIXTURE_DATA = REPO / "tests" / "fixtures" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"
DATASETS = ("chemprot", "cdr", "ddi", "dce")
MAX_NEW = 16  # output budget of the evaluations here
COMMAND_TIMEOUT_S = 180  # one bre_core command in a subprocess; each takes seconds
UNEXPECTED = ("unhandled", "error")  # the routes of requests the stand-in could not answer as the hub does


# --- the stand-in, its folder, and a client pointed at it ------------------------------------------------------


@dataclass(frozen=True)
class HubFolder:
    root: Path
    shas: dict  # model repository -> its commit shas, oldest first
    corpus: Path  # the official files the corpora were converted from
    real: bool  # ../shared/data (the real corpora), else the fixture corpora


@pytest.fixture(scope="session")
def hub_folder(tmp_path_factory) -> HubFolder:
    """The stand-in's folder: the model repositories, built here, and the corpora, built meanwhile by a command."""
    base = tmp_path_factory.mktemp("hub")
    real = SHARED_DATA.is_dir()
    corpus = SHARED_DATA if real else FIXTURE_DATA
    paths = os.pathsep.join([str(REPO), str(REPO / "tests")])
    command = [sys.executable, str(REPO / "tests" / "hub_corpora.py"), str(base / "root"), str(corpus), str(base / "c")]
    corpora = subprocess.Popen(command, cwd=REPO, env=dict(os.environ, PYTHONPATH=paths), stderr=subprocess.PIPE)
    try:
        shas = build_model_repos(base / "root", base / "work")
        _, errors = corpora.communicate(timeout=COMMAND_TIMEOUT_S)
    finally:
        corpora.kill()
    assert corpora.returncode == 0, errors.decode()[-3000:]
    return HubFolder(base / "root", shas, corpus, real)


@pytest.fixture(scope="session")
def hub(hub_folder):
    with HubStandIn(hub_folder.root, tokens={TOKEN: "bre-tester"}) as server:
        yield server


@dataclass
class Client:
    hub: HubStandIn
    home: Path
    first: int  # the first request of this test in hub.requests

    def requests(self, containing: str = "") -> list:
        return [r for r in self.hub.requests[self.first :] if containing in r[2]]


@pytest.fixture
def online(hub, tmp_path, monkeypatch):
    """This process pointed at the stand-in with an empty HF_HOME, no token; afterwards, no request may have asked
    for an endpoint the stand-in does not implement, or failed in it."""
    home = tmp_path / "hf"
    point_at(monkeypatch, hub.url, home)
    client = Client(hub, home, len(hub.requests))
    yield client
    _settle_background_threads()
    assert [r for r in client.requests() if r[4] in UNEXPECTED] == []


def _settle_background_threads(timeout_s: float = 10.0) -> None:
    """Threads the libraries start during a load (transformers' safetensors conversion) have made their requests."""
    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread.name.startswith("Thread-auto_conversion"):
            thread.join(max(0.0, deadline - time.monotonic()))


def snapshot(home: Path, repo_id: str, kind: str = "models") -> Path:
    """The one snapshot folder huggingface_hub keeps for the repository in the cache under `home`."""
    folders = sorted((home / "hub" / f"{kind}--{repo_id.replace('/', '--')}" / "snapshots").iterdir())
    assert len(folders) == 1, folders
    return folders[0]


def models_file_with(tmp_path: Path, *entries: dict):
    """A models file of these entries (the listed metadata filled in)."""
    listed = [{"params": "tiny", "domain": "general", "ift": "none", **e} for e in entries]
    path = tmp_path / "models.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"models": listed, "default_pair": [listed[0]["name"]] * 2}), encoding="utf-8")
    return load_models_file(path)


def predictions(run) -> list[dict]:
    lines = (Path(run.path) / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


# --- independent references: plain greedy decoding, and decoding with the checkpoint's own settings -------------


def _load(folder: Path, architecture: str):
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    model_class = AutoModelForSeq2SeqLM if architecture == "seq2seq" else AutoModelForCausalLM
    return AutoTokenizer.from_pretrained(str(folder)), model_class.from_pretrained(str(folder)).eval()


def greedy_reference(folder: Path, architecture: str, sources: list[str], budget: int = MAX_NEW) -> list[str]:
    """Argmax token by token, one source at a time, with no generate() and no generation config at all."""
    import torch

    tokenizer, model = _load(folder, architecture)
    outputs = []
    with torch.no_grad():
        for source in sources:
            ids = tokenizer(source)["input_ids"]
            encoded = model.get_encoder()(input_ids=torch.tensor([ids])) if architecture == "seq2seq" else None
            sequence = [model.config.decoder_start_token_id] if encoded is not None else list(ids)
            start = len(sequence)
            while len(sequence) - start < budget and (
                len(sequence) == start or sequence[-1] != model.config.eos_token_id
            ):
                if encoded is not None:
                    logits = model(encoder_outputs=encoded, decoder_input_ids=torch.tensor([sequence])).logits
                else:
                    logits = model(input_ids=torch.tensor([sequence])).logits
                sequence.append(int(logits[0, -1].argmax()))
            outputs.append(tokenizer.decode(sequence[start:], skip_special_tokens=True))
    return outputs


def checkpoint_decoding(folder: Path, architecture: str, sources: list[str], budget: int = MAX_NEW) -> list[str]:
    """What generate() gives with the generation settings the checkpoint ships (beams, min_length ...)."""
    import torch

    tokenizer, model = _load(folder, architecture)
    outputs = []
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unfeasible length constraints")  # SciFive's min_length: wanted
        for source in sources:
            ids = torch.tensor([tokenizer(source)["input_ids"]])
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=budget)
            new = out[0, 1:] if architecture == "seq2seq" else out[0, ids.shape[1] :]
            outputs.append(tokenizer.decode(new, skip_special_tokens=True))
    return outputs


def ddi_sources() -> list[str]:
    task = get_task("ddi")
    return [task.source(d) for d in load_documents("ddi", "train", FIXTURE_DATA, split_seed=42)]


def evaluate_ddi(name: str, out: Path, batch_size: int, models_file):
    from bre_core.runs import evaluate

    decoding = DecodingSettings(MAX_NEW, batch_size)
    return evaluate(
        name,
        "ddi",
        "train",
        out,
        decoding=decoding,
        data_dir=FIXTURE_DATA,
        split_seed=42,
        models_file=models_file,
        progress=False,
    )


# --- data stats of every corpus, as commands, started first and run in the background (the second core) --------


@dataclass
class StatsCommands:
    thread: threading.Thread
    results: dict  # (dataset, source) -> CompletedProcess
    hub: HubStandIn  # their own stand-in (same folder), so that the requests of this process stay apart


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The commands in the background hold the second core; two torch threads would wait on each other there."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", autouse=True)
def stats_commands(hub_folder, tmp_path_factory):
    """`python -m bre_core data stats --json` for every corpus, `--source files` and `--source hub` (through a
    stand-in, into an empty HF_HOME), on the real corpora; started before the first test, read by the last ones."""
    if not hub_folder.real:
        yield None
        return
    out = tmp_path_factory.mktemp("stats")
    results, stop = {}, threading.Event()
    with HubStandIn(hub_folder.root) as hub:
        env = environment(hub.url, out / "hf")

        def run_all():
            for dataset in DATASETS:
                for source in ("files", "hub"):
                    if stop.is_set():
                        return
                    args = ["data", "stats", "--dataset", dataset, "--source", source, "--json"]
                    args += ["--data-dir", str(hub_folder.corpus)] if source == "files" else []
                    results[(dataset, source)] = _bre(args, env)

        thread = threading.Thread(target=run_all, name="stats-commands", daemon=True)
        thread.start()
        yield StatsCommands(thread, results, hub)
        stop.set()
        thread.join(COMMAND_TIMEOUT_S)


def _bre(args: list[str], env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bre_core", *args]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)


# --- the stand-in speaks the hub's protocol ---------------------------------------------------------------------


def test_it_listens_on_the_loopback_address_only(hub):
    hosts = [host for host, _ in hub.addresses]
    ports = [port for _, port in hub.addresses]
    assert hosts == ["127.0.0.1", "127.0.0.1"] and 0 not in ports and ports[0] != ports[1]
    assert hub.url == f"http://127.0.0.1:{ports[0]}"


def test_files_are_resolved_with_the_headers_and_redirects_of_the_hub(hub, hub_folder):
    import httpx

    sha = hub_folder.shas["google/flan-t5-base"][-1]
    tree = hub_folder.root / "models" / "google" / "flan-t5-base" / "commits" / sha
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        regular = http.head(f"{hub.url}/google/flan-t5-base/resolve/main/config.json")
        assert regular.status_code == 307 and regular.headers["X-Repo-Commit"] == sha
        assert regular.headers["Location"].startswith("/api/resolve-cache/models/google/flan-t5-base/")
        cached = http.head(hub.url + regular.headers["Location"])
        config = (tree / "config.json").read_bytes()
        assert cached.status_code == 200 and cached.headers["ETag"] == f'"{git_blob_id(config)}"'
        assert int(cached.headers["Content-Length"]) == len(config) and cached.headers["X-Repo-Commit"] == sha

        lfs = http.head(f"{hub.url}/google/flan-t5-base/resolve/{sha}/model.safetensors")
        weights = (tree / "model.safetensors").read_bytes()
        assert lfs.status_code == 302 and lfs.headers["Location"].startswith(hub.cdn_url + "/lfs/")
        assert lfs.headers["X-Linked-Etag"] == f'"{hashlib.sha256(weights).hexdigest()}"'
        assert int(lfs.headers["X-Linked-Size"]) == len(weights)
        # The "CDN" takes the signed URL alone, as S3 does, and honours Range.
        assert http.get(lfs.headers["Location"], headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 400
        assert http.get(lfs.headers["Location"]).content == weights
        part = http.get(lfs.headers["Location"], headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == weights[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(weights)}"
        tampered = lfs.headers["Location"].replace("model.safetensors", "config.json")
        assert http.get(tampered).status_code == 403


def test_repository_info_tree_and_revisions_by_branch_and_commit(online, hub_folder):
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi()
    old, new = hub_folder.shas[PINNED]
    info = api.model_info(PINNED)
    assert info.sha == new and api.model_info(PINNED, revision=old).sha == old
    names = {s.rfilename for s in info.siblings}
    assert {"config.json", "pytorch_model.bin", "vocab.json", "merges.txt"} <= names and "tokenizer.json" not in names
    commits = hub_folder.root / "models" / PINNED / "commits"
    for sha in (old, new):
        weights = Path(hf_hub_download(PINNED, "pytorch_model.bin", revision=sha)).read_bytes()
        assert weights == (commits / sha / "pytorch_model.bin").read_bytes()
    assert (commits / old / "pytorch_model.bin").read_bytes() != (commits / new / "pytorch_model.bin").read_bytes()
    parquet = api.dataset_info("bigbio/chemprot", revision="refs/convert/parquet")
    files = {s.rfilename for s in parquet.siblings}
    assert "chemprot_shared_task_eval_source/test/0000.parquet" in files and "chemprot.py" not in files
    assert "chemprot.py" in {s.rfilename for s in api.dataset_info("bigbio/chemprot").siblings}
    tree = [
        f.path
        for f in api.list_repo_tree(
            "bigbio/chemprot", "chemprot_shared_task_eval_source", revision=parquet.sha, repo_type="dataset"
        )
    ]
    assert sorted(tree) == [f"chemprot_shared_task_eval_source/{s}" for s in ("sample", "test", "train", "validation")]
    # A renamed repository answers under its new name (a relative redirect the client follows).
    assert api.model_info("gpt2-medium").id == "openai-community/gpt2-medium"


def test_errors_map_to_the_exceptions_of_the_client(online):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(MISSING, "config.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("facebook/bart-base", "config.json", revision="no-such-branch")
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download("facebook/bart-base", "tokenizer.json")
    with pytest.raises(GatedRepoError) as gated:
        hf_hub_download(GATED, "config.json")
    assert gated.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as refused:
        hf_hub_download(GATED, "config.json", token="hf_notAToken")
    assert refused.value.response.status_code == 401 and not isinstance(refused.value, GatedRepoError)
    assert json.loads(Path(hf_hub_download(GATED, "config.json", token=TOKEN)).read_text())["model_type"] == "gpt2"


def test_a_download_cut_short_resumes_with_a_range_request(online, hub_folder, monkeypatch):
    from huggingface_hub import constants, hf_hub_download

    # The client resumes from the chunks it has written (10 MB each): small chunks, so that a tiny file has some.
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1024)
    repo = "EleutherAI/gpt-neo-2.7B"
    sha = hub_folder.shas[repo][-1]
    online.hub.cut_once(f"{repo}/{sha}/pytorch_model.bin", after_bytes=5000)
    path = Path(hf_hub_download(repo, "pytorch_model.bin"))
    assert path.read_bytes() == (hub_folder.root / "models" / repo / "commits" / sha / "pytorch_model.bin").read_bytes()
    statuses = [r[3] for r in online.requests("pytorch_model.bin") if r[0] == "cdn"]
    assert statuses == [200, 206]  # cut after 5,000 bytes, then the rest by Range


def test_upload_folder_creates_a_repository_and_commits(online, hub_folder, tmp_path):
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(token=False).create_repo("bre-tester/bart-copy")
    assert refused.value.response.status_code == 401
    api = HfApi(token=TOKEN)
    url = api.create_repo("bre-tester/bart-copy")
    assert url.repo_id == "bre-tester/bart-copy"
    source = (
        hub_folder.root / "models" / "facebook" / "bart-base" / "commits" / hub_folder.shas["facebook/bart-base"][0]
    )
    first = api.upload_folder(repo_id="bre-tester/bart-copy", folder_path=source, commit_message="Copy bart-base")
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "README.md").write_text("# changed\n", encoding="utf-8")
    second = api.upload_folder(repo_id="bre-tester/bart-copy", folder_path=changed, commit_message="Edit card")
    assert first.oid != second.oid and api.model_info("bre-tester/bart-copy").sha == second.oid
    copied = Path(snapshot_download("bre-tester/bart-copy", revision=first.oid))
    assert {p.name: p.read_bytes() for p in copied.iterdir()} == {p.name: p.read_bytes() for p in source.iterdir()}
    latest = Path(snapshot_download("bre-tester/bart-copy"))
    assert (latest / "README.md").read_text() == "# changed\n" and (latest / "model.safetensors").is_file()
    lfs = [r for r in online.requests("bart-copy/resolve/") if "model.safetensors" in r[2]]
    assert lfs and {r[3] for r in lfs} == {302}  # served as LFS, as the .gitattributes says


def test_it_runs_by_hand_on_a_plain_folder(hub_folder, tmp_path):
    """A folder of files (as `hf download --local-dir` leaves one) is served as one read-only commit on main."""
    import httpx

    flan = (
        hub_folder.root / "models" / "google" / "flan-t5-base" / "commits" / hub_folder.shas["google/flan-t5-base"][0]
    )
    plain = tmp_path / "root" / "models" / "google" / "flan-t5-base"
    shutil.copytree(flan, plain)
    (plain / ".cache" / "huggingface").mkdir(parents=True)
    (plain / ".cache" / "huggingface" / "download.lock").write_text("")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        str(REPO / "tests" / "hub_standin.py"),
        "--root",
        str(tmp_path / "root"),
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = _line_within(process, 20)
        url = f"http://127.0.0.1:{port}"
        assert first.startswith(f"serving {(tmp_path / 'root').resolve()} at {url} ")
        with httpx.Client(follow_redirects=True, timeout=10) as http:
            info = http.get(f"{url}/api/models/google/flan-t5-base").json()
            assert sorted(s["rfilename"] for s in info["siblings"]) == sorted(p.name for p in flan.iterdir())
            config = http.get(f"{url}/google/flan-t5-base/resolve/{info['sha']}/config.json")
            assert (
                config.headers["X-Repo-Commit"] == info["sha"] and config.content == (flan / "config.json").read_bytes()
            )
            weights = http.get(f"{url}/google/flan-t5-base/resolve/main/model.safetensors")  # via the "CDN"
            assert weights.content == (flan / "model.safetensors").read_bytes()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def _line_within(process: subprocess.Popen, seconds: float) -> str:
    lines = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    assert lines and lines[0], f"no output within {seconds} s"
    return lines[0]


# --- bre_core through it ---------------------------------------------------------------------------------------

# What each family's layout must hold in the cache after the download, and what it must not.
LAYOUT_FILES = {
    "scifive-base": ({"spiece.model", "pytorch_model.bin"}, {"tokenizer.json", "model.safetensors"}),
    "bart-base": ({"vocab.json", "merges.txt", "model.safetensors"}, {"tokenizer.json", "pytorch_model.bin"}),
    "gpt2-medium": ({"tokenizer.json", "model.safetensors", "generation_config.json"}, {"pytorch_model.bin"}),
    "gpt-neo-2.7b": ({"vocab.json", "merges.txt", "pytorch_model.bin"}, {"model.safetensors"}),
    "biogpt-large": (
        {"vocab.json", "merges.txt", "model.safetensors.index.json", "model-00001-of-00003.safetensors"},
        {"tokenizer.json", "pytorch_model.bin", "model.safetensors"},
    ),
}
SHIPS_DECODING_SETTINGS = {"scifive-base", "bart-base"}  # min_length; beams and no_repeat_ngram_size


@pytest.mark.parametrize("name", sorted(LAYOUT_FILES))
def test_each_family_downloads_into_an_empty_cache_and_decodes_greedily(online, tmp_path, name):
    models = load_models_file()
    spec = models.get(name)
    runs = {size: evaluate_ddi(name, tmp_path / f"batch{size}", size, models) for size in (3, 1)}
    outputs = {size: [(p["output"], p["output_tokens"]) for p in predictions(run)] for size, run in runs.items()}
    assert outputs[3] == outputs[1]  # batched as one at a time
    # Nothing asked for transformers' safetensors-conversion bot (it reads commits and pull requests first).
    assert online.requests("/commits/") == [] and online.requests("/discussions") == []
    assert runs[1].manifest["model"]["hub_id"] == spec.hub_id
    folder = snapshot(online.home, spec.hub_id)
    present, absent = LAYOUT_FILES[name]
    assert present <= {p.name for p in folder.iterdir()} and not absent & {p.name for p in folder.iterdir()}
    sources = ddi_sources()
    greedy = greedy_reference(folder, spec.architecture, sources)
    assert [text for text, _ in outputs[1]] == greedy
    assert len({text for text in greedy}) > 1  # the tiny weights tell inputs apart
    if name in SHIPS_DECODING_SETTINGS:  # they would change the outputs: evaluate neutralised them
        assert checkpoint_decoding(folder, spec.architecture, sources) != greedy


def test_a_pinned_revision_is_served_from_that_commit(online, hub_folder, tmp_path):
    old, new = hub_folder.shas[PINNED]
    entry = {"name": "biobart-old", "hub_id": PINNED, "revision": old, "architecture": "seq2seq", "family": "bart"}
    run = evaluate_ddi("biobart-old", tmp_path / "runs", 2, models_file_with(tmp_path, entry))
    assert snapshot(online.home, PINNED).name == old and run.manifest["model"]["revision"] == old
    commits = hub_folder.root / "models" / PINNED / "commits"
    outputs = [p["output"] for p in predictions(run)]
    assert outputs == greedy_reference(commits / old, "seq2seq", ddi_sources())
    assert outputs != greedy_reference(commits / new, "seq2seq", ddi_sources())
    assert online.requests(f"/{PINNED}/resolve/main/") == []  # nothing asked of the branch
    from bre_core.models import ModelUnavailableError, load_model

    wrong = dict(entry, name="biobart-nowhen", revision="v9.9")
    with pytest.raises(ModelUnavailableError) as missing:
        load_model(models_file_with(tmp_path / "wrong", wrong).get("biobart-nowhen"), device="cpu")
    assert f"{PINNED} has no revision 'v9.9'" in str(missing.value) and "`revision:`" in str(missing.value)


def test_a_gated_repository_is_refused_without_a_token_and_loads_with_one(hub, tmp_path, monkeypatch):
    from bre_core.models import ModelUnavailableError, generate, load_model

    entry = {"name": "gated-gpt2", "hub_id": GATED, "architecture": "causal", "family": "gpt2"}
    spec = models_file_with(tmp_path, entry).get("gated-gpt2")
    point_at(monkeypatch, hub.url, tmp_path / "without")
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as refused:
        load_model(spec, device="cpu")
    assert time.monotonic() - started < 10
    message = str(refused.value)
    assert "gated" in message and GATED in message and "HF_TOKEN" in message
    assert f"{hub.url}/{GATED}" in message  # where to ask for access
    assert f"{hub.url}/settings/tokens" in message and "accept the model's licence" in message  # how, step by step
    point_at(monkeypatch, hub.url, tmp_path / "invalid", token="hf_notAToken")
    with pytest.raises(ModelUnavailableError) as invalid:
        load_model(spec, device="cpu")
    assert "refused the token in use" in str(invalid.value) and "HF_TOKEN" in str(invalid.value)
    point_at(monkeypatch, hub.url, tmp_path / "with", token=TOKEN)
    loaded = load_model(spec, device="cpu")
    [generation] = generate(loaded, ddi_sources()[:1], MAX_NEW)
    assert generation.text == greedy_reference(snapshot(tmp_path / "with", GATED), "causal", ddi_sources()[:1])[0]


def test_a_missing_repository_fails_within_seconds_saying_what_to_do(online, tmp_path):
    from bre_core.models import ModelUnavailableError, load_model

    entry = {"name": "nowhere", "hub_id": MISSING, "architecture": "seq2seq", "family": "t5"}
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as missing:
        load_model(models_file_with(tmp_path, entry).get("nowhere"), device="cpu")
    assert time.monotonic() - started < 10
    message = str(missing.value)
    assert f"no repository {MISSING}" in message and online.hub.url in message
    assert "hub_id:" in message and "HF_TOKEN" in message  # fix the id, or give a token that can see it


def test_the_compare_tab_runs_the_default_pair_downloaded_from_the_hub(online):
    from bre_core.ui.compare_tab import BENCHMARK, run_comparison
    from bre_core.ui.context import AppContext

    context = AppContext(models=load_models_file(MODELS_FILE), data_dir=str(FIXTURE_DATA), runs_dirs=[])
    context.max_new_tokens = MAX_NEW
    first, second = context.models.default_pair
    result = run_comparison(context, "chemprot", first, second, BENCHMARK, split="train", example_id="1001", live=True)
    [document] = [d for d in load_documents("chemprot", "train", FIXTURE_DATA) if d.id == "1001"]
    source = get_task("chemprot").source(document)
    for side, name in ((result.a, first), (result.b, second)):
        spec = context.models.get(name)
        assert "live ·" in side.caption and "⚠️" not in side.caption
        assert side.raw == greedy_reference(snapshot(online.home, spec.hub_id), spec.architecture, [source])[0]


# --- the corpora through it -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
def test_a_test_split_read_from_the_hub_equals_the_files(online, hub_folder, monkeypatch, dataset):
    files = load_documents(dataset, "test", hub_folder.corpus)
    assert load_documents(dataset, "test", source="hub") == files
    assert online.requests("/datasets/") and online.requests("/api/datasets/")  # fetched over HTTP
    point_at(monkeypatch, online.hub.url, online.home, offline=True)
    served = len(online.hub.requests)
    assert load_documents(dataset, "test", source="hub") == files  # then from the cache alone
    assert [r for r in online.hub.requests[served:] if "/datasets/" in r[2] and r[0] == "hub"] == []


# The README's figures (documents and distinct relations per split) on the official files.
README_FIGURES = {
    "chemprot": ((1020, 612, 800), (3346, 2042, 2866)),
    "cdr": ((500, 500, 500), (1038, 1012, 1066)),
    "ddi": ((571, 143, 303), (3237, 642, 951)),
    "dce": ((1089, 273, 272), (829, 207, 209)),
}


@pytest.mark.parametrize("dataset", DATASETS)
def test_data_stats_from_the_hub_equal_those_from_the_files(stats_commands, shared_data, dataset):
    stats_commands.thread.join(COMMAND_TIMEOUT_S * 2 * len(DATASETS))
    answers = {source: stats_commands.results[(dataset, source)] for source in ("files", "hub")}
    for answer in answers.values():
        assert answer.returncode == 0, answer.stderr[-3000:]
    files, from_hub = (json.loads(answers[source].stdout) for source in ("files", "hub"))
    assert from_hub == files
    assert stats_commands.hub.requests and [r for r in stats_commands.hub.requests if r[4] in UNEXPECTED] == []
    splits = ("train", "validation", "test")
    documents, relations = README_FIGURES[dataset]
    assert tuple(from_hub["splits"][s]["documents"] for s in splits) == documents
    assert tuple(from_hub["splits"][s]["relations"] for s in splits) == relations


# Last: its two commands then have both cores, the commands in the background being done.


def test_the_command_downloads_into_an_empty_cache_then_runs_offline_from_it(hub, tmp_path):
    home = tmp_path / "hf"
    args = ["evaluate", "--model", "biomedlm", "--dataset", "ddi", "--split", "train", "--split-seed", "42"]
    args += ["--data-dir", str(FIXTURE_DATA), "--max-new-tokens", str(MAX_NEW), "--batch-size", "2"]
    one_thread = {"OMP_NUM_THREADS": "1"}  # as this process (see one_torch_thread)
    first = _bre([*args, "--out", str(tmp_path / "online")], dict(environment(hub.url, home), **one_thread))
    assert first.returncode == 0, first.stderr[-3000:]
    folder = snapshot(home, "stanford-crfm/BioMedLM")
    assert {"pytorch_model.bin", "tokenizer.json", "vocab.json", "merges.txt"} <= {p.name for p in folder.iterdir()}
    before = len(hub.requests)
    second = _bre(
        [*args, "--out", str(tmp_path / "offline")], dict(environment(hub.url, home, offline=True), **one_thread)
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert hub.requests[before:] == []  # from the cache alone
    runs = [next((tmp_path / where).iterdir()) for where in ("online", "offline")]
    read = [[json.loads(line)["output"] for line in (run / "predictions.jsonl").open()] for run in runs]
    assert read[0] == read[1] == greedy_reference(folder, "causal", ddi_sources())


def test_no_request_reached_an_endpoint_the_stand_in_lacks(hub):
    """All of this session's requests to it, those of the commands run by the tests included."""
    assert [r for r in hub.requests if r[4] in UNEXPECTED] == []
