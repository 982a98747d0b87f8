"""The dashboard's numbers from run folders: leaderboard over seeds, paired differences, few-shot curves, per-class F1."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd

from bre_core.errors import BreError
from bre_core.runs import Run, same_documents, shared_protocol
from bre_core.scoring import paired_bootstrap
from bre_core.settings import PEFT_METHODS, parse_setting
from bre_core.tasks import PROTOCOLS

# One row per model, dataset, split and setting; the seeds of a setting are summarised, never mixed across splits.
GROUP = ["model", "domain", "ift", "dataset", "split", "setting"]
LEADERBOARD_COLUMNS = GROUP + ["micro_f1", "micro_f1_sd", "micro_f1_low", "micro_f1_high"]
LEADERBOARD_COLUMNS += ["macro_f1", "macro_f1_sd", "seeds", "micro", "macro"]
# Student's t 97.5% quantile by degrees of freedom: the 95% CI of a mean over a few seeds (normal beyond 30).
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}
# micro-F1 under each protocol, side by side, over the runs scored with it
LEADERBOARD_COLUMNS += [c.format(name) for name in PROTOCOLS for c in ("micro_f1_{}", "micro_f1_{}_sd", "micro_{}")]
LEADERBOARD_COLUMNS += ["recall_above_1", "parse_failures", "documents", "first_run", "gpu_s_per_1k"]
# Beside the protocol's score: mean hallucination rate and relaxed F1 over the runs that record them.
LEADERBOARD_COLUMNS += ["hallucination_rate", "relaxed_f1"]  # empty (NaN) for runs written before they were
DIFFERENCE_COLUMNS = ["pair", "a", "b", "dataset", "split", "setting", "seed", "a_f1", "b_f1", "difference"]
DIFFERENCE_COLUMNS += ["low", "high", "documents", "protocol"]
CURVE_COLUMNS = ["model", "domain", "ift", "dataset", "split", "setting", "k", "micro_f1", "sd", "seeds", "method"]
CLASS_COLUMNS = GROUP + ["seed", "label", "precision", "recall", "f1", "tp", "fp", "fn", "support"]


def setting_order(setting) -> float:
    """Where a setting sits on the few-shot axis: zero-shot 0, kN N, full last (inf); anything else NaN.

    >>> [setting_order(s) for s in ("zero-shot", "k16", "full")]
    [0.0, 16.0, inf]
    """
    setting = str(setting)
    if setting == "zero-shot":
        return 0.0
    if setting == "full":
        return math.inf
    if setting.startswith("icl-k") and setting[5:].isdigit():  # in-context demonstrations: its own curve
        return float(setting[5:])
    try:
        plan = parse_setting(setting)
    except BreError:
        return math.nan
    return math.inf if plan.k is None else float(plan.k)


def setting_method(setting) -> str:
    """How a setting's k is used: 'finetuning' (the study), 'lora' / 'qlora' (adapters), 'in-context' (icl-kN
    demonstrations) or 'zero-shot' (the start of every curve).

    >>> [setting_method(s) for s in ("k16", "lora-k64", "icl-k4", "zero-shot")]
    ['finetuning', 'lora', 'in-context', 'zero-shot']
    """
    setting = str(setting)
    if setting == "zero-shot":
        return "zero-shot"
    if setting.startswith("icl-"):
        return "in-context"
    return next((method for method in PEFT_METHODS if setting.startswith(f"{method}-")), "finetuning")


def question_pairs(pairs: dict, question: str) -> list[tuple[str, str]]:
    """The pairs of a question: its own group, then the groups that extend it (`llm_rq1` extends `rq1`)."""
    groups = [question] + sorted(name for name in pairs if name.endswith(f"_{question}"))
    return [tuple(pair) for group in groups for pair in pairs.get(group, [])]


def setting_rank(setting) -> float:
    """Tables list full data first (the study's main comparison), then zero-shot and k ascending."""
    return -1.0 if setting == "full" else setting_order(setting)


def data_label(dataset: str, split: str) -> str:
    """'chemprot', or 'chemprot (validation)' for runs not on the test split, which the study reports."""
    return str(dataset) if split == "test" else f"{dataset} ({split})"


def format_mean(mean: float, sd: float, n: int) -> str:
    """'0.612' for one seed, '0.612 ± 0.031 (n=5)' for several."""
    if mean is None or pd.isna(mean):
        return ""
    return f"{mean:.3f}" if n <= 1 or pd.isna(sd) else f"{mean:.3f} ± {sd:.3f} (n={n})"


def identity(run: Run) -> tuple:
    """(model, dataset, split, setting, seed) from the manifest; seed None (zero-shot) stays None, not NaN."""
    manifest = run.manifest
    return manifest.model_label, manifest.get("dataset"), manifest.get("split"), manifest.setting, manifest.seed


def unique_runs(runs: Sequence[Run]) -> tuple[list[Run], list[str]]:
    """The first run of each model, dataset, split, setting and seed; a warning for each duplicate dropped.

    The same run can sit in assets/results and in $BRE_RUNS_DIR; counting it twice would fake a second seed.
    """
    kept, seen, warnings = [], {}, []
    for run in runs:
        key = identity(run)
        if key in seen:
            warnings.append(f"{run.path}: same model, dataset, split, setting and seed as {seen[key]}; not counted.")
            continue
        seen[key] = run.path
        kept.append(run)
    return kept, warnings


def seen_under(runs: Sequence[Run], protocol: str) -> tuple[list[Run], list[Run]]:
    """(each run under `protocol`, the runs not scored with it): those stay as they are, i.e. under their
    headline (the corrected protocol for runs written before protocols)."""
    seen, kept = [], []
    for run in runs:
        under = run.under(protocol)
        seen.append(under if under is not None else run)
        if under is None:
            kept.append(run)
    return seen, kept


def recall_above_1(runs: Sequence[Run]) -> list[tuple[Run, str, float]]:
    """(run, protocol, recall) where a run's recall exceeds 1: the study's CDR matching counts two spellings of
    one gold pair as two true positives, so its FN can go negative."""
    found = []
    for run in runs:
        # From the metrics blocks: seeing every run under every protocol would rebuild all its records.
        for name, block in (dict(run.scores) or {run.protocol: run.metrics}).items():
            recall = (block.get("micro") or {}).get("recall")
            if recall is not None and recall > 1:
                found.append((run, name, recall))
    return found


def mean_ci(mean: float, sd: float, n: int) -> tuple[float, float]:
    """The 95% t interval of a mean F1 over n seeds, kept within [0, 1] (NaN for one seed: no spread to go by).

    >>> [round(v, 3) for v in mean_ci(0.5, 0.1, 5)]
    [0.376, 0.624]
    >>> mean_ci(0.5, 0.7071, 2)  # two seeds that disagree: the interval is the whole range
    (0.0, 1.0)
    """
    if n is None or n < 2 or pd.isna(sd):
        return math.nan, math.nan
    half = T_975.get(n - 1, 2.0 if n <= 31 else 1.96) * sd / math.sqrt(n)
    return max(0.0, mean - half), min(1.0, mean + half)


def _format_counted(mean, sd, n: int, seeds: int) -> str:
    """format_mean, saying n when fewer seeds than the row's have this number (runs without the protocol)."""
    text = format_mean(mean, sd, n)
    return f"{text} (n={n})" if text and n == 1 < seeds else text


def leaderboard(table: pd.DataFrame) -> pd.DataFrame:
    """Runs (a runs_table) summarised over seeds: means, sample sd (ddof=1), seed count and readable 'mean ± sd (n)'.

    micro_f1 / macro_f1 are the table's own (one protocol per run); micro_f1_<protocol> summarise each protocol's
    micro-F1 over the runs scored with it (empty for a row none of whose runs has it); recall_above_1 counts the
    runs of a row whose recall under some protocol exceeds 1.
    """
    if table.empty:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    table = table.assign(_above=(table[[f"recall_{name}" for name in PROTOCOLS]] > 1).any(axis=1))
    for column in ("hallucination_rate", "relaxed_f1"):  # numbers, empty (NaN) where a run does not record them
        values = table[column] if column in table else None
        table = table.assign(**{column: pd.to_numeric(values, errors="coerce") if values is not None else math.nan})
    by_protocol = {}
    for name in PROTOCOLS:
        column = f"micro_f1_{name}"
        by_protocol |= {column: (column, "mean"), f"{column}_sd": (column, "std"), f"_n_{name}": (column, "count")}
    grouped = table.groupby(GROUP, dropna=False, sort=False)
    board = grouped.agg(
        micro_f1=("micro_f1", "mean"),
        micro_f1_sd=("micro_f1", "std"),
        macro_f1=("macro_f1", "mean"),
        macro_f1_sd=("macro_f1", "std"),
        seeds=("micro_f1", "size"),
        **by_protocol,
        recall_above_1=("_above", "sum"),
        parse_failures=("parse_failures", "mean"),
        documents=("documents", "max"),
        first_run=("run", "first"),
        gpu_s_per_1k=("gpu_s_per_1k", "mean"),
        hallucination_rate=("hallucination_rate", "mean"),
        relaxed_f1=("relaxed_f1", "mean"),
    ).reset_index()
    intervals = [mean_ci(*v) for v in zip(board.micro_f1, board.micro_f1_sd, board.seeds)]
    board["micro_f1_low"], board["micro_f1_high"] = [i[0] for i in intervals], [i[1] for i in intervals]
    board["micro"] = [format_mean(*v) for v in zip(board.micro_f1, board.micro_f1_sd, board.seeds)]
    board["macro"] = [format_mean(*v) for v in zip(board.macro_f1, board.macro_f1_sd, board.seeds)]
    for name in PROTOCOLS:
        values = zip(board[f"micro_f1_{name}"], board[f"micro_f1_{name}_sd"], board[f"_n_{name}"], board.seeds)
        board[f"micro_{name}"] = [_format_counted(*v) for v in values]
    board["recall_above_1"] = board.recall_above_1.astype(int)
    board["_order"] = board.setting.map(setting_rank)
    board = board.sort_values(
        ["dataset", "split", "_order", "setting", "micro_f1", "model"], ascending=[True, True, True, True, False, True]
    )
    return board[LEADERBOARD_COLUMNS].reset_index(drop=True)


def filter_rows(frame: pd.DataFrame, **allowed: Iterable | None) -> pd.DataFrame:
    """Rows whose column values are among the allowed ones; an empty or None selection keeps every row."""
    keep = pd.Series(True, index=frame.index)
    for column, values in allowed.items():
        if values:
            keep &= frame[column].astype(str).isin([str(v) for v in values])
    return frame[keep]


def matched_pairs(
    runs: Sequence[Run],
    pairs: Sequence[Sequence[str]],
    settings: Iterable[str] | None = None,
    protocol: str | None = None,
) -> tuple[list[tuple], list[str], list[str]]:
    """([(pair order, A, B, dataset, split, setting, seed, run A, run B, protocol used)], skipped, notes).

    Both runs of a pair are over the same documents and seen under one protocol (shared_protocol: `protocol`,
    default A's, where both hold it); a pair compared under another one is a note, one not comparable skipped.
    """
    index = {}
    for run in runs:
        index.setdefault(identity(run), run)
    wanted = set(settings) if settings is not None else None
    found, skipped, notes = [], [], []
    for order, (name_a, name_b) in enumerate(pairs):
        for (model, dataset, split, setting, run_seed), run_a in index.items():
            if model != name_a or (wanted is not None and setting not in wanted):
                continue
            run_b = index.get((name_b, dataset, split, setting, run_seed))
            if run_b is None:
                continue
            try:
                same = same_documents(run_a, run_b)
            except BreError as exc:  # a predictions file found damaged only now (the app reads them lazily)
                skipped.append(f"{exc} Not compared.")
                continue
            if not same:
                skipped.append(f"{run_a.path} and {run_b.path} are over different documents; not compared.")
                continue
            used = shared_protocol(run_a, run_b, protocol)
            if used is None:
                skipped.append(f"{run_a.path} and {run_b.path} share no scoring protocol; not compared.")
                continue
            if used != (protocol or run_a.protocol):
                notes.append(f"{run_a.name} and {run_b.name}: compared under the {used} protocol, the one both hold.")
            found.append(
                (order, name_a, name_b, dataset, split, setting, run_seed, run_a.under(used), run_b.under(used), used)
            )
    return found, skipped, notes


def pair_differences(
    runs: Sequence[Run],
    pairs: Sequence[Sequence[str]],
    *,
    settings: Iterable[str] | None = None,
    samples: int = 1000,
    seed: int = 0,
    protocol: str | None = None,
) -> pd.DataFrame:
    """Micro-F1 of B − A for each [A, B] pair with runs on the same dataset, split, setting and seed.

    Pairs are matched by matched_pairs (one protocol per pair; notes and skipped pairs in `frame.attrs`). The CI
    is the paired percentile bootstrap over documents (scoring.paired_bootstrap's numbers, `seed` fixed so the
    chart is the same on every load). Full-data rows come first.
    """
    found, skipped, notes = matched_pairs(runs, pairs, settings, protocol)
    rows = []
    for order, name_a, name_b, dataset, split, setting, run_seed, run_a, run_b, used in found:
        difference, low, high = paired_bootstrap(run_a.counts(), run_b.counts(), samples=samples, seed=seed)
        rows.append(
            {
                "pair": f"{name_b} − {name_a}",
                "a": name_a,
                "b": name_b,
                "dataset": dataset,
                "split": split,
                "setting": setting,
                "seed": run_seed,
                "a_f1": run_a.metrics.get("micro", {}).get("f1"),
                "b_f1": run_b.metrics.get("micro", {}).get("f1"),
                "difference": difference,
                "low": low,
                "high": high,
                "documents": len(run_a.counts()),
                "protocol": used,
                "_pair": order,
                "_setting": setting_rank(setting),
            }
        )
    frame = pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS + ["_pair", "_setting"])
    frame = frame.sort_values(["_setting", "setting", "dataset", "split", "_pair", "seed"], na_position="last")
    frame = frame[DIFFERENCE_COLUMNS].reset_index(drop=True)
    frame.attrs["skipped"] = skipped
    frame.attrs["notes"] = notes
    return frame


def few_shot_curve(table: pd.DataFrame) -> pd.DataFrame:
    """Mean micro-F1 and sample sd over seeds by model, dataset and setting, ordered by k (zero-shot 0, full inf)."""
    if table.empty:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    frame = table.assign(k=table.setting.map(setting_order))
    frame = frame[frame.k.notna()]  # settings with no place on the k axis
    curve = (
        frame.groupby(GROUP + ["k"], dropna=False, sort=False)
        .agg(micro_f1=("micro_f1", "mean"), sd=("micro_f1", "std"), seeds=("micro_f1", "size"))
        .reset_index()
    )
    curve["method"] = curve.setting.map(setting_method)
    curve = curve.sort_values(["dataset", "split", "model", "method", "k"])
    return curve[CURVE_COLUMNS].reset_index(drop=True)


def per_class(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run and class: P/R/F1 and counts from metrics.json, support = gold relations (tp + fn); precision
    is empty (not 0) where the run predicted nothing of the class."""
    rows = []
    for run in runs:
        model, dataset, split, setting, seed = identity(run)
        spec = run.manifest.get("model", {})
        about = {"model": model, "domain": spec.get("domain"), "ift": spec.get("ift"), "dataset": dataset}
        about |= {"split": split, "setting": setting, "seed": seed}
        for label, scores in (run.metrics.get("per_class") or {}).items():
            tp, fp, fn = (int(scores.get(key, 0)) for key in ("tp", "fp", "fn"))
            rows.append(
                {
                    **about,
                    "label": label,
                    "precision": scores.get("precision") if tp + fp else None,  # nothing predicted: no precision
                    "recall": scores.get("recall"),
                    "f1": scores.get("f1"),
                    "tp": tp,
                    "fp": fp,
                    "fn": fn,
                    "support": tp + fn,
                }
            )
    return pd.DataFrame(rows, columns=CLASS_COLUMNS)


def per_class_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-class F1 averaged over seeds (mean, sample sd, seed count), classes in their metrics order."""
    columns = GROUP + ["label", "f1", "sd", "seeds", "support"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    summary = (
        frame.groupby(GROUP + ["label"], dropna=False, sort=False)
        .agg(f1=("f1", "mean"), sd=("f1", "std"), seeds=("f1", "size"), support=("support", "max"))
        .reset_index()
    )
    return summary[columns]
