"""Experiment grids (experiments/*.yaml): the file format and its expansion into runs, and the grid command."""

from bre_core.experiments.grid import GridCounts, GridResult, grid_counts, plan_grid, run_grid, select_runs
from bre_core.experiments.spec import Experiment, PlannedRun, format_number, load_experiment, study_epochs

__all__ = [
    "Experiment",
    "GridCounts",
    "GridResult",
    "PlannedRun",
    "format_number",
    "grid_counts",
    "load_experiment",
    "plan_grid",
    "run_grid",
    "select_runs",
    "study_epochs",
]
