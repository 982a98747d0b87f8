"""Experiment grids: the study's grid in experiments/paper.yaml, its epochs, listing, commands, running, and errors."""

import json
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bre_core.cli import build_parser, main
from bre_core.config import ConfigError, load_models_file
from bre_core.experiments import grid as experiments
from bre_core.experiments import load_experiment, study_epochs
from bre_core.runs import run_name

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "experiments" / "paper.yaml"
MODELS = REPO / "models.yaml"

SEQ2SEQ = [
    "t5-small",
    "t5-base",
    "t5-large",
    "flan-t5-small",
    "flan-t5-base",
    "flan-t5-large",
    "scifive-base",
    "scifive-large",
    "bart-base",
    "bart-large",
    "biobart-v2-base",
    "biobart-v2-large",
    "in-boxbart",
]
DECODERS = ["gpt2-medium", "gpt2-xl", "gpt-neo-2.7b", "biogpt", "biogpt-large", "biomedlm"]
INSTRUCTION_TUNED = ["flan-t5-small", "flan-t5-base", "flan-t5-large", "in-boxbart"]
DATASETS = ["cdr", "chemprot", "ddi", "dce"]
# PAPER.md, "Few-shot": epochs (16-shot, 64-shot) per group of models.
STUDY_EPOCHS = {
    ("t5-small", "flan-t5-small"): (160, 60),
    ("t5-base", "flan-t5-base", "scifive-base"): (100, 40),
    ("t5-large", "flan-t5-large", "scifive-large"): (50, 30),
    ("bart-base", "biobart-v2-base", "in-boxbart"): (130, 50),
    ("bart-large", "biobart-v2-large"): (75, 35),
}


@pytest.fixture(autouse=True)
def _default_models_file(monkeypatch):
    monkeypatch.delenv("BRE_MODELS", raising=False)


def grid(capsys, *argv) -> tuple[int, str, str]:
    code = main(["grid", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_spec(tmp_path: Path, text: str, name: str = "grid.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def complete(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"status": "complete"}))


# --- the study's grid ------------------------------------------------------------------------------


def test_paper_dry_run_counts_the_study(capsys, tmp_path):
    code, out, err = grid(capsys, PAPER, "--dry-run", "--out", tmp_path / "runs")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[-3:] == [
        "finetuning runs: 596 (full 76, k16 260, k64 260)",
        "evaluation runs: 16",
        "done 0, partial 0, pending 612",
    ]
    rows = [line for line in lines if line.split()[1] in ("finetune", "evaluate")]
    assert len(rows) == 612
    assert rows[0].split() == [
        "pending",
        "finetune",
        "t5-small",
        "cdr",
        "full",
        "42",
        "30",
        run_name("t5-small", "cdr", "test", "full", 42),
    ]
    assert rows[-1].split() == [
        "pending",
        "evaluate",
        "in-boxbart",
        "dce",
        "zero-shot",
        "in-boxbart__dce__test__zero-shot",
    ]


def test_paper_dry_run_from_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "bre_core", "grid", "experiments/paper.yaml", "--dry-run", "--out", "/nonexistent/runs"],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "finetuning runs: 596 (full 76, k16 260, k64 260)\nevaluation runs: 16\n" in result.stdout


def test_paper_runs_are_the_studys():
    experiment = load_experiment(PAPER)
    assert experiment.models_path == MODELS.resolve()
    runs = experiment.plan()
    assert len(runs) == 612
    assert len({run.name for run in runs}) == 612
    assert all(run.folder == Path("runs/paper") / run.name for run in runs)

    full = [run for run in runs if run.kind == "finetune" and run.setting == "full"]
    assert len(full) == 76
    assert {run.seed for run in full} == {42} and {run.epochs for run in full} == {30}
    models = load_models_file(MODELS)
    llms = {name for pair in models.pairs["llm_rq1"] for name in pair}  # beyond the study (experiments/llm.yaml)
    study = [name for name in models.names if name not in llms]
    assert len(study) == 19
    assert Counter(run.model for run in full) == Counter({name: 4 for name in study})

    few = [run for run in runs if run.kind == "finetune" and run.setting != "full"]
    assert Counter(run.setting for run in few) == {"k16": 260, "k64": 260}
    assert {run.seed for run in few} == {0, 1, 2, 3, 4}
    assert sorted({run.model for run in few}) == sorted(SEQ2SEQ)
    assert not {run.model for run in few} & set(DECODERS)
    assert Counter((run.model, run.dataset, run.setting) for run in few) == {
        (model, dataset, setting): 5 for model in SEQ2SEQ for dataset in DATASETS for setting in ("k16", "k64")
    }
    for models, (k16, k64) in STUDY_EPOCHS.items():
        for run in few:
            if run.model in models:
                assert run.epochs == (k16 if run.setting == "k16" else k64), run.name

    evaluations = [run for run in runs if run.kind == "evaluate"]
    assert sorted((run.model, run.dataset) for run in evaluations) == sorted(
        (model, dataset) for model in INSTRUCTION_TUNED for dataset in DATASETS
    )
    assert {(run.setting, run.split, run.seed, run.epochs) for run in evaluations} == {
        ("zero-shot", "test", None, None)
    }
    assert "flan-t5-base__cdr__test__zero-shot" in {run.name for run in evaluations}

    by_name = {run.name: run for run in runs}
    assert by_name["t5-base__cdr__test__k16__seed3"].command == (
        "python -m bre_core finetune --model t5-base --dataset cdr --setting k16 --seed 3 --epochs 100 --out runs/paper"
    )
    assert by_name["flan-t5-base__cdr__test__zero-shot"].command == (
        "python -m bre_core evaluate --model flan-t5-base --dataset cdr --split test --out runs/paper"
    )


def test_study_epochs_are_the_papers():
    for models, (k16, k64) in STUDY_EPOCHS.items():
        for model in models:
            assert (study_epochs(model, "k16"), study_epochs(model, "k64"), study_epochs(model, "full")) == (
                k16,
                k64,
                30,
            )
    assert study_epochs("t5-small", "k16") == 160.0
    assert study_epochs("bart-large", "k64") == 35.0
    # Decoder-only models: no few-shot in the study, so nothing for them; full data is 30 epochs for every model.
    assert study_epochs("gpt2-xl", "k16") is None
    assert study_epochs("biomedlm", "k64") is None
    assert study_epochs("biogpt", "full") == 30
    assert study_epochs("t5-base", "k32") is None
    assert study_epochs("not-a-model", "k16") is None


# --- selecting, listing, printing ------------------------------------------------------------------


def test_only_selects_by_run_name(capsys, tmp_path):
    code, out, _ = grid(capsys, PAPER, "--dry-run", "--only", "*cdr*k16*", "--out", tmp_path)
    assert code == 0
    assert out.splitlines()[-3:] == [
        "finetuning runs: 65 (k16 65)",
        "evaluation runs: 0",
        "done 0, partial 0, pending 65",
    ]
    selected = experiments.select_runs(load_experiment(PAPER).plan(), "*cdr*k16*")
    assert len(selected) == 65
    assert {(run.dataset, run.setting) for run in selected} == {("cdr", "k16")}
    assert len(experiments.select_runs(load_experiment(PAPER).plan(), "*zero-shot")) == 16


def test_only_matching_nothing_is_an_error(capsys):
    code, out, err = grid(capsys, PAPER, "--dry-run", "--only", "*k32*")
    assert code == 2 and out == ""
    assert "matches --only '*k32*'" in err and "t5-small__cdr__test__full__seed42" in err


def test_print_commands_one_parseable_command_per_run(capsys, tmp_path):
    out_dir = tmp_path / "runs"
    code, out, err = grid(capsys, PAPER, "--print-commands", "--out", out_dir, "--data-dir", "/data/corpora")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 612
    assert err == f"# 612 commands from {PAPER} (0 runs complete already)\n"
    parser = build_parser()
    kinds = Counter()
    for line in lines:
        argv = shlex.split(line)
        assert argv[:3] == ["python", "-m", "bre_core"]
        args = parser.parse_args(argv[3:])  # the project's own command line accepts it
        kinds[args.command] += 1
        assert args.out == str(out_dir) and args.data_dir == "/data/corpora" and args.models is None
        assert args.dataset in DATASETS
        if args.command == "finetune":
            for option in ("--model", "--dataset", "--setting", "--seed", "--out"):
                assert option in argv
            assert args.setting in ("full", "k16", "k64") and args.seed in (0, 1, 2, 3, 4, 42)
            assert args.epochs == (30 if args.setting == "full" else study_epochs(args.model, args.setting))
        else:
            assert args.split == "test" and args.model in INSTRUCTION_TUNED
    assert kinds == {"finetune": 596, "evaluate": 16}


def test_print_commands_stdout_holds_only_commands():
    result = subprocess.run(
        [sys.executable, "-m", "bre_core", "grid", str(PAPER), "--print-commands", "--only", "bart-base__ddi__*"],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "python -m bre_core finetune --model bart-base --dataset ddi --setting full --seed 42 --epochs 30 --out runs/paper"
    ] + [
        f"python -m bre_core finetune --model bart-base --dataset ddi --setting {k} --seed {s} --epochs {e} "
        f"--out runs/paper"
        for k, e in (("k16", 130), ("k64", 50))
        for s in range(5)
    ]
    assert result.stderr.startswith("# 11 commands")


def test_finished_runs_are_skipped_and_counted(capsys, tmp_path):
    out_dir = tmp_path / "runs"
    complete(out_dir / "t5-base__cdr__test__k16__seed3")
    (out_dir / "t5-base__cdr__test__k16__seed4").mkdir()  # interrupted: no manifest
    broken = out_dir / "t5-base__cdr__test__k16__seed2"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps({"status": "running"}))

    code, out, _ = grid(capsys, PAPER, "--dry-run", "--out", out_dir, "--only", "t5-base__cdr__test__k16__*")
    assert code == 0
    rows = {line.split()[-1]: line.split()[0] for line in out.splitlines()[1:6]}
    assert rows == {
        "t5-base__cdr__test__k16__seed0": "pending",
        "t5-base__cdr__test__k16__seed1": "pending",
        "t5-base__cdr__test__k16__seed2": "partial",
        "t5-base__cdr__test__k16__seed3": "done",
        "t5-base__cdr__test__k16__seed4": "partial",
    }
    assert out.splitlines()[-1] == "done 1, partial 2, pending 2"

    code, out, err = grid(capsys, PAPER, "--print-commands", "--out", out_dir, "--only", "t5-base__cdr__test__k16__*")
    seeds = [shlex.split(line)[shlex.split(line).index("--seed") + 1] for line in out.splitlines()]
    assert seeds == ["0", "1", "2", "4"]
    assert "(1 runs complete already)" in err

    code, out, _ = grid(capsys, PAPER, "--dry-run", "--out", out_dir)
    assert out.splitlines()[-1] == "done 1, partial 2, pending 609"


# --- running ---------------------------------------------------------------------------------------


def test_grid_runs_pending_runs_one_by_one_and_reports_failures(capsys, tmp_path, monkeypatch):
    out_dir = tmp_path / "runs"
    spec = write_spec(
        tmp_path,
        f"models: {MODELS}\nout: {out_dir}\n"
        "evaluate:\n  - {models: [flan-t5-small, flan-t5-base], datasets: [cdr, ddi]}\n",
    )
    complete(out_dir / "flan-t5-small__cdr__test__zero-shot")
    calls = []

    def fake_execute(argv):
        calls.append(argv)
        name = run_name(argv[argv.index("--model") + 1], argv[argv.index("--dataset") + 1], "test")
        if name == "flan-t5-base__cdr__test__zero-shot":
            return -9  # killed (out of memory)
        if name != "flan-t5-base__ddi__test__zero-shot":  # this one exits 0 without writing its folder
            complete(out_dir / name)
        return 0

    monkeypatch.setattr(experiments, "_execute", fake_execute)
    code, out, _ = grid(capsys, spec)
    assert code == 1
    assert calls == [
        ("evaluate", "--model", model, "--dataset", dataset, "--split", "test", "--out", str(out_dir))
        for model, dataset in (("flan-t5-small", "ddi"), ("flan-t5-base", "cdr"), ("flan-t5-base", "ddi"))
    ]
    lines = out.splitlines()
    assert lines[0] == "1 of 4 runs complete already: skipped"
    assert lines[1].startswith("[1/3] flan-t5-small__ddi__test__zero-shot: python -m bre_core evaluate")
    assert lines[2].startswith("[1/3] flan-t5-small__ddi__test__zero-shot: done in ")
    assert lines[4].startswith("[2/3] flan-t5-base__cdr__test__zero-shot: FAILED (exit code -9)")
    assert lines[-3:] == [
        "grid finished: 1 done, 2 failed, 1 skipped (complete already)",
        "  failed: flan-t5-base__cdr__test__zero-shot (exit code -9)",
        (
            f"  failed: flan-t5-base__ddi__test__zero-shot (exited 0 but {out_dir / 'flan-t5-base__ddi__test__zero-shot'}"
            " is not a complete run folder)"
        ),
    ]

    # Run again: the finished runs are skipped, only the two failed ones go again.
    calls.clear()
    monkeypatch.setattr(experiments, "_execute", lambda argv: calls.append(argv) or (complete(out_dir / "x") or 0))
    code, out, _ = grid(capsys, spec, "--only", "*cdr*")
    assert code == 1 and len(calls) == 1
    assert out.splitlines()[-2] == "grid finished: 0 done, 1 failed, 1 skipped (complete already)"


def test_grid_runs_are_real_subprocesses(capfd, tmp_path):
    """A run that fails (no corpus here) does not take the grid down: it is reported, and the exit code is 1."""
    models = tmp_path / "my-models.yaml"
    models.write_text(
        "models:\n"
        "  - {name: fake, path: ./no-such-model, architecture: seq2seq, params: 1M, domain: general, ift: none,"
        " family: t5}\n"
        "default_pair: [fake, fake]\n"
    )
    spec = write_spec(
        tmp_path, f"models: my-models.yaml\nout: {tmp_path / 'runs'}\nevaluate: [{{models: fake, datasets: cdr}}]\n"
    )
    code = main(["grid", str(spec), "--data-dir", str(tmp_path / "no-data")])
    out, err = capfd.readouterr()
    assert code == 1
    assert f"--models {models}" in out  # not the default models file: named in the command
    assert "error: " in err  # the child's own message (here: the cdr files are missing)
    assert out.splitlines()[-2] == "grid finished: 0 done, 1 failed, 0 skipped (complete already)"
    assert out.splitlines()[-1].startswith("  failed: fake__cdr__test__zero-shot (exit code ")
    assert not (tmp_path / "runs" / "fake__cdr__test__zero-shot").exists()


# --- custom grids ----------------------------------------------------------------------------------


def test_custom_grid_filters_defaults_and_overrides(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "models.yaml").write_text(MODELS.read_text())
    spec = write_spec(
        tmp_path,
        "models: conf/models.yaml\n"
        "epochs: {k8: 12, k16: {bart-base: 7}}\n"
        "finetune:\n"
        "  - {models: {architecture: seq2seq, domain: biomedical, family: bart}, datasets: ddi, settings: [k8, k16]}\n"
        "  - {models: biogpt, datasets: [cdr, dce], settings: full, seeds: [1, 2], epochs: 2.5}\n"
        "evaluate:\n"
        "  - {models: in-boxbart, datasets: all, split: validation}\n",
    )
    experiment = load_experiment(spec)
    assert experiment.models_path == (tmp_path / "conf" / "models.yaml").resolve()
    runs = experiment.plan(out="out", data_dir="d")
    assert [(run.model, run.dataset, run.setting, run.seed, run.epochs) for run in runs[:4]] == [
        ("biobart-v2-base", "ddi", "k8", 0, 12),
        ("biobart-v2-base", "ddi", "k16", 0, None),
        ("biobart-v2-large", "ddi", "k8", 0, 12),
        ("biobart-v2-large", "ddi", "k16", 0, None),
    ]
    assert [run.name for run in runs[4:8]] == [
        "biogpt__cdr__test__full__seed1",
        "biogpt__cdr__test__full__seed2",
        "biogpt__dce__test__full__seed1",
        "biogpt__dce__test__full__seed2",
    ]
    assert [run.name for run in runs[8:]] == [f"in-boxbart__{d}__validation__zero-shot" for d in DATASETS]
    assert shlex.split(runs[1].command) == [
        "python", "-m", "bre_core", "finetune", "--model", "biobart-v2-base", "--dataset", "ddi", "--setting", "k16",
        "--seed", "0", "--out", "out", "--data-dir", "d", "--models", str((tmp_path / "conf" / "models.yaml").resolve()),
    ]  # fmt: skip
    assert "--epochs 2.5" in runs[4].command
    assert experiment.epochs_for("bart-base", "k16") == 7 and experiment.epochs_for("t5-base", "k16") is None
    assert experiment.epochs_for("gpt2-xl", "k8") == 12


# --- malformed experiment files --------------------------------------------------------------------

GOOD = (
    f"models: {MODELS}\n"
    "out: runs/mine\n"
    "finetune:\n"
    "  - models: [t5-base, scifive-base]\n"
    "    datasets: [cdr, ddi]\n"
    "    settings: [full, k16]\n"
    "    seeds: [0, 1]\n"
)


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_experiment(write_spec(tmp_path, text))
    return caught.value


def test_the_good_file_loads(tmp_path):
    assert len(load_experiment(write_spec(tmp_path, GOOD)).plan()) == 16


def test_unknown_key_names_file_line_key_and_suggestion(tmp_path):
    error = error_for(tmp_path, GOOD + "    seed: [3]\n")
    assert (error.path, error.line, error.loc) == (tmp_path / "grid.yaml", 8, ("finetune", 0, "seed"))
    assert str(error) == (
        f"{tmp_path / 'grid.yaml'}, line 8: finetune[0].seed: unknown key (did you mean 'seeds'?); "
        "allowed: models, datasets, settings, seeds, epochs"
    )
    error = error_for(tmp_path, GOOD.replace("out:", "output:"))
    assert (error.line, error.loc) == (2, ("output",))
    assert "unknown key (did you mean 'out'?)" in str(error)


def test_unknown_model_suggests_the_closest(tmp_path):
    error = error_for(tmp_path, GOOD.replace("scifive-base]", "scifive-bse]"))
    assert (error.line, error.loc) == (4, ("finetune", 0, "models", 1))
    assert str(error).startswith(
        f"{tmp_path / 'grid.yaml'}, line 4: finetune[0].models[1]: Unknown model 'scifive-bse'. "
        "Did you mean 'scifive-base'? Available: t5-small, t5-base"
    )
    error = error_for(tmp_path, GOOD + "epochs: {k16: {t5-bas: 3}}\n")
    assert (error.line, error.loc) == (8, ("epochs", "k16", "t5-bas"))
    assert "Did you mean 't5-base'?" in str(error)


def test_unknown_dataset_and_setting(tmp_path):
    error = error_for(tmp_path, GOOD.replace("[cdr, ddi]", "[cdr, chemprott]"))
    assert (error.line, error.loc) == (5, ("finetune", 0, "datasets", 1))
    assert "Unknown dataset 'chemprott'. Did you mean 'chemprot'? Available: cdr, chemprot, ddi, dce" in str(error)
    error = error_for(tmp_path, GOOD.replace("[full, k16]", "[full, k0, few]"))
    assert (error.line, error.loc) == (6, ("finetune", 0, "settings", 1))
    choices = "full (all training data) or k<N> with N >= 1 (k16, k64)"
    assert str(error).splitlines() == [
        f"{tmp_path / 'grid.yaml'}, line 6: finetune[0].settings[1]: unknown setting 'k0': {choices}",
        f"{tmp_path / 'grid.yaml'}, line 6: finetune[0].settings[2]: unknown setting 'few': {choices}",
    ]


def test_bad_values_are_named(tmp_path):
    error = error_for(
        tmp_path,
        GOOD.replace("seeds: [0, 1]", "seeds: [0, -1]") + "evaluate: [{models: t5-base, datasets: cdr, split: dev}]\n",
    )
    assert str(error).splitlines() == [
        f"{tmp_path / 'grid.yaml'}, line 7: finetune[0].seeds[1]: Input should be greater than or equal to 0 (got -1)",
        f"{tmp_path / 'grid.yaml'}, line 8: evaluate[0].split: Input should be 'train', 'validation' or 'test' (got 'dev')",
    ]
    error = error_for(tmp_path, GOOD.replace("    datasets: [cdr, ddi]\n", ""))
    assert (error.line, error.loc) == (4, ("finetune", 0, "datasets"))
    assert "finetune[0].datasets: required key missing" in str(error)
    error = error_for(tmp_path, GOOD + "    epochs: '3'\n")
    assert (error.line, str(error).split(": ", 2)[-1]) == (8, "Input should be a valid number (got '3')")


def test_bad_yaml_gives_the_line(tmp_path):
    error = error_for(tmp_path, GOOD.replace("settings: [full, k16]", "settings: [full, k16"))
    assert error.path == tmp_path / "grid.yaml" and error.line == 7
    assert "not valid YAML" in str(error)


def test_duplicates_are_errors(tmp_path):
    error = error_for(tmp_path, GOOD + "out: elsewhere\n")
    assert (error.line, error.loc) == (8, ("out",))
    assert "duplicate key 'out' (also on line 2)" in str(error)
    error = error_for(tmp_path, GOOD + "  - {models: t5-base, datasets: cdr, settings: k16, seeds: 1}\n")
    assert (error.line, error.loc) == (8, ("finetune", 1))
    assert "run t5-base__cdr__test__k16__seed1 comes twice (also from finetune[0])" in str(error)


def test_models_file_must_exist_and_a_grid_must_have_runs(tmp_path):
    error = error_for(tmp_path, GOOD.replace(f"models: {MODELS}", "models: nowhere/models.yaml"))
    assert (error.line, error.loc) == (1, ("models",))
    assert f"no such models file: {tmp_path / 'nowhere' / 'models.yaml'}" in str(error)
    error = error_for(tmp_path, "out: runs\n")
    assert "no runs: give at least one `finetune` or `evaluate` block" in str(error)
    with pytest.raises(ConfigError, match="cannot read the experiment file"):
        load_experiment(tmp_path / "absent.yaml")


def test_cli_reports_a_bad_file_with_exit_code_2(capsys, tmp_path):
    spec = write_spec(tmp_path, GOOD.replace("[t5-base,", "[t5-bse,"))
    code, out, err = grid(capsys, spec, "--dry-run")
    assert code == 2 and out == ""
    assert err.startswith(
        f"error: {spec}, line 4: finetune[0].models[0]: Unknown model 't5-bse'. Did you mean 't5-base'?"
    )
