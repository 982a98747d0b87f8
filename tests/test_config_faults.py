"""Faults a user can make: truncated corpus files, bad names and models files on the command line and at app start."""

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bre_core.cli import main
from bre_core.config import ConfigError, load_models_file
from bre_core.datasets import DATASETS, SPLITS, dataset_files, load_documents
from bre_core.errors import DataError
from bre_core.experiments import load_experiment

REPO = Path(__file__).resolve().parents[1]
MODELS_YAML = (REPO / "models.yaml").read_text()
FILES = [(dataset, rel) for dataset in sorted(DATASETS) for rel in dataset_files(dataset)]
# Lower-case letters that are in no keyword of the formats (PubTator types, ChemProt groups, JSON values such as
# DRUG or POS), swapped for characters of 2, 3 and 4 bytes in UTF-8 so that a cut can land inside one.
WIDE = str.maketrans({"o": "ö", "u": "ｕ", "n": "𝓃"})


# --- truncated corpus files ------------------------------------------------------------------------


def _widen(value):
    if isinstance(value, str):
        return value.translate(WIDE)
    if isinstance(value, list):
        return [_widen(item) for item in value]
    if isinstance(value, dict):
        return {key: _widen(item) for key, item in value.items()}  # keys are the format's: kept
    return value


@pytest.fixture(scope="module")
def wide_data(tmp_path_factory) -> Path:
    """The fixture corpora with some letters made multi-byte; offsets count characters, so they stay right."""
    data = tmp_path_factory.mktemp("wide") / "data"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "data", data)
    for _, rel in FILES:
        path = data / rel
        text = path.read_text(encoding="utf-8")
        if rel.endswith(".jsonl"):
            rows = [_widen(json.loads(line)) for line in text.splitlines()]
            text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            text = text.translate(WIDE)
        path.write_text(text, encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def readers(wide_data) -> dict[str, list[str]]:
    """{file: the splits that read it}, found by removing each file in turn."""
    found = {}
    for dataset, rel in FILES:
        path = wide_data / rel
        saved = path.read_bytes()
        path.unlink()
        found[rel] = []
        for split in SPLITS:
            try:
                load_documents(dataset, split, wide_data)
            except DataError as error:
                assert "missing" in str(error) and str(path) in str(error)
                found[rel].append(split)
        path.write_bytes(saved)
    return found


def test_the_widened_corpora_are_the_fixture_corpora(wide_data, fixture_data, readers):
    for dataset in DATASETS:
        for split in SPLITS:
            wide = load_documents(dataset, split, wide_data)
            plain = load_documents(dataset, split, fixture_data)
            assert [d.text.translate(WIDE) for d in plain] == [d.text for d in wide], (dataset, split)
            assert [len(d.entities) for d in plain] == [len(d.entities) for d in wide]
            assert [len(d.relations) for d in plain] == [len(d.relations) for d in wide]
    lengths = {rel: {_char_length(byte) for byte in (wide_data / rel).read_bytes()} for _, rel in FILES}
    # Every file has a multi-byte character but the gold standards, which hold ids and labels only.
    assert sorted(rel for rel, found in lengths.items() if found == {1}) == [
        f"chemprot/original/{folder}_gold_standard.tsv"
        for folder in (
            "chemprot_development/chemprot_development",
            "chemprot_test_gs/chemprot_test",
            "chemprot_training/chemprot_training",
        )
    ]
    assert set.union(*lengths.values()) == {1, 2, 3, 4}
    assert readers["chemprot/original/chemprot_development/chemprot_development_entities.tsv"] == ["validation"]
    assert readers["bc5cdr/CDR_TestSet.PubTator.txt"] == ["test"]
    assert readers["ddi/bigbio_source/train.jsonl"] == ["train", "validation"]
    assert readers["dce/final_test_set.jsonl"] == ["test"]


def _char_length(byte: int) -> int:
    return 4 if byte >= 0xF0 else 3 if byte >= 0xE0 else 2 if byte >= 0xC0 else 1


def cut_points(raw: bytes) -> list[int]:
    """Byte offsets to cut a file at: its ends, both sides of each line ending and field separator, the middle of
    each line and field, inside each multi-byte character, and after each JSON delimiter of the first and last
    line (the lines between are alike, and cutting them costs time)."""
    points = {0, 1, len(raw) - 1}
    separators = [-1]
    for i, byte in enumerate(raw):
        if byte in b"\n\t|":
            points.update((i, i + 1))
            separators.append(i)
        elif byte >= 0xC0:
            points.update(range(i + 1, i + _char_length(byte)))
    points.update((a + b + 1) // 2 for a, b in itertools.pairwise(separators))
    first_end, last_start = raw.find(b"\n"), raw.rstrip(b"\n").rfind(b"\n")
    points.update(i + 1 for i, byte in enumerate(raw) if byte in b'{[":,' and not first_end < i < last_start)
    return sorted(point for point in points if 0 <= point < len(raw))


@pytest.mark.parametrize("dataset, rel", FILES, ids=[rel.rsplit("/", 1)[-1] for _, rel in FILES])
def test_a_truncated_file_loads_shorter_or_is_named_with_its_line(wide_data, readers, dataset, rel):
    path = wide_data / rel
    raw = path.read_bytes()
    original = {split: len(load_documents(dataset, split, wide_data)) for split in readers[rel]}
    problems = []
    try:
        for cut in cut_points(raw):
            path.write_bytes(raw[:cut])
            for split in readers[rel]:
                problem = _check_load(dataset, split, wide_data, path, original[split])
                if problem:
                    problems.append(f"cut at byte {cut} ({raw[max(cut - 12, 0) : cut]!r}), {split}: {problem}")
    finally:
        path.write_bytes(raw)
    assert problems == []


def _check_load(dataset: str, split: str, data: Path, cut_file: Path, original: int) -> str | None:
    """None when the load follows the rules, else what went wrong."""
    try:
        documents = load_documents(dataset, split, data)
    except DataError as error:
        message = str(error)
        if str(cut_file) not in message:
            return f"the message does not name the cut file: {message}"
        if error.line is None or f"{error.path}, line {error.line}: " not in message:
            return f"the message does not name a line: {message}"
        return None
    except Exception as error:  # noqa: BLE001 (any other exception is the failure being looked for)
        return f"{type(error).__name__}: {error}"
    if len(documents) > original:
        return f"{len(documents)} documents, more than the whole file's {original}"
    for document in documents:
        for entity in document.entities:
            for start, end in entity.spans:
                if document.text[start:end] not in entity.names:
                    return f"{document.id} {entity.id}: {document.text[start:end]!r} is not one of {entity.names}"
    return None


def copy_fixtures(fixture_data: Path, tmp_path: Path) -> Path:
    shutil.copytree(fixture_data, tmp_path / "data")
    return tmp_path / "data"


def test_chemprot_abstract_cut_mid_text_is_caught_by_the_entity_offsets(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    folder = data / "chemprot/original/chemprot_test_gs"
    abstracts = folder / "chemprot_test_abstracts_gs.tsv"
    text = abstracts.read_text()
    abstracts.write_text(text[: text.index("glucose-6-phosphate") + 3])  # the columns survive, the text does not
    with pytest.raises(DataError) as caught:
        load_documents("chemprot", "test", data)
    assert str(caught.value) == (
        f"{folder / 'chemprot_test_entities_gs.tsv'}, line 4: entity T4 'glucose-6-phosphate' is not the text at "
        f"offsets 58-77 of PMID 3001 ('glu').\nThis file or {abstracts} is truncated or not the official release; "
        "download it again."
    )


def test_chemprot_mention_cut_at_the_end_of_the_file_is_caught(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    entities = data / "chemprot/original/chemprot_development/chemprot_development_entities.tsv"
    entities.write_text(entities.read_text()[: -len("DRD2\n") + 2])  # '...\t51\t55\tDR'
    with pytest.raises(DataError, match=r"chemprot_development_entities.tsv, line 4: entity T4 'DR' is not the text"):
        load_documents("chemprot", "validation", data)


def test_chemprot_files_cut_at_a_line_end_name_the_file_that_lost_lines(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    folder = data / "chemprot/original/chemprot_training"
    entities = folder / "chemprot_training_entities.tsv"
    entities.write_text("".join(entities.read_text().splitlines(keepends=True)[:4]))  # T1-T4 of 1001 kept
    with pytest.raises(DataError) as caught:
        load_documents("chemprot", "train", data)
    assert str(caught.value).startswith(
        f"{folder / 'chemprot_training_gold_standard.tsv'}, line 2: relation argument T5 is not an entity of "
        f"PMID 1001 in {entities}.\nOne of the two files is truncated"
    )

    shutil.copy(fixture_data / "chemprot/original/chemprot_training/chemprot_training_entities.tsv", entities)
    abstracts = folder / "chemprot_training_abstracts.tsv"
    abstracts.write_text(abstracts.read_text().splitlines(keepends=True)[0])  # PMID 1002 gone
    with pytest.raises(DataError) as caught:
        load_documents("chemprot", "train", data)
    assert str(caught.value) == (
        f"{entities}, line 9: PMID 1002 is not in the abstracts file of this split, {abstracts}.\n"
        "That file is truncated or from another split; download the corpus again."
    )


# --- the command line ------------------------------------------------------------------------------

BAD_MODELS = {
    "yaml": ("models:\n  - {name: a, hub_id: x\ndefault_pair: [a, a]\n", "line 3: not valid YAML: "),
    "key": (
        MODELS_YAML.replace("{name: t5-small, hub_id: t5-small,", "{name: t5-small, hub: t5-small,"),
        (
            f"line {MODELS_YAML[: MODELS_YAML.index('name: t5-small')].count(chr(10)) + 1}: models[0].hub: unknown "
            "key (did you mean 'hub_id'?); allowed: name, hub_id, path,"
        ),
    ),
    "utf8": ("models:\n  - {name: caf\xe9}\n", "line 2: not valid UTF-8 (invalid continuation byte at byte 22); save"),
}


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_paragraph_error(code: int, out: str, err: str, *expected: str) -> None:
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.endswith("\n") and "\n\n" not in err and "Traceback" not in err
    for text in expected:
        assert text in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["data", "export", "--dataset", "chemprt", "--split", "train"], "Unknown dataset 'chemprt'. Did you mean"),
        (["data", "export", "--dataset", "cdr", "--split", "dev"], "Unknown split 'dev'. Available: train, valid"),
        (["score", "--dataset", "dce", "--split", "tst", "--predictions", "p.jsonl"], "Did you mean 'test'?"),
        (["evaluate", "--model", "t5-small", "--dataset", "cdrr", "--split", "test", "--out", "o"], "Unknown dataset"),
        (["evaluate", "--model", "t5-small", "--dataset", "cdr", "--split", "tset", "--out", "o"], "Unknown split"),
        (["finetune", "--model", "t5-small", "--dataset", "DDI", "--setting", "k16", "--out", "o"], "Unknown dataset"),
    ],
)
def test_unknown_dataset_or_split_names_the_choices(capsys, fixture_data, tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)  # where --out o would go
    code, out, err = cli(capsys, *argv, "--data-dir", fixture_data)
    # Checked before a model or torch is loaded, as the dataset (the tasks would call it an unknown task).
    choices = "Available: cdr, chemprot, dce, ddi" if "dataset" in expected else "Available: train, validation, test"
    assert_one_paragraph_error(code, out, err, expected, choices)


@pytest.mark.parametrize("command", ["evaluate", "finetune"])
def test_unknown_model_names_the_choices_and_the_fix(capsys, fixture_data, tmp_path, command):
    task = ["--split", "test"] if command == "evaluate" else ["--setting", "k16"]
    argv = [command, "--model", "t5-smal", "--dataset", "cdr", *task, "--out", tmp_path / "runs"]
    code, out, err = cli(capsys, *argv, "--data-dir", fixture_data, "--models", REPO / "models.yaml")
    assert_one_paragraph_error(
        code,
        out,
        err,
        "error: Unknown model 't5-smal'. Did you mean 't5-small'? Available: t5-small, t5-base,",
        "add it to models.yaml (hub_id: or path:) or pass the folder of a model saved with save_pretrained",
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["evaluate", "finetune"])
@pytest.mark.parametrize("fault", sorted(BAD_MODELS))
def test_a_malformed_models_file_is_named_with_its_line(capsys, fixture_data, tmp_path, command, fault):
    text, expected = BAD_MODELS[fault]
    models = tmp_path / "models.yaml"
    models.write_bytes(text.encode("latin-1") if fault == "utf8" else text.encode())
    task = ["--split", "test"] if command == "evaluate" else ["--setting", "k16"]
    argv = [command, "--model", "t5-small", "--dataset", "cdr", *task, "--out", tmp_path / "runs"]
    code, out, err = cli(capsys, *argv, "--data-dir", fixture_data, "--models", models)
    assert_one_paragraph_error(code, out, err, f"error: {models}, {expected}")


def test_a_models_folder_or_missing_file_says_it_cannot_be_read(capsys, fixture_data, tmp_path, monkeypatch):
    argv = ["evaluate", "--model", "t5-small", "--dataset", "cdr", "--split", "test", "--out", tmp_path / "runs"]
    monkeypatch.setenv("BRE_MODELS", str(tmp_path / "elsewhere.yaml"))
    code, out, err = cli(capsys, *argv, "--data-dir", fixture_data, "--models", tmp_path)
    # --models wins over $BRE_MODELS, and the message does not blame the variable.
    assert_one_paragraph_error(code, out, err, f"error: {tmp_path}: cannot read the models file: Is a directory")
    code, out, err = cli(capsys, *argv, "--data-dir", fixture_data)
    assert_one_paragraph_error(
        code,
        out,
        err,
        f"error: {tmp_path / 'elsewhere.yaml'}: cannot read the models file (set by $BRE_MODELS): No such file",
    )


def test_a_missing_data_folder_is_named_with_the_fix(capsys, tmp_path, monkeypatch):
    missing = tmp_path / "no-data"
    code, out, err = cli(capsys, "data", "stats", "--dataset", "ddi", "--data-dir", missing)
    assert (code, out) == (2, "")
    assert err == (
        f"error: {missing / 'ddi/bigbio_source/train.jsonl'}: missing ddi file (the data folder {missing} does not "
        f"exist).\nGet it with `python -m bre_core data download --dataset ddi --data-dir {missing}`, or point "
        "--data-dir (or BRE_DATA_DIR) at a folder laid out like the official releases (see the README, section "
        "'Data').\n"
    )
    monkeypatch.setenv("BRE_DATA_DIR", str(missing))
    code, out, err = cli(capsys, "data", "export", "--dataset", "chemprot", "--split", "validation")
    assert_one_paragraph_error(
        code, out, err, f"chemprot_development_abstracts.tsv: missing chemprot file (the data folder {missing} does"
    )


def test_a_truncated_corpus_file_on_the_command_line(capsys, fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    path = data / "bc5cdr/CDR_DevelopmentSet.PubTator.txt"
    path.write_text(path.read_text()[: path.read_text().index("\tDisease\tD004409")])
    code, out, err = cli(capsys, "data", "export", "--dataset", "cdr", "--split", "validation", "--data-dir", data)
    assert_one_paragraph_error(
        code,
        out,
        err,
        f"error: {path}, line 4: expected a mention (6 or 7 columns) or a CID relation (4 columns), found 4 columns",
    )


def test_a_grid_file_that_is_not_utf8(capsys, tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_bytes(b"description: caf\xe9\nevaluate: [{models: t5-base, datasets: cdr}]\n")
    code, out, err = cli(capsys, "grid", spec, "--dry-run")
    assert_one_paragraph_error(code, out, err, f"error: {spec}, line 1: not valid UTF-8 (invalid continuation byte")


def test_the_real_command_prints_no_traceback(tmp_path):
    models = tmp_path / "models.yaml"
    models.write_text(BAD_MODELS["yaml"][0])
    result = subprocess.run(
        [sys.executable, "-m", "bre_core", "evaluate", "--model", "t5-small", "--dataset", "cdr", "--split", "test"]
        + ["--out", str(tmp_path / "runs"), "--models", str(models)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"error: {models}, line 3: not valid YAML: ") and "Traceback" not in result.stderr


# --- models and experiment files: faults the other test files leave out ---------------------------


def test_models_file_duplicate_key_names_both_lines(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(MODELS_YAML + "default_pair: [t5-small, t5-base]\n")
    with pytest.raises(ConfigError) as caught:
        load_models_file(path)
    first = MODELS_YAML[: MODELS_YAML.index("default_pair:")].count("\n") + 1
    assert str(caught.value) == (
        f"{path}, line {len(MODELS_YAML.splitlines()) + 1}: default_pair: duplicate key 'default_pair' "
        f"(also on line {first})"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ": expected a mapping with the keys models, pairs, default_pair"),
        ("- t5-small\n", ": expected a mapping with the keys models, pairs, default_pair"),
        ("models:\n\t- t5-small\n", ", line 2: not valid YAML: found character '\\t' that cannot start any token"),
        ("models: [t5-small]\ndefault_pair: [t5-small, t5-small]\n", ", line 1: models[0]: Input should be a valid"),
    ],
)
def test_models_file_that_is_not_a_models_file(tmp_path, text, expected):
    path = tmp_path / "models.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_models_file(path)
    assert str(caught.value).startswith(f"{path}{expected}")


def test_models_file_problems_come_in_file_order(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(
        "default_pair: [a]\n"
        "models:\n"
        "  - {name: a, hub_id: x, architecture: decoder, params: 1M, domain: general, ift: none, family: t5}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_models_file(path)
    assert str(caught.value).splitlines() == [
        (
            f"{path}, line 1: default_pair[1]: a pair is two model names: [general or plain, biomedical or "
            "instruction-tuned]"
        ),
        f"{path}, line 3: models[0].architecture: Input should be 'seq2seq' or 'causal' (got 'decoder')",
    ]
    assert (caught.value.line, caught.value.loc) == (1, ("default_pair", 1))


def test_experiment_naming_a_malformed_models_file_names_that_file(tmp_path):
    models = tmp_path / "mine.yaml"
    models.write_text(MODELS_YAML.replace("ift: none, family: t5}", "ift: nothing, family: t5}", 1))
    spec = tmp_path / "grid.yaml"
    spec.write_text("models: mine.yaml\nevaluate: [{models: t5-small, datasets: cdr}]\n")
    with pytest.raises(ConfigError) as caught:
        load_experiment(spec)
    line = MODELS_YAML[: MODELS_YAML.index("ift: none, family: t5}")].count("\n") + 1
    assert str(caught.value) == (
        f"{models}, line {line}: models[0].ift: Input should be 'none', 'general' or 'biomedical' (got 'nothing')"
    )


# --- the app's start-up ----------------------------------------------------------------------------


def test_app_start_up_with_a_malformed_models_file_names_file_and_line(tmp_path, monkeypatch, fixture_data):
    from bre_core.ui.context import context_from_env

    path = tmp_path / "models.yaml"
    needle = "architecture: seq2seq, params: 60M"
    path.write_text(MODELS_YAML.replace(needle, "architecture: encoder, params: 60M"))
    line = MODELS_YAML[: MODELS_YAML.index(needle)].count("\n") + 1
    expected = f"{path}, line {line}: models[0].architecture: Input should be 'seq2seq' or 'causal' (got 'encoder')"
    with pytest.raises(ConfigError) as caught:
        context_from_env(data_dir=str(fixture_data), runs_dirs=[], models_path=str(path))
    assert (str(caught.value), caught.value.path, caught.value.line) == (expected, path, line)
    monkeypatch.setenv("BRE_MODELS", str(path))  # how the app is usually pointed at a models file
    with pytest.raises(ConfigError, match=r"line \d+: models\[0\]\.architecture"):
        context_from_env(data_dir=str(fixture_data), runs_dirs=[])
