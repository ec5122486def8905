"""The two-sample test's cached grid arrays and its logsumexp give scipy's numbers exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from roost.analysis import twosample
from roost.analysis.twosample import RateRatioGrid, logsumexp


def _scipy_grid(grid: RateRatioGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arrays as they were computed before the cache, with scipy."""
    offsets = grid.log_offsets()
    unnormalized = -0.5 * (offsets / grid.sigma) ** 2
    return (
        unnormalized - float(special.logsumexp(unnormalized)),
        grid.fail_tolerance * np.exp(offsets),
        grid.pass_tolerance * np.exp(-offsets),
    )


@pytest.mark.parametrize(
    "grid",
    [
        RateRatioGrid(),
        RateRatioGrid(pass_tolerance=1.2),
        RateRatioGrid(fail_tolerance=1.1, pass_tolerance=2.0, step=0.1, size=40, sigma=0.5),
    ],
)
def test_cached_grid_arrays_are_the_computed_ones(grid: RateRatioGrid) -> None:
    weights, fail, passing = _scipy_grid(grid)
    for _ in range(2):  # computed, then from the cache
        assert grid.log_weights().tolist() == weights.tolist()
        assert grid.fail_ratios().tolist() == fail.tolist()
        assert grid.pass_ratios().tolist() == passing.tolist()


def test_each_grid_has_its_own_arrays_and_callers_cannot_change_them() -> None:
    narrow, wide = RateRatioGrid(pass_tolerance=1.2), RateRatioGrid(pass_tolerance=2.0)
    assert narrow.pass_ratios().tolist() != wide.pass_ratios().tolist()
    assert len(RateRatioGrid(size=10).log_weights()) == 10
    mine = narrow.log_weights()
    mine[:] = 0.0
    assert narrow.log_weights().tolist() == _scipy_grid(narrow)[0].tolist()


def _vectors() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(3000):
        size = int(rng.integers(1, 200))
        scale = 10 ** rng.uniform(-3, 3.5)
        a = rng.normal(0.0, scale, size) + rng.normal(0.0, scale)
        if i % 5 == 0:
            a[rng.integers(0, size, 3)] = a.max()  # several maxima
        if i % 7 == 0:
            a = np.round(a)
        if i % 11 == 0:
            a[rng.integers(0, size)] = -np.inf
        out.append(a)
    edge = [[np.inf, 1.0], [-np.inf, -np.inf], [np.nan, 1.0], [1e308, 1e308], [0.0], [-745.2]]
    return out + [np.array(e) for e in edge]


def test_logsumexp_is_scipys_bit_for_bit() -> None:
    for a in _vectors():
        expected = float(special.logsumexp(a))
        got = logsumexp(a)
        assert got == expected or (math.isnan(got) and math.isnan(expected)), a
    assert logsumexp(np.array([])) == float(special.logsumexp(np.array([])))


def test_the_mixtures_are_scipys_on_accumulated_evidence() -> None:
    state = twosample.start(RateRatioGrid(pass_tolerance=1.5))
    rng = np.random.default_rng(3)
    for _ in range(60):
        n_c, n_s = float(rng.integers(1, 500)), float(rng.integers(1, 5000))
        tick = twosample.Tick(
            canary_requests=n_c,
            canary_bad=float(rng.binomial(int(n_c), 0.02)),
            stable_requests=n_s,
            stable_bad=float(rng.binomial(int(n_s), 0.01)),
        )
        state = twosample.update(state, tick)
        weights = _scipy_grid(state.grid)[0]
        if state.informative_ticks:
            assert twosample.ln_e_fail(state) == float(
                special.logsumexp(weights + np.asarray(state.fail_log_likelihood))
            )
            assert twosample.ln_e_pass_relative(state) == float(
                special.logsumexp(weights + np.asarray(state.pass_log_likelihood))
            )
