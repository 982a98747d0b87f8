"""The Dashboard's data: the runs of the folders, and what is computed from them per scoring protocol, kept per load."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bre_core import analysis, pooled
from bre_core.config import ModelsFile, load_models_file
from bre_core.runs import Run, find_runs, runs_table
from bre_core.tasks import HEADLINE
from bre_core.ui import dashboard_figures as figures


@dataclass(frozen=True)
class ProtocolView:
    """The runs seen under one protocol (those not scored with it as they are) and their summaries."""

    protocol: str
    runs: list[Run]
    kept: list[Run]  # not scored with the protocol: seen under their own (corrected, for runs before protocols)
    board: pd.DataFrame
    curve: pd.DataFrame
    classes: pd.DataFrame  # per-class F1 summarised over seeds


@dataclass
class DashboardData:
    """The runs of the folders and what is computed from them once per (re)load, per protocol when first asked."""

    folders: list[str]
    runs: list[Run]
    warnings: list[str]
    pairs: dict[str, list]
    colours: dict[str, str]
    about: dict[str, tuple]  # model -> (domain, ift)
    samples: int = 1000
    # Filled when first asked for (or by the warm-up), then kept for this load. One computation at a time: a click
    # that needs what the warm-up is computing waits for it instead of computing it again.
    _views: dict = field(default_factory=dict)
    _differences: dict = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _warming: threading.Thread | None = field(default=None, repr=False)

    def view(self, protocol: str = HEADLINE) -> ProtocolView:
        with self._lock:
            return self._view(protocol)

    def _view(self, protocol: str) -> ProtocolView:
        if protocol not in self._views:
            runs, kept = analysis.seen_under(self.runs, protocol)
            table = runs_table(runs)
            self._views[protocol] = ProtocolView(
                protocol,
                runs,
                kept,
                board=analysis.leaderboard(table),
                curve=analysis.few_shot_curve(table),
                classes=analysis.per_class_summary(analysis.per_class(runs)),
            )
        return self._views[protocol]

    @property
    def board(self) -> pd.DataFrame:
        """The leaderboard's rows (the same under every protocol; the headline's numbers)."""
        return self.view().board

    def differences(self, question: str, setting: str | None, protocol: str = HEADLINE) -> pd.DataFrame:
        """Paired differences of one question, setting and protocol, pooled over seeds (pooled.pooled_differences),
        bootstrapped when first asked for, then kept."""
        key = (question, setting, protocol)
        with self._lock:
            if key not in self._differences:
                settings = None if setting is None else [setting]
                pairs = analysis.question_pairs(self.pairs, question)  # rq1 with the LLM pairs of llm_rq1
                self._differences[key] = pooled.pooled_differences(
                    self.runs, pairs, settings=settings, samples=self.samples, protocol=protocol
                )
            return self._differences[key]

    def warm(self, first: str = HEADLINE) -> None:
        """Compute what the other controls show, one table at a time: each protocol's view, then every setting's
        RQ differences, the `first` protocol's first (what a click on the RQ setting or the protocol needs)."""
        from bre_core.tasks import PROTOCOLS

        protocols = [first, *(name for name in PROTOCOLS if name != first)]
        for protocol in protocols:
            self.view(protocol)
        for protocol in protocols:
            for setting in choices(self)["settings"]:
                for question in ("rq1", "rq2"):
                    self.differences(question, setting, protocol)

    def start_warming(self, first: str = HEADLINE) -> threading.Thread:
        """Run `warm` once per load in a background thread (after the first render: it never delays one)."""
        with self._lock:
            if self._warming is None:
                self._warming = threading.Thread(target=self.warm, args=(first,), name="dashboard-warm", daemon=True)
                self._warming.start()
            return self._warming


def load_data(folders, models: ModelsFile | None = None, samples: int = 1000, reader=None) -> DashboardData:
    """Read every complete run under `folders` (skipped folders become warnings) and describe its models.

    `reader` (the app context's) keeps runs read before; without one every folder is read afresh."""
    folders = [str(f) for f in ([folders] if isinstance(folders, (str, Path)) else folders) if f]
    models = models or load_models_file()
    found, warnings = find_runs(*folders, reader=reader)
    runs, duplicates = analysis.unique_runs(found)
    table = runs_table(runs)
    about = {m.name: (m.domain, m.ift) for m in models.models}
    about |= {row.model: (row.domain, row.ift) for row in table.itertuples(index=False)}
    return DashboardData(
        folders=folders,
        runs=runs,
        warnings=warnings + duplicates,
        pairs={k: [tuple(p) for p in v] for k, v in models.pairs.items()},
        colours=figures.model_colours(about),
        about=about,
        samples=samples,
    )


def choices(data: DashboardData) -> dict[str, list[str]]:
    """The values each control can take, from the runs: filters, the RQ setting, the per-class data and setting."""
    board = data.board
    settings = sorted(board.setting.dropna().astype(str).unique(), key=analysis.setting_rank)
    return {
        "datasets": sorted(board.dataset.dropna().astype(str).unique()),
        "settings": settings,
        "domains": sorted(board.domain.dropna().astype(str).unique()),
        "ifts": sorted(board.ift.dropna().astype(str).unique()),
        "data": sorted({analysis.data_label(d, s) for d, s in zip(board.dataset, board.split)}),
    }
