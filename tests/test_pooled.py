"""Seeds pooled in the RQ charts: pooled.pooled_bootstrap's mean and CI, and analysis.mean_ci's seed interval."""

import numpy as np
import pytest

from bre_core.analysis import mean_ci
from bre_core.pooled import pooled_bootstrap
from bre_core.scoring import paired_bootstrap


def counts(rows):
    return np.array(rows, dtype=np.int64)


# 40 documents, one gold relation each: A finds none of them, B finds all of them.
NOTHING = counts([[0, 0, 1]] * 40)
EVERYTHING = counts([[1, 0, 0]] * 40)


def test_one_seed_is_the_paired_bootstrap():
    a = counts([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]] * 5)
    b = counts([[1, 0, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]] * 5)
    assert pooled_bootstrap([(a, b)], samples=300, seed=3) == pytest.approx(paired_bootstrap(a, b, 300, 3))


def test_seeds_are_averaged_and_a_clear_gain_excludes_0():
    # seed 0: B − A = 1 on every document; seed 1: both find everything, B − A = 0: mean 0.5
    difference, low, high = pooled_bootstrap([(NOTHING, EVERYTHING), (EVERYTHING, EVERYTHING)], samples=400)
    assert difference == 0.5
    # the seeds are drawn too: a sample may hold seed 0 twice (1), seed 1 twice (0) or both (0.5)
    assert (low, high) == (0.0, 1.0)
    same = pooled_bootstrap([(NOTHING, EVERYTHING)] * 3, samples=400)
    assert same == (1.0, 1.0, 1.0)  # every seed and document agrees: the CI excludes 0


def test_seed_interval_is_within_0_and_1():
    assert [round(v, 3) for v in mean_ci(0.5, 0.1, 5)] == [0.376, 0.624]  # t(4) = 2.776
    assert mean_ci(0.5, 0.7071, 2) == (0.0, 1.0)
    assert all(np.isnan(mean_ci(0.5, float("nan"), 1)))
