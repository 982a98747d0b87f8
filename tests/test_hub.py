"""The hub source (`bre_core.datasets.hub`): offline behaviour, hub-shaped rows -> the local loaders' Documents.

No test reaches the network. Rows are shaped as the hub serves them: the bigbio loading scripts' `_generate_examples`
(bigscience-workshop/biomedical, bigbio/biodatasets/{chemprot,bc5cdr,ddi_corpus}) are mirrored below, and the parquet
files of the end-to-end tests are written with the scripts' `datasets.Features`, as the parquet export holds them.
"""

import os

# Before any Hugging Face import: no hub access here, and retries cost minutes.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import json  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import xml.etree.ElementTree as ET  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from bre_core import hub_access  # noqa: E402
from bre_core.datasets import chemprot as local_chemprot  # noqa: E402
from bre_core.datasets import hub, load_documents  # noqa: E402
from bre_core.errors import DataError, HubUnavailableError  # noqa: E402
from bre_core.schema import Document, Entity, Relation  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "data"
DATASETS = ("chemprot", "cdr", "ddi", "dce")
SPLITS = ("train", "validation", "test")
CDR_FILES = {"train": "CDR_TrainingSet", "validation": "CDR_DevelopmentSet", "test": "CDR_TestSet"}


@pytest.fixture(scope="module")
def real_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpora not found at {SHARED_DATA}")
    return SHARED_DATA


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- hub-shaped rows, as the bigbio scripts build them ------------------------------------------------------------


def chemprot_hub_rows(data_dir: Path, split: str, config: str) -> list[dict]:
    """`chemprot_*_source` rows: text = title + "\\n" + abstract; entities and relations are `Sequence({...})`
    features, which `datasets` returns as dicts of lists."""
    files = {key: data_dir / rel for key, rel in local_chemprot.split_files(split).items()}

    def lines(path):
        with open(path) as handle:
            return [line.strip() for line in handle.readlines()]

    abstracts = {doc.split("\t")[0]: "\n".join(doc.split("\t")[1:]) for doc in lines(files["abstracts"])}
    entities, relations = {}, {}
    for line in lines(files["entities"]):
        pmid, idx, label, start, end, name = line.split("\t")
        entities.setdefault(pmid, []).append(
            {"id": idx, "type": label, "text": name, "offsets": [int(start), int(end)]}
        )
    if config == hub.CHEMPROT_SHARED_TASK:
        for line in lines(files["gold"]):
            pmid, label, arg1, arg2 = line.split("\t")
            relations.setdefault(pmid, []).append(
                {"type": label, "arg1": arg1.split("Arg1:")[-1], "arg2": arg2.split("Arg2:")[-1]}
            )
    else:
        all_relations = files["entities"].with_name(files["entities"].name.replace("_entities", "_relations"))
        for line in lines(all_relations):
            pmid, label, _, _, arg1, arg2 = line.split("\t")
            relations.setdefault(pmid, []).append(
                {"type": label, "arg1": arg1.split("Arg1:")[-1], "arg2": arg2.split("Arg2:")[-1]}
            )
    return [
        {
            "pmid": pmid,
            "text": text,
            "entities": columns(entities[pmid], ("id", "type", "text", "offsets")),
            "relations": columns(relations.get(pmid, []), ("type", "arg1", "arg2")),
        }
        for pmid, text in abstracts.items()
    ]


def columns(records: list[dict], keys: tuple[str, ...]) -> dict:
    return {key: [record[key] for record in records] for key in keys}


def cdr_source_rows(bioc_xml: Path) -> list[dict]:
    """`bc5cdr_source` rows from the official BioC XML: one entry per passage, each with its annotations (offsets and
    texts as bigbio's get_texts_and_offsets_from_bioc_ann gives them; MESH "-1" -> no normalisation) and the whole
    document's CID relations."""
    rows = []
    for document in ET.parse(bioc_xml).getroot().iter("document"):
        relations = []
        for relation in document.findall("relation"):
            infons = {i.get("key"): i.text for i in relation.findall("infon")}
            relations.append(
                {
                    "id": relation.get("id"),
                    "type": infons["relation"],
                    "arg1_id": infons["Chemical"],
                    "arg2_id": infons["Disease"],
                }
            )
        passages = []
        for passage in document.findall("passage"):
            entities = []
            for annotation in passage.findall("annotation"):
                infons = {i.get("key"): i.text for i in annotation.findall("infon")}
                offsets = [
                    [int(loc.get("offset")), int(loc.get("offset")) + int(loc.get("length"))]
                    for loc in annotation.findall("location")
                ]
                text, texts = annotation.findtext("text"), []
                if len(offsets) > 1:
                    i = 0
                    for start, end in offsets:
                        texts.append(text[i : i + end - start])
                        i += end - start
                        while i < len(text) and text[i] == " ":
                            i += 1
                else:
                    texts = [text]
                ids = infons.get("MESH", "-1")
                entities.append(
                    {
                        "id": annotation.get("id"),
                        "offsets": offsets,
                        "text": texts,
                        "type": infons["type"],
                        "normalized": [
                            {"db_name": "MESH", "db_id": i} for i in ([] if ids == "-1" else ids.split("|"))
                        ],
                    }
                )
            passages.append(
                {
                    "document_id": document.findtext("id"),
                    "type": {i.get("key"): i.text for i in passage.findall("infon")}["type"],
                    "text": passage.findtext("text") or "",
                    "entities": entities,
                    "relations": relations,
                }
            )
        rows.append({"passages": passages})
    return rows


def _features(name: str):
    from datasets import Features, Sequence, Value

    if name == "chemprot":
        return Features(
            {
                "pmid": Value("string"),
                "text": Value("string"),
                "entities": Sequence(
                    {
                        "id": Value("string"),
                        "type": Value("string"),
                        "text": Value("string"),
                        "offsets": Sequence(Value("int64")),
                    }
                ),
                "relations": Sequence({"type": Value("string"), "arg1": Value("string"), "arg2": Value("string")}),
            }
        )
    if name == "ddi":
        return Features(
            {
                "document_id": Value("string"),
                "text": Value("string"),
                "entities": [
                    {
                        "offsets": Sequence(Value("int32")),
                        "text": Value("string"),
                        "type": Value("string"),
                        "id": Value("string"),
                    }
                ],
                "relations": [
                    {
                        "id": Value("string"),
                        "head": {"ref_id": Value("string"), "role": Value("string")},
                        "tail": {"ref_id": Value("string"), "role": Value("string")},
                        "type": Value("string"),
                    }
                ],
            }
        )
    if name == "cdr":
        return Features(
            {
                "passages": [
                    {
                        "document_id": Value("string"),
                        "type": Value("string"),
                        "text": Value("string"),
                        "entities": [
                            {
                                "id": Value("string"),
                                "offsets": [[Value("int32")]],
                                "text": [Value("string")],
                                "type": Value("string"),
                                "normalized": [{"db_name": Value("string"), "db_id": Value("string")}],
                            }
                        ],
                        "relations": [
                            {
                                "id": Value("string"),
                                "type": Value("string"),
                                "arg1_id": Value("string"),
                                "arg2_id": Value("string"),
                            }
                        ],
                    }
                ]
            }
        )
    raise KeyError(name)


def write_parquet(rows: list[dict], features: str, path: Path) -> None:
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=_features(features)).to_parquet(str(path))


FAKE_SHA = "0123456789abcdef0123456789abcdef01234567"


def hub_snapshot(hub_cache: Path, repo: str, revision: str) -> Path:
    """The snapshot folder that `huggingface_hub` keeps for `repo` at `revision` (a branch gets a refs file)."""
    storage = hub_cache / ("datasets--" + repo.replace("/", "--"))
    sha = revision if len(revision) == 40 and all(c in "0123456789abcdef" for c in revision) else FAKE_SHA
    if sha != revision:
        ref = storage / "refs" / revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(sha)
    snapshot = storage / "snapshots" / sha
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """Empty Hugging Face caches in tmp_path, offline mode on; yields the hub cache folder."""
    import datasets.config
    from huggingface_hub import constants

    hub_cache, datasets_cache = tmp_path / "hf" / "hub", tmp_path / "hf" / "datasets"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(datasets_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", datasets_cache)
    return hub_cache


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- no work at import time -------------------------------------------------------------------------------------


def test_importing_the_hub_module_does_not_import_datasets():
    code = (
        "import sys, bre_core.datasets, bre_core.datasets.hub; "
        "print(sorted(m for m in ('datasets', 'huggingface_hub', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]"


def test_sources_and_split_mapping():
    assert hub.HUB_SOURCES["chemprot"].configs == ("chemprot_shared_task_eval_source", "chemprot_full_source")
    assert hub.HUB_SOURCES["cdr"].configs == ("bc5cdr_source", "bc5cdr_bigbio_kb")
    assert hub.HUB_SOURCES["ddi"].configs == ("ddi_corpus_source",)
    assert {hub.HUB_SOURCES[d].revision for d in ("chemprot", "cdr", "ddi")} == {"refs/convert/parquet"}
    assert [hub.hub_split("ddi", s) for s in SPLITS] == ["train", "train", "test"]
    assert [hub.hub_split("dce", s) for s in SPLITS] == ["train", "train", "test"]
    assert [hub.hub_split("chemprot", s) for s in SPLITS] == list(SPLITS)
    assert [hub.hub_split("cdr", s) for s in SPLITS] == list(SPLITS)


# --- offline: fail fast, say what to do -------------------------------------------------------------------------


def _assert_unavailable(dataset: str, split: str, limit_s: float = 10.0) -> str:
    started = time.monotonic()
    with pytest.raises(HubUnavailableError) as err:
        load_documents(dataset, split, source="hub")
    elapsed = time.monotonic() - started
    assert elapsed < limit_s, f"took {elapsed:.1f} s"
    message = str(err.value)
    assert "unreachable" in message
    assert f"python -m bre_core data download --dataset {dataset} --data-dir" in message
    assert "--data-dir" in message and "BRE_DATA_DIR" in message
    return message


@pytest.mark.parametrize("dataset", DATASETS)
def test_offline_mode_without_cache_fails_fast(dataset, hf_cache):
    message = _assert_unavailable(dataset, "validation")
    assert "HF_HUB_OFFLINE=1" in message
    assert hub.HUB_SOURCES[dataset].repo in message


@pytest.mark.parametrize("dataset", DATASETS)
def test_datasets_offline_variable_alone_also_counts(dataset, hf_cache, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    assert "HF_DATASETS_OFFLINE=1" in _assert_unavailable(dataset, "test")


@pytest.mark.parametrize("dataset", DATASETS)
def test_unreachable_endpoint_fails_fast(dataset, hf_cache, monkeypatch):
    import datasets.config
    from huggingface_hub import constants

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", endpoint)
    message = _assert_unavailable(dataset, "test")
    assert f"no answer from {endpoint}" in message


def test_probe_gives_up_on_a_silent_endpoint():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        started = time.monotonic()
        reason = hub_access.probe(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.5)
        assert time.monotonic() - started < 3
    assert reason is not None and "no answer" in reason


# --- end to end through the hub cache (as a previous online run leaves it) -------------------------------------


def test_cached_ddi_parquet_export_gives_the_local_documents(hf_cache, tmp_path):
    rows = {s: read_jsonl(FIXTURE_DATA / "ddi" / "bigbio_source" / f"{s}.jsonl") for s in ("train", "test")}
    local_dir = tmp_path / "data"
    for s, split_rows in rows.items():  # the reference file order, as `data download` writes it
        path = local_dir / "ddi" / "bigbio_source" / f"{s}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        ordered = sorted(split_rows, key=lambda r: (r["document_id"].isdigit(), r["document_id"]))
        path.write_text("".join(json.dumps(r) + "\n" for r in ordered), encoding="utf-8")
    snapshot = hub_snapshot(hf_cache, "bigbio/ddi_corpus", "refs/convert/parquet")
    for s, split_rows in rows.items():  # the hub lists BRAT files in directory order
        shuffled = list(split_rows)
        random.Random(3).shuffle(shuffled)
        write_parquet(shuffled, "ddi", snapshot / "ddi_corpus_source" / s / "0000.parquet")
    for split in SPLITS:
        for seed in (42, 1):
            expected = load_documents("ddi", split, local_dir, split_seed=seed)
            assert load_documents("ddi", split, source="hub", split_seed=seed) == expected


def test_cached_dce_files_give_the_local_documents(hf_cache):
    snapshot = hub_snapshot(hf_cache, "allenai/drug-combo-extraction", hub.DCE_REVISION)
    for name in ("final_train_set.jsonl", "final_test_set.jsonl"):
        (snapshot / name).write_bytes((FIXTURE_DATA / "dce" / name).read_bytes())
    for split in SPLITS:
        assert load_documents("dce", split, source="hub") == load_documents("dce", split, FIXTURE_DATA)


def test_cached_chemprot_export_gives_the_local_documents(hf_cache):
    snapshot = hub_snapshot(hf_cache, "bigbio/chemprot", "refs/convert/parquet")
    for split in SPLITS:
        rows = chemprot_hub_rows(FIXTURE_DATA, split, hub.CHEMPROT_SHARED_TASK)
        write_parquet(rows, "chemprot", snapshot / hub.CHEMPROT_SHARED_TASK / split / "0000.parquet")
    write_parquet(
        chemprot_hub_rows(FIXTURE_DATA, "train", hub.CHEMPROT_SHARED_TASK),
        "chemprot",
        snapshot / hub.CHEMPROT_SHARED_TASK / "sample" / "0000.parquet",
    )  # the script's extra split
    for split in SPLITS:
        assert load_documents("chemprot", split, source="hub") == load_documents("chemprot", split, FIXTURE_DATA)


def test_cached_chemprot_full_source_is_used_when_the_gold_config_is_missing(hf_cache):
    """Older export layout (`config/<name>-<split>.parquet`); all relations CPR:0-10 with duplicates, in any order."""
    text = "Aspirin inhibits COX-2 in platelets.\nIbuprofen binds COX-2."
    row = {
        "pmid": "77",
        "text": text,
        "entities": columns(
            [
                {"id": "T1", "type": "CHEMICAL", "text": "Aspirin", "offsets": [0, 7]},
                {"id": "T2", "type": "GENE-Y", "text": "COX-2", "offsets": [17, 22]},
                {"id": "T10", "type": "CHEMICAL", "text": "Ibuprofen", "offsets": [37, 46]},
                {"id": "T11", "type": "GENE-Y", "text": "COX-2", "offsets": [53, 58]},
            ],
            ("id", "type", "text", "offsets"),
        ),
        "relations": columns(
            [
                {"type": "CPR:4", "arg1": "T10", "arg2": "T11"},
                {"type": "CPR:1", "arg1": "T1", "arg2": "T2"},
                {"type": "CPR:4", "arg1": "T1", "arg2": "T2"},
                {"type": "CPR:10", "arg1": "T10", "arg2": "T2"},
                {"type": "CPR:4", "arg1": "T10", "arg2": "T11"},
                {"type": "CPR:3", "arg1": "T10", "arg2": "T2"},
            ],
            ("type", "arg1", "arg2"),
        ),
    }
    snapshot = hub_snapshot(hf_cache, "bigbio/chemprot", "refs/convert/parquet")
    write_parquet([row], "chemprot", snapshot / hub.CHEMPROT_FULL / "chemprot-test.parquet")
    [document] = load_documents("chemprot", "test", source="hub")
    assert document.text == "Aspirin inhibits COX-2 in platelets. Ibuprofen binds COX-2."
    # gold-file order: group, then Arg1, then Arg2, comparing letters and digits only (T10 < T1<TAB>...)
    assert document.relations == (
        Relation("CPR:3", ("T10", "T2")),
        Relation("CPR:4", ("T10", "T11")),
        Relation("CPR:4", ("T1", "T2")),
    )
    assert [e.spans for e in document.entities] == [((0, 7),), ((17, 22),), ((37, 46),), ((53, 58),)]


def test_cached_cdr_source_export_gives_the_local_documents(hf_cache, real_data):
    snapshot = hub_snapshot(hf_cache, "bigbio/bc5cdr", "refs/convert/parquet")
    rows = cdr_source_rows(real_data / "bc5cdr" / f"{CDR_FILES['test']}.BioC.xml")
    write_parquet(rows, "cdr", snapshot / hub.CDR_SOURCE / "test" / "0000.parquet")
    assert load_documents("cdr", "test", source="hub") == load_documents("cdr", "test", real_data)


def test_cached_cdr_kb_export_is_used_when_the_source_config_is_missing(hf_cache, real_data):
    import datasets

    snapshot = hub_snapshot(hf_cache, "bigbio/bc5cdr", "refs/convert/parquet")
    path = snapshot / hub.CDR_KB / "test" / "0000.parquet"
    path.parent.mkdir(parents=True)
    datasets.Dataset.from_list(read_jsonl(real_data / "bc5cdr" / "bigbio_kb" / "test.jsonl")).to_parquet(str(path))
    assert load_documents("cdr", "test", source="hub") == load_documents("cdr", "test", real_data)


# --- online logic, with snapshot_download replaced (no network) -------------------------------------------


@pytest.fixture
def online(hf_cache, monkeypatch):
    """Offline switches off and the endpoint probe answering; yields the list of snapshot_download calls, which a
    test fills by setting `online.answer` (a function of the call's keyword arguments)."""
    import datasets.config
    import huggingface_hub
    from huggingface_hub import constants

    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "probe", lambda url, timeout=hub_access.PROBE_TIMEOUT_S: None)

    class Calls(list):
        answer = None

    calls = Calls()

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append(dict(kwargs, repo_id=repo_id))
        return calls.answer(**kwargs)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    return calls


def test_online_fetch_falls_back_to_the_next_config(online, tmp_path):
    snapshot = tmp_path / "snapshot"
    row = {
        "pmid": "9",
        "text": "A\nB",
        "entities": columns(
            [
                {"id": "T1", "type": "CHEMICAL", "text": "A", "offsets": [0, 1]},
                {"id": "T2", "type": "GENE-N", "text": "B", "offsets": [2, 3]},
            ],
            ("id", "type", "text", "offsets"),
        ),
        "relations": columns(
            [{"type": "CPR:9", "arg1": "T1", "arg2": "T2"}, {"type": "CPR:2", "arg1": "T1", "arg2": "T2"}],
            ("type", "arg1", "arg2"),
        ),
    }
    write_parquet([row], "chemprot", snapshot / hub.CHEMPROT_FULL / "test" / "0000.parquet")
    online.answer = lambda **kwargs: str(snapshot)
    [document] = load_documents("chemprot", "test", source="hub")
    assert document.text == "A B" and document.relations == (Relation("CPR:9", ("T1", "T2")),)
    assert [
        (c["repo_id"], c["repo_type"], c["revision"], c["local_files_only"], c["allow_patterns"][0]) for c in online
    ] == [
        ("bigbio/chemprot", "dataset", "refs/convert/parquet", False, "chemprot_shared_task_eval_source/test/*"),
        ("bigbio/chemprot", "dataset", "refs/convert/parquet", False, "chemprot_full_source/test/*"),
    ]


def test_online_fetch_of_dce_asks_for_one_pinned_file(online, tmp_path):
    (tmp_path / "final_train_set.jsonl").write_bytes((FIXTURE_DATA / "dce" / "final_train_set.jsonl").read_bytes())
    online.answer = lambda **kwargs: str(tmp_path)
    assert load_documents("dce", "validation", source="hub") == load_documents("dce", "validation", FIXTURE_DATA)
    assert [(c["revision"], c["allow_patterns"]) for c in online] == [(hub.DCE_REVISION, ["final_train_set.jsonl"])]


def test_online_fetch_with_nothing_found_is_a_data_error(online, tmp_path):
    online.answer = lambda **kwargs: str(tmp_path / "empty")
    with pytest.raises(DataError) as err:
        load_documents("cdr", "train", source="hub")
    message = str(err.value)
    assert "could not read the cdr train split from the Hugging Face hub" in message
    assert "bigbio/bc5cdr [bc5cdr_source, train]: no files for this split in the repository" in message
    assert "python -m bre_core data download --dataset cdr" in message


def test_connection_lost_half_way_uses_the_cache_only(online):
    def answer(local_files_only, **kwargs):
        if not local_files_only:
            raise ConnectionError("connection reset")
        from huggingface_hub.errors import LocalEntryNotFoundError

        raise LocalEntryNotFoundError("not cached")

    online.answer = answer
    started = time.monotonic()
    with pytest.raises(HubUnavailableError) as err:
        load_documents("chemprot", "train", source="hub")
    assert time.monotonic() - started < 10
    assert "the connection failed while fetching bigbio/chemprot" in str(err.value)
    assert [c["local_files_only"] for c in online] == [False, True]


# --- converters on real corpora -----------------------------------------------------------------------------


def test_ddi_hub_rows_give_the_local_documents(real_data):
    rows = {s: read_jsonl(real_data / "ddi" / "bigbio_source" / f"{s}.jsonl") for s in ("train", "test")}
    test = hub.documents_from_hub_rows("ddi", "test", rows["test"])
    assert test == load_documents("ddi", "test", real_data)
    assert (len(test), sum(len(d.relations) for d in test)) == (303, 979)
    shuffled = list(rows["train"])
    random.Random(7).shuffle(shuffled)  # hub order is directory order; the reference order is restored
    for split in ("train", "validation"):
        assert hub.documents_from_hub_rows("ddi", split, shuffled) == load_documents("ddi", split, real_data)


def test_dce_hub_rows_give_the_local_documents(real_data):
    rows = {s: read_jsonl(real_data / "dce" / f"final_{s}_set.jsonl") for s in ("train", "test")}
    test = hub.documents_from_hub_rows("dce", "test", rows["test"])
    assert test == load_documents("dce", "test", real_data)
    labels = Counter(r.label for d in test for r in d.relations)
    assert (len(test), sum(labels.values()), labels["POS"], labels["COMB"]) == (272, 209, 150, 59)
    for split in ("train", "validation"):
        for seed in (42, 5):
            expected = load_documents("dce", split, real_data, split_seed=seed)
            assert hub.documents_from_hub_rows("dce", split, rows["train"], split_seed=seed) == expected


@pytest.mark.parametrize("config", [hub.CHEMPROT_SHARED_TASK, hub.CHEMPROT_FULL])
@pytest.mark.parametrize("split", SPLITS)
def test_chemprot_hub_rows_give_the_local_documents(real_data, split, config):
    rows = chemprot_hub_rows(real_data, split, config)
    documents = hub.documents_from_hub_rows("chemprot", split, rows, config=config)
    assert documents == load_documents("chemprot", split, real_data)
    gold = {"train": 4157, "validation": 2416, "test": 3458}[split]
    assert sum(len(d.relations) for d in documents) == gold


@pytest.mark.parametrize("split", SPLITS)
def test_cdr_source_rows_give_the_local_documents(real_data, split):
    rows = cdr_source_rows(real_data / "bc5cdr" / f"{CDR_FILES[split]}.BioC.xml")
    assert hub.documents_from_hub_rows("cdr", split, rows, config=hub.CDR_SOURCE) == load_documents(
        "cdr", split, real_data
    )


def test_cdr_kb_export_gives_the_local_concept_relations(real_data):
    """The real `bc5cdr_bigbio_kb` export: concept-level CID (chemical MeSH, disease MeSH) equal for every document,
    in order; entity names and spans equal too (composite parts credited to ids by position, as in PubTator)."""
    rows = read_jsonl(real_data / "bc5cdr" / "bigbio_kb" / "test.jsonl")
    hub_docs = hub.documents_from_hub_rows("cdr", "test", rows, config=hub.CDR_KB)
    local_docs = load_documents("cdr", "test", real_data)
    assert [d.id for d in hub_docs] == [d.id for d in local_docs]
    assert [d.relations for d in hub_docs] == [d.relations for d in local_docs]
    assert sum(len(d.relations) for d in hub_docs) == 1066
    assert [d.entities for d in hub_docs] == [d.entities for d in local_docs]
    assert hub_docs == local_docs


@pytest.mark.parametrize("split", ("train", "validation"))
def test_cdr_kb_export_other_splits(real_data, split):
    """Same CID sets everywhere. One validation document (9022662) has two disease concepts with exactly the same
    mentions (D002819 and D001264, both on every "choreoathetosis"): the kb schema cannot tell their order apart."""
    rows = read_jsonl(real_data / "bc5cdr" / "bigbio_kb" / f"{split}.jsonl")
    hub_docs = hub.documents_from_hub_rows("cdr", split, rows, config=hub.CDR_KB)
    local_docs = load_documents("cdr", split, real_data)
    assert [set(d.relations) for d in hub_docs] == [set(d.relations) for d in local_docs]
    assert [d.entities for d in hub_docs] == [d.entities for d in local_docs]
    reordered = [d.id for d, e in zip(hub_docs, local_docs) if d.relations != e.relations]
    assert reordered == ([] if split == "train" else ["9022662"])


# --- converters on hand-written rows (no corpus needed) ---------------------------------------------------------


def test_chemprot_hand_written_rows_in_both_shapes():
    """Abstract 1001 of the fixture corpus, as the hub holds it; the fixture's gold file order is kept."""
    entities = [
        {"id": "T1", "type": "CHEMICAL", "text": "Aspirin", "offsets": [0, 7]},
        {"id": "T2", "type": "GENE-Y", "text": "COX-2", "offsets": [17, 22]},
        {"id": "T3", "type": "CHEMICAL", "text": "Aspirin", "offsets": [37, 44]},
        {"id": "T4", "type": "CHEMICAL", "text": "salicylate", "offsets": [49, 59]},
        {"id": "T5", "type": "GENE-Y", "text": "COX-2", "offsets": [73, 78]},
        {"id": "T6", "type": "GENE-N", "text": "NF-kB", "offsets": [94, 99]},
        {"id": "T7", "type": "CHEMICAL", "text": "Ibuprofen", "offsets": [101, 110]},
        {"id": "T8", "type": "GENE-Y", "text": "PPAR gamma", "offsets": [131, 141]},
    ]
    relations = [
        {"type": "CPR:4", "arg1": "T1", "arg2": "T2"},
        {"type": "CPR:4", "arg1": "T3", "arg2": "T5"},
        {"type": "CPR:4", "arg1": "T4", "arg2": "T5"},
        {"type": "CPR:3", "arg1": "T3", "arg2": "T6"},
        {"type": "CPR:6", "arg1": "T7", "arg2": "T8"},
    ]
    text = (
        "Aspirin inhibits COX-2 in platelets.\nAspirin and salicylate downregulate COX-2 and upregulate NF-kB. "
        "Ibuprofen is an antagonist of PPAR gamma."
    )
    expected = [d for d in load_documents("chemprot", "train", FIXTURE_DATA) if d.id == "1001"][0]
    for row in (
        {"pmid": "1001", "text": text, "entities": entities, "relations": relations},
        {
            "pmid": "1001",
            "text": text,
            "entities": columns(entities, ("id", "type", "text", "offsets")),
            "relations": columns(relations, ("type", "arg1", "arg2")),
        },
    ):
        assert hub.document_from_chemprot_row(row, "train") == expected


def test_cdr_hand_written_source_row_matches_the_pubtator_reading(tmp_path):
    """Composite mention with parts, an unnormalised mention, a repeated CID, a CID concept never mentioned."""
    title = "Cisplatin-induced nephrotoxicity."
    abstract = "Cisplatin caused renal and hearing toxicity; nalozone did not."
    pubtator = "\n".join(
        [
            f"9001|t|{title}",
            f"9001|a|{abstract}",
            "9001\t0\t9\tCisplatin\tChemical\tD002945",
            "9001\t18\t32\tnephrotoxicity\tDisease\tD007674",
            "9001\t34\t43\tCisplatin\tChemical\tD002945",
            "9001\t51\t77\trenal and hearing toxicity\tDisease\tD007674|D006311\trenal toxicity|hearing toxicity",
            "9001\t79\t87\tnalozone\tChemical\t-1",
            "9001\tCID\tD002945\tD007674",
            "9001\tCID\tD002945\tD006311",
            "9001\tCID\tD002945\tD007674",
            "9001\tCID\tD002945\tD000001",
            "",
        ]
    )
    (tmp_path / "bc5cdr").mkdir()
    (tmp_path / "bc5cdr" / "CDR_TestSet.PubTator.txt").write_text(pubtator, encoding="utf-8")
    [expected] = load_documents("cdr", "test", tmp_path)

    def entity(eid, start, end, text, etype, ids, texts=None):
        return {
            "id": eid,
            "offsets": start if isinstance(start, list) else [[start, end]],
            "text": texts or [text],
            "type": etype,
            "normalized": [{"db_name": "MESH", "db_id": i} for i in ids],
        }

    relations = [
        {"id": f"R{i}", "type": "CID", "arg1_id": "D002945", "arg2_id": d}
        for i, d in enumerate(["D007674", "D006311", "D007674", "D000001"])
    ]
    row = {
        "passages": [
            {
                "document_id": "9001",
                "type": "title",
                "text": title,
                "relations": relations,
                "entities": [
                    entity("1", 0, 9, "Cisplatin", "Chemical", ["D002945"]),
                    entity("2", 18, 32, "nephrotoxicity", "Disease", ["D007674"]),
                ],
            },
            {
                "document_id": "9001",
                "type": "abstract",
                "text": abstract,
                "relations": relations,
                "entities": [
                    entity("3", 34, 43, "Cisplatin", "Chemical", ["D002945"]),
                    entity("4", 51, 77, "renal and hearing toxicity", "Disease", ["D007674", "D006311"]),
                    entity("5", [[51, 56], [69, 77]], None, None, "Disease", ["D007674"], ["renal", "toxicity"]),
                    entity("6", [[61, 77]], None, None, "Disease", ["D006311"], ["hearing toxicity"]),
                    entity("7", 79, 87, "nalozone", "Chemical", []),
                ],
            },
        ]
    }
    document = hub.document_from_cdr_source_row(row, "test")
    assert document == expected
    assert document.entity("D007674").names == ("nephrotoxicity", "renal and hearing toxicity", "renal toxicity")
    assert document.entity("D007674").spans == ((18, 32), (51, 77))
    assert document.entity("D000001").names == ()
    assert [r.args for r in document.relations] == [
        ("D002945", "D007674"),
        ("D002945", "D006311"),
        ("D002945", "D007674"),
        ("D002945", "D000001"),
    ]


def test_seeded_validation_depends_on_the_seed_only():
    rows = read_jsonl(FIXTURE_DATA / "dce" / "final_train_set.jsonl")
    first = hub.documents_from_hub_rows("dce", "validation", rows, split_seed=3)
    assert first == hub.documents_from_hub_rows("dce", "validation", rows, split_seed=3)
    train = hub.documents_from_hub_rows("dce", "train", rows, split_seed=3)
    assert sorted(d.id for d in first + train) == sorted(r["doc_id"] for r in rows)
    assert all(d.split == "validation" for d in first)


# --- malformed rows -----------------------------------------------------------------------------------------


def _data_error(dataset, rows, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        hub.documents_from_hub_rows(dataset, "test", rows, **kwargs)
    return str(err.value)


def test_malformed_chemprot_row_names_dataset_row_and_key():
    rows = [
        {"pmid": "1", "text": "A\nB", "entities": [], "relations": []},
        {"pmid": "42", "text": "t\na", "relations": []},
    ]
    message = _data_error("chemprot", rows)
    assert message.startswith("chemprot: hub row 2 of bigbio/chemprot")
    assert "(pmid 42)" in message and "missing key 'entities'" in message


def test_chemprot_relation_to_an_unknown_entity_is_an_error():
    row = {
        "pmid": "5",
        "text": "t\na",
        "entities": {"id": ["T1"], "type": ["CHEMICAL"], "text": ["t"], "offsets": [[0, 1]]},
        "relations": {"type": ["CPR:4"], "arg1": ["T1"], "arg2": ["T9"]},
    }
    message = _data_error("chemprot", [row])
    assert "(pmid 5)" in message and "T9 is not an entity" in message


def test_malformed_ddi_row_names_dataset_row_and_problem():
    row = {
        "document_id": "Aspirin_ddi",
        "text": "Aspirin.",
        "entities": [{"offsets": [0, 7], "text": "Aspirin", "type": "DRUG", "id": "T1"}],
        "relations": [
            {
                "id": "R1",
                "head": {"ref_id": "T1", "role": "Arg1"},
                "tail": {"ref_id": "T7", "role": "Arg2"},
                "type": "EFFECT",
            }
        ],
    }
    message = _data_error("ddi", [row])
    assert message.startswith("ddi: hub row 1 of bigbio/ddi_corpus [ddi_corpus_source, test] (document_id Aspirin_ddi)")
    assert "unknown entity T7" in message
    broken = dict(row, entities=[{"offsets": [0, 7], "text": "Aspirin", "type": "DRUG"}], relations=[])
    # The hub and the local files share the converter, which names the missing key (issue 17: no raw KeyError).
    assert "missing key 'id' (keys present: offsets, text, type)" in _data_error("ddi", [broken])


def test_malformed_dce_row_names_dataset_row_and_key():
    message = _data_error("dce", [{"doc_id": "abc", "spans": [], "rels": []}])
    assert message.startswith("dce: hub row 1 of allenai/drug-combo-extraction [test] (doc_id abc)")
    assert "missing key 'sentence'" in message


def test_malformed_cdr_rows_name_dataset_row_and_problem():
    good = {"id": "1", "offsets": [[0, 3]], "text": ["abc"], "type": "Chemical", "normalized": []}
    row = {
        "passages": [
            {
                "document_id": "123",
                "type": "title",
                "text": "abc",
                "relations": [],
                "entities": [good, dict(good, id="2", offsets=[[0]])],
            }
        ]
    }
    message = _data_error("cdr", [row])
    assert message.startswith("cdr: hub row 1 of bigbio/bc5cdr [bc5cdr_source, test] (document_id 123)")
    assert "entity 2" in message and "expected offsets [start, end]" in message
    kb = {
        "id": "0",
        "document_id": "77",
        "passages": [{"id": "1", "type": "title", "text": ["abc"], "offsets": [[0, 3]]}],
        "entities": [good],
        "relations": [{"id": "9", "type": "CID", "arg1_id": "1", "arg2_id": "5", "normalized": []}],
    }
    message = _data_error("cdr", [kb], config=hub.CDR_KB)
    assert "(document_id 77)" in message and "relation argument 5 is not an entity" in message
    assert "missing key 'passages'" in _data_error("cdr", [{"document_id": "8"}])


def test_unknown_config_and_non_mapping_rows_are_errors():
    with pytest.raises(KeyError, match="Unknown ddi hub config 'ddi_corpus_bigbio_kb'"):
        hub.documents_from_hub_rows("ddi", "test", [], config="ddi_corpus_bigbio_kb")
    assert "expected a mapping" in _data_error("dce", [["not", "a", "row"]])


def test_documents_carry_the_requested_split_and_dataset():
    rows = read_jsonl(FIXTURE_DATA / "ddi" / "bigbio_source" / "test.jsonl")
    documents = hub.documents_from_hub_rows("ddi", "test", rows)
    assert {(d.dataset, d.split) for d in documents} == {("ddi", "test")}
    assert isinstance(documents[0], Document) and all(isinstance(e, Entity) for e in documents[0].entities)
