"""Experiment grids (experiments/*.yaml): the file format and its expansion into runs, and the grid command."""

from bre_core.experiments.grid import grid_command, run_grid, select_runs
from bre_core.experiments.spec import Experiment, PlannedRun, load_experiment, study_epochs

__all__ = ["Experiment", "PlannedRun", "grid_command", "load_experiment", "run_grid", "select_runs", "study_epochs"]
