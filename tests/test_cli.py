"""The command line: data stats / export, score, and its errors, run as a user runs them."""

import json
import subprocess
import sys

import pytest

from bre_core.cli import main


def run_cli(*args, cwd=None):
    """Run `python -m bre_core ...` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "bre_core", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_stats_json_on_fixtures(fixture_data, capsys):
    assert main(["data", "stats", "--dataset", "chemprot", "--data-dir", str(fixture_data), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["dataset"] == "chemprot"
    assert stats["split_seed"] is None  # ChemProt has an official development set
    assert list(stats["splits"]) == ["train", "validation", "test"]
    train = stats["splits"]["train"]
    assert (train["documents"], train["relations"], train["annotated"]) == (2, 4, 5)
    assert train["by_label"] == {"CPR:3": 1, "CPR:4": 2, "CPR:6": 1}
    assert train["ceiling_f1"] == 1.0
    assert stats["splits"]["test"]["by_label"] == {"CPR:9": 2}  # glucose->hexokinase twice, g6p->hexokinase


def test_stats_reads_bre_data_dir(fixture_data, monkeypatch, capsys):
    monkeypatch.setenv("BRE_DATA_DIR", str(fixture_data))
    assert main(["data", "stats", "--dataset", "cdr", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["splits"]["train"]["ceiling_f1"] == pytest.approx(0.4)
    assert stats["splits"]["test"]["relations"] == 0
    assert main(["data", "stats", "--dataset", "ddi", "--split-seed", "7", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["split_seed"] == 7


def test_stats_table_on_real_corpus(shared_data):
    result = run_cli("data", "stats", "--dataset", "dce", "--data-dir", shared_data, "--split-seed", "42")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["test"][1:4] == ["272", "209", "209"]
    assert rows["train"][1] == "1090" and rows["validation"][1] == "272"


def test_stats_default_to_the_studys_validation_split(shared_data):
    # PAPER.md: the study's DCE validation split has 273 of the 1,362 training sentences, DDI 143 of 714 documents.
    for dataset, sizes in (("dce", ("1089", "273")), ("ddi", ("571", "143"))):
        result = run_cli("data", "stats", "--dataset", dataset, "--data-dir", shared_data)
        assert result.returncode == 0, result.stderr
        rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:5]}
        assert (rows["train"][1], rows["validation"][1]) == sizes
    stats = json.loads(run_cli("data", "stats", "--dataset", "ddi", "--data-dir", shared_data, "--json").stdout)
    assert stats["split_seed"] == "study"


def test_export_writes_one_line_per_document(fixture_data, tmp_path, capsys):
    out = tmp_path / "export" / "ddi-test.jsonl"
    assert (
        main(
            [
                "data",
                "export",
                "--dataset",
                "ddi",
                "--split",
                "test",
                "--data-dir",
                str(fixture_data),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["Lithium_ddi", "Water_ddi"]
    assert set(rows[0]) == {"id", "text", "source", "target", "relations"}
    assert rows[0]["target"] == "the relation between Diuretics and lithium is mechanism."
    assert rows[0]["source"].startswith("Find all instances of drug-drug relations")
    assert rows[0]["relations"] == [{"label": "MECHANISM", "args": ["T1", "T2"], "names": [["Diuretics"], ["lithium"]]}]
    assert rows[1]["relations"] == []
    assert not list(out.parent.glob(".*.tmp"))


def test_export_to_stdout(fixture_data):
    result = run_cli("data", "export", "--dataset", "dce", "--split", "test", "--data-dir", fixture_data)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["t1", "t2"]


def write_predictions(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_score_json(fixture_data, tmp_path):
    predictions = write_predictions(
        tmp_path / "p.jsonl",
        [
            {
                "id": "9001",
                "output": "The relation between Cisplatin and nephrotoxicity exists; "
                "The relation between Cisplatin and hypotension exists.",
            }
        ],
    )
    result = run_cli(
        "score",
        "--dataset",
        "cdr",
        "--split",
        "train",
        "--data-dir",
        fixture_data,
        "--predictions",
        predictions,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["micro"] == {
        "precision": 0.5,
        "recall": pytest.approx(1 / 3),
        "f1": pytest.approx(0.4),
        "tp": 1,
        "fp": 1,
        "fn": 2,
    }
    assert report["macro_f1"] == pytest.approx(0.4)
    assert report["per_class"]["CID"]["tp"] == 1
    assert (report["parse_failures"], report["documents"], report["missing"]) == (0, 2, 1)


def test_score_text_report(fixture_data, tmp_path, capsys):
    predictions = write_predictions(tmp_path / "p.jsonl", [{"id": "t2", "output": "nonsense"}])
    assert (
        main(
            [
                "score",
                "--dataset",
                "dce",
                "--split",
                "test",
                "--data-dir",
                str(fixture_data),
                "--predictions",
                str(predictions),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "2 documents, 1 without a prediction, 1 parse failures (1 unreadable, 0 unknown labels)" in out
    assert "micro  P 0.0000  R 0.0000  F1 0.0000  (TP 0, FP 0, FN 2)" in out


@pytest.mark.parametrize(
    "content,message",
    [
        (
            '{"id": "t1", "output": "x"}\n{"id": "zzz", "output": "y"}\n',
            "line 2: id 'zzz' is not a document of this split",
        ),
        ('{"id": "t1", "output": "x"}\n{"id": "t1", "output": "y"}\n', "line 2: id 't1' appears a second time"),
        ('{"id": "t1", "output": "x"}\n{"id": "t2", "out\n', "line 2: not valid JSON"),
        ('{"id": "t1"}\n', 'line 1: expected an object with keys "id" and "output"'),
        ('{"id": "t1", "output": 3}\n', 'line 1: "output" must be a string'),
    ],
)
def test_score_rejects_bad_prediction_lines(fixture_data, tmp_path, content, message):
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    result = run_cli("score", "--dataset", "dce", "--split", "test", "--data-dir", fixture_data, "--predictions", path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_errors_are_one_clear_line_and_exit_2(fixture_data, tmp_path):
    unknown = run_cli("data", "stats", "--dataset", "ddl", "--data-dir", fixture_data)
    assert unknown.returncode == 2
    assert "Unknown dataset 'ddl'. Did you mean 'ddi'?" in unknown.stderr and "Traceback" not in unknown.stderr
    missing = run_cli("data", "export", "--dataset", "cdr", "--split", "test", "--data-dir", tmp_path / "nowhere")
    assert missing.returncode == 2
    assert "CDR_TestSet.PubTator.txt: missing cdr file" in missing.stderr
    assert "data download --dataset cdr" in missing.stderr
    no_file = run_cli(
        "score",
        "--dataset",
        "dce",
        "--split",
        "test",
        "--data-dir",
        fixture_data,
        "--predictions",
        tmp_path / "absent.jsonl",
    )
    assert no_file.returncode == 2 and "no such predictions file" in no_file.stderr


def test_export_out_is_not_half_written_on_error(tmp_path):
    out = tmp_path / "out.jsonl"
    result = run_cli("data", "export", "--dataset", "cdr", "--split", "test", "--data-dir", tmp_path, "--out", out)
    assert result.returncode == 2 and not out.exists() and not list(tmp_path.glob(".*.tmp"))
