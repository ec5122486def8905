"""The prediction-distribution gate: effect sizes, the multinomial e-process, its error rate.

Vectors: V5 (Lindon & Malek 2022 Dirichlet-multinomial; docs/references.md, "Test
vectors"); effect sizes against scipy; type-I error by the usual recipe (2,000 null runs
x 50 looks, vectorised with
the same ``window_ln_e``/``window_ln_e_plugin`` the operator's ``update`` uses).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import special, stats

from roost.analysis import distribution

RUNS = 2_000
LOOKS = 50
ALPHA = 0.01
ACCEPTABLE = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / RUNS)  # 0.0167
SEED = 20261125
BASE = np.array([0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05])


# Vector V5: (counts, theta0, k, ln BF)
V5 = [
    ((12, 28), (0.1, 0.9), 100, 1.8372),
    ((12, 28), (0.1, 0.9), 10, 3.9195),
    ((12, 28), (0.1, 0.9), 2, 3.6673),
    ((12, 28), (0.1, 0.9), 1, 3.2433),
    ((30, 70), (0.25, 0.75), 100, -0.0529),
    ((5, 5), (0.5, 0.5), 100, -0.0479),
    ((20, 5), (0.5, 0.5), 100, 0.7974),
    ((10_000, 90_000), (0.1, 0.9), 100, -3.463),
    ((9_700, 90_300), (0.1, 0.9), 100, 1.591),
    ((9_500, 90_500), (0.1, 0.9), 100, 10.646),
]


@pytest.mark.parametrize(("counts", "theta", "k", "expected"), V5)
def test_dirichlet_multinomial_bayes_factor_matches_v5(
    counts: tuple[int, int], theta: tuple[float, float], k: float, expected: float
) -> None:
    got = float(distribution.ln_dirichlet_multinomial(counts, theta, k))
    assert got == pytest.approx(expected, abs=1e-3)


CANARY = [30, 120, 260, 310, 180, 70, 30]
STABLE = [50, 100, 200, 300, 200, 100, 50]


def test_psi_equals_the_symmetrised_kl_divergence_from_scipy() -> None:
    q = np.array(CANARY) / sum(CANARY)
    p = np.array(STABLE) / sum(STABLE)
    expected = float(np.sum(special.rel_entr(q, p) + special.rel_entr(p, q)))
    assert distribution.psi(CANARY, STABLE) == pytest.approx(expected, rel=1e-12)


def test_chi_squared_matches_scipy_contingency_without_correction() -> None:
    expected = stats.chi2_contingency(np.array([CANARY, STABLE]), correction=False).statistic
    assert distribution.chi_squared(CANARY, STABLE) == pytest.approx(expected, rel=1e-12)
    w = distribution.cohens_w(CANARY, STABLE)
    assert w == pytest.approx(math.sqrt(expected / (sum(CANARY) + sum(STABLE))))


def test_ks_distance_equals_scipy_ks_on_the_binned_samples() -> None:
    canary = np.repeat(np.arange(len(CANARY)), CANARY)
    stable = np.repeat(np.arange(len(STABLE)), STABLE)
    expected = stats.ks_2samp(canary, stable).statistic
    assert distribution.ks_distance(CANARY, STABLE) == pytest.approx(expected, rel=1e-12)


def test_effect_sizes_are_none_without_observations_in_either_version() -> None:
    for statistic in (distribution.psi, distribution.ks_distance, distribution.chi_squared):
        assert statistic([0, 0, 0], [1, 2, 3]) is None
        assert statistic([1, 2, 3], [0, 0, 0]) is None


def test_psi_floors_an_empty_share_instead_of_dividing_by_zero() -> None:
    value = distribution.psi([0, 50, 50], [10, 45, 45])
    assert value is not None
    assert math.isfinite(value)
    assert value > 0


def test_buckets_empty_in_both_versions_change_nothing() -> None:
    assert distribution.psi([0, *CANARY, 0], [0, *STABLE, 0]) == pytest.approx(
        distribution.psi(CANARY, STABLE)
    )
    assert distribution.chi_squared([0, *CANARY], [0, *STABLE]) == pytest.approx(
        distribution.chi_squared(CANARY, STABLE)
    )
    assert float(distribution.window_ln_e([0, *CANARY], [0, *STABLE])) == pytest.approx(
        float(distribution.window_ln_e(CANARY, STABLE))
    )


def test_bucket_counts_difference_cumulative_le_counts_and_clamp_dips() -> None:
    bounds, counts = distribution.bucket_counts({0.5: 10.2, 0.25: 4.0, math.inf: 9.8, 1.0: 12})
    assert bounds == (0.25, 0.5, 1.0, math.inf)
    assert counts == (4.0, 6.0, 2.0, 0.0)  # the +Inf dip below 1.0 is clamped, not negative


def test_a_window_where_one_version_saw_nothing_carries_no_evidence() -> None:
    assert float(distribution.window_ln_e([0, 0, 0], [5, 6, 7])) == 0.0
    assert float(distribution.window_ln_e([5, 6, 7], [0, 0, 0])) == 0.0
    assert float(distribution.window_ln_e([0, 9, 0], [0, 20, 0])) == 0.0  # one bucket


def _cumulative(counts: list[int], bounds: list[float]) -> dict[float, float]:
    return dict(zip(bounds, np.cumsum(counts).tolist(), strict=True))


BOUNDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, math.inf]


def test_state_round_trips_through_a_json_safe_dict() -> None:
    state = distribution.update(
        distribution.DistributionState(),
        _cumulative(CANARY, BOUNDS),
        _cumulative(STABLE, BOUNDS),
    )
    state = distribution.update(state, _cumulative(CANARY, BOUNDS), _cumulative(STABLE, BOUNDS))
    stored = state.to_dict()
    assert all(math.isfinite(b) for b in stored["bounds"])
    assert distribution.DistributionState.from_dict(stored) == state
    assert state.windows == 2
    assert state.canary_total == 2 * sum(CANARY)


def test_restarting_from_status_gives_the_same_evidence_as_running_on() -> None:
    windows = [(CANARY, STABLE), (STABLE, CANARY), (CANARY, CANARY)]
    straight = distribution.DistributionState()
    for c, s in windows:
        straight = distribution.update(straight, _cumulative(c, BOUNDS), _cumulative(s, BOUNDS))
    restarted = distribution.DistributionState()
    for c, s in windows:
        stored = distribution.DistributionState.from_dict(restarted.to_dict())
        restarted = distribution.update(stored, _cumulative(c, BOUNDS), _cumulative(s, BOUNDS))
    assert restarted.ln_e_combined == pytest.approx(straight.ln_e_combined, rel=1e-12)


def test_missing_data_leaves_the_state_unchanged() -> None:
    state = distribution.DistributionState()
    assert distribution.update(state, None, _cumulative(STABLE, BOUNDS)) == state
    assert distribution.update(state, _cumulative(CANARY, BOUNDS), None) == state


def test_different_bucket_layouts_are_compared_on_the_common_bounds() -> None:
    canary = {0.5: 40.0, 1.0: 60.0, math.inf: 100.0}
    stable = {0.25: 10.0, 0.5: 50.0, math.inf: 100.0}
    state = distribution.update(distribution.DistributionState(), canary, stable)
    assert state.bounds == (0.5, math.inf)
    assert state.canary == (40.0, 60.0)
    assert state.stable == (50.0, 50.0)


def test_unequal_totals_use_each_windows_own_split() -> None:
    """Same distribution, split 10/90 then 50/50: no evidence of a shift (as vector V9)."""
    state = distribution.DistributionState()
    for c_total, s_total in ((100, 900), (5000, 5000)):
        c = (BASE * c_total).round().astype(int).tolist()
        s = (BASE * s_total).round().astype(int).tolist()
        state = distribution.update(state, _cumulative(c, BOUNDS), _cumulative(s, BOUNDS))
    assert state.ln_e_combined < 0


# ---- simulations --------------------------------------------------------------------------


def _paths(
    rng: np.random.Generator, rate: float, weight: float, canary_shares: NDArray[np.float64]
) -> NDArray[np.float64]:
    """ln E (combined) after each look, runs x looks."""
    total = rng.poisson(rate * 30, (RUNS, LOOKS))
    n_c = rng.binomial(total, weight)
    c = rng.multinomial(n_c, canary_shares)
    s = rng.multinomial(total - n_c, BASE)
    mixture = np.cumsum(distribution.window_ln_e(c, s), axis=1)
    before_c = np.cumsum(c, axis=1) - c  # counts before each window: predictable
    before_s = np.cumsum(s, axis=1) - s
    tilt = distribution.plugin_tilt(before_c, before_s)
    plugin = np.cumsum(distribution.window_ln_e_plugin(c, s, tilt), axis=1)
    return distribution.combined_ln_e(mixture, plugin)


@pytest.mark.parametrize(("rate", "weight"), [(1, 0.5), (10, 0.1), (100, 0.1), (1000, 0.5)])
def test_false_alarm_rate_stays_below_alpha_over_50_looks(rate: float, weight: float) -> None:
    rng = np.random.default_rng(SEED)
    ln_e = _paths(rng, rate, weight, BASE)
    rate_ever = float((ln_e >= math.log(1 / ALPHA)).any(axis=1).mean())
    print(f"seed {SEED}: {rate} rps, w {weight}: P(ever cross) = {rate_ever:.4f}")
    assert rate_ever <= ACCEPTABLE


def test_false_alarm_rate_holds_when_the_common_distribution_moves_and_the_split_changes() -> None:
    rng = np.random.default_rng(SEED + 1)
    total = rng.poisson(100 * 30, (RUNS, LOOKS))
    weight = np.where(np.arange(LOOKS) < LOOKS // 2, 0.1, 0.5)[None, :]
    n_c = rng.binomial(total, weight)
    drift = np.linspace(0, 1, LOOKS)[None, :, None]
    shares = np.broadcast_to(BASE * (1 - drift) + BASE[::-1] * drift, (RUNS, LOOKS, len(BASE)))
    c = rng.multinomial(n_c, shares)
    s = rng.multinomial(total - n_c, shares)
    mixture = np.cumsum(distribution.window_ln_e(c, s), axis=1)
    tilt = distribution.plugin_tilt(np.cumsum(c, axis=1) - c, np.cumsum(s, axis=1) - s)
    plugin = np.cumsum(distribution.window_ln_e_plugin(c, s, tilt), axis=1)
    ln_e = distribution.combined_ln_e(mixture, plugin)
    rate_ever = float((ln_e >= math.log(1 / ALPHA)).any(axis=1).mean())
    print(f"seed {SEED + 1}: moving common distribution, split 10%->50%: {rate_ever:.4f}")
    assert rate_ever <= ACCEPTABLE


def _shifted(tilt: float) -> NDArray[np.float64]:
    q = BASE * np.exp(tilt * (np.arange(len(BASE)) - 3))
    result: NDArray[np.float64] = q / q.sum()
    return result


def test_detection_delay_against_shift_size_is_reported() -> None:
    """Report (not assert timings): share of runs detected and median looks to detection."""
    rng = np.random.default_rng(SEED + 2)
    rows = []
    for tilt in (0.1, 0.2, 0.4):
        shares = _shifted(tilt)
        psi = distribution.psi((shares * 1e6).tolist(), (BASE * 1e6).tolist())
        for rate, weight in ((1, 0.5), (10, 0.1), (100, 0.1), (1000, 0.5)):
            crossed = _paths(rng, rate, weight, shares) >= math.log(1 / ALPHA)
            ever = crossed.any(axis=1)
            looks = crossed.argmax(axis=1)[ever] + 1
            median = float(np.median(looks)) if ever.any() else math.nan
            rows.append((psi, rate, weight, float(ever.mean()), median))
    for psi, rate, weight, power, median in rows:
        print(
            f"PSI {psi:.3f}  {rate:>5} rps  w {weight:.1f}: detected {power:.3f}, "
            f"median looks {median}"
        )
    assert rows[-1][3] > 0.99  # a large shift at 1,000 rps is found


def test_judged_effect_sizes_are_corrected_for_noise_at_small_counts() -> None:
    """Without a shift the judged statistic averages near 0 where the raw one is large;
    with a large shift it stays above the conventional band once the counts allow it."""
    rng = np.random.default_rng(11)
    p = np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02])
    moved = np.array([0.02, 0.05, 0.13, 0.2, 0.25, 0.2, 0.1, 0.05])
    raw, judged = [], []
    for _ in range(2000):
        c, s = rng.multinomial(15, p), rng.multinomial(45, p)
        raw.append(distribution.psi(c, s))
        judged.append(distribution.judged("psi", c, s))
    assert np.mean(raw) > 0.8  # noise alone, far above the 0.25 band
    assert np.mean(np.array(judged) >= 0.25) < 0.06
    for statistic, band in (("psi", 0.25), ("ks", 0.1), ("chi2", 0.3)):
        null = [
            distribution.judged(statistic, rng.multinomial(100, p), rng.multinomial(300, p))
            for _ in range(500)
        ]
        shifted = [
            distribution.judged(statistic, rng.multinomial(100, moved), rng.multinomial(300, p))
            for _ in range(500)
        ]
        assert np.mean(np.array(null) >= band) < 0.02, statistic
        assert np.mean(np.array(shifted) >= band) > 0.95, statistic
    assert distribution.judged("psi", [0, 0], [1, 2]) is None
