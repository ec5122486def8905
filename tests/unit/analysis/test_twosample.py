"""Gate 2: the conditional-binomial grid mixture and its stored state (Lindon & Malek 2022).

Vectors V3, V4 and V9 were computed independently of this code (docs/references.md).
"""

import json
import math

import numpy as np
import pytest

from roost.analysis import twosample
from roost.analysis.twosample import Tick

FAIL_THRESHOLD = math.log(400)
PASS_THRESHOLD = math.log(100)
FLOOR = 0.001  # kappa = 1, eps = 0.001 (vector V4)


def accumulate(*ticks: tuple[float, float, float, float]) -> twosample.TwoSampleState:
    state = twosample.start()
    for tick in ticks:
        state = twosample.update(state, Tick(*tick))
    return state


# Vector V3, grid checks
def test_default_grid_matches_reference_weights_and_ratios() -> None:
    grid = twosample.DEFAULT_GRID
    weights = np.exp(grid.log_weights())
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert weights[0] == pytest.approx(0.040656, abs=1e-6)
    assert weights[-1] == pytest.approx(1.035e-6, rel=1e-3)
    assert np.exp(-0.5 * grid.log_offsets() ** 2).sum() == pytest.approx(24.566189, abs=1e-6)
    assert grid.fail_ratios()[0] == pytest.approx(1.051271, abs=1e-6)
    assert grid.fail_ratios()[-1] == pytest.approx(99.484, abs=1e-3)
    assert grid.pass_ratios().min() == pytest.approx(0.015078, abs=1e-6)


# Vector V3: ticks (dn_c, dx_c, dn_s, dx_s); r_F = 1, r_P = 1.5, delta 0.05, J 92
V3 = {
    "T1": ([(300, 0, 2700, 0)], 0.0000, 0.0000),
    "T2": ([(300, 1, 2700, 0)], 0.7689, -0.6107),
    "T3": ([(300, 5, 2700, 3)], 4.2976, -1.7636),
    "T4": ([(300, 15, 2700, 2)], 22.3209, -3.0929),
    "T5": ([(300, 1, 2700, 1)] * 10, 8.0470, -2.4232),
    "T6": ([(300, 2, 2700, 3), (750, 3, 2250, 2), (1500, 6, 1500, 3)], 2.2456, -1.7457),
    "T7": ([(300, 0, 2700, 2)] * 20, -1.9206, 3.8513),
    "T8": ([(1500, 1, 1500, 1)] * 40, -1.5949, 0.6976),
    "T9": ([(300, 12, 2700, 28)], 4.9606, -2.3342),
}


@pytest.mark.parametrize("case", V3)
def test_fail_and_relative_pass_evidence_match_reference_vectors(case: str) -> None:
    ticks, ln_e_fail, ln_e_pass_relative = V3[case]
    state = accumulate(*ticks)
    assert twosample.ln_e_fail(state) == pytest.approx(ln_e_fail, abs=1e-4)
    assert twosample.ln_e_pass_relative(state) == pytest.approx(ln_e_pass_relative, abs=1e-4)


def test_only_t4_and_t5_cross_the_fail_threshold() -> None:
    # Vector V3 verdict column (T9: E_F = 143 < 400 stays inconclusive)
    failing = {
        case
        for case, (ticks, _, _) in V3.items()
        if twosample.ln_e_fail(accumulate(*ticks)) >= FAIL_THRESHOLD
    }
    assert failing == {"T4", "T5"}


# Vector V4: pass with the absolute floor (kappa = 1, floor 0.001, a0 = 0.5)
@pytest.mark.parametrize(
    ("case", "ln_e_pass_absolute", "ln_e_pass", "passes"),
    [("T7", 5.1016, 4.6603, True), ("T8", 1.7796, 1.3783, False)],
)
def test_absolute_floor_averages_with_relative_pass(
    case: str, ln_e_pass_absolute: float, ln_e_pass: float, passes: bool
) -> None:
    state = accumulate(*V3[case][0])
    absolute = twosample.ln_e_pass_absolute(state, floor_bad_ratio=FLOOR)
    combined = twosample.ln_e_pass(state, floor_bad_ratio=FLOOR)
    assert absolute == pytest.approx(ln_e_pass_absolute, abs=1e-4)
    assert combined == pytest.approx(ln_e_pass, abs=1e-4)
    assert (combined >= PASS_THRESHOLD) is passes


def test_canary_totals_for_the_floor_are_cumulative_over_all_ticks() -> None:
    # Vector V4: T7 is n = 6,000, x = 0; T8 is n = 60,000, x = 40.
    t7, t8 = accumulate(*V3["T7"][0]), accumulate(*V3["T8"][0])
    assert (t7.canary_requests, t7.canary_bad) == (6_000, 0)
    assert (t8.canary_requests, t8.canary_bad) == (60_000, 40)


# Vector V9: pooling across a change of split
def test_per_tick_shares_see_no_evidence_where_pooling_would_roll_back() -> None:
    per_tick = accumulate((1000, 1, 9000, 9), (5000, 100, 5000, 100))
    pooled = accumulate((6000, 101, 14000, 109))
    assert twosample.ln_e_fail(per_tick) == pytest.approx(-2.1089, abs=1e-4)
    assert twosample.ln_e_fail(pooled) == pytest.approx(13.5042, abs=1e-4)
    assert twosample.ln_e_fail(per_tick) < FAIL_THRESHOLD < twosample.ln_e_fail(pooled)


@pytest.mark.parametrize(
    ("tick", "reason"),
    [
        ((0, 0, 3000, 5), "no canary requests"),
        ((300, 0, 0, 0), "no stable requests"),
        ((300, 0, 2700, 0), "no bad requests in either arm"),
    ],
)
def test_uninformative_ticks_add_no_evidence_but_count_requests(
    tick: tuple[float, float, float, float], reason: str
) -> None:
    before = accumulate((300, 5, 2700, 3))
    after = twosample.update(before, Tick(*tick))
    assert after.fail_log_likelihood == before.fail_log_likelihood, reason
    assert after.pass_log_likelihood == before.pass_log_likelihood, reason
    assert after.informative_ticks == before.informative_ticks
    assert after.canary_requests == before.canary_requests + tick[0]
    assert after.stable_bad == before.stable_bad + tick[3]


def test_a_new_revision_starts_with_no_evidence() -> None:
    state = twosample.start()
    assert twosample.ln_e_fail(state) == 0.0
    assert twosample.ln_e_pass_relative(state) == 0.0
    assert len(state.fail_log_likelihood) == len(state.pass_log_likelihood) == 92


def test_update_leaves_the_previous_state_untouched() -> None:
    before = twosample.start()
    after = twosample.update(before, Tick(300, 15, 2700, 2))
    assert twosample.ln_e_fail(before) == 0.0
    assert twosample.ln_e_fail(after) > FAIL_THRESHOLD


def test_state_survives_a_json_round_trip_bit_for_bit() -> None:
    state = accumulate(*V3["T6"][0])
    restored = twosample.TwoSampleState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert twosample.ln_e_fail(restored) == twosample.ln_e_fail(state)


def test_an_operator_restart_mid_rollout_continues_the_same_test() -> None:
    ticks = [Tick(300, 2, 2700, 3), Tick(750, 3, 2250, 2), Tick(1500, 6, 1500, 3)]
    uninterrupted = twosample.start()
    for tick in ticks:
        uninterrupted = twosample.update(uninterrupted, tick)
    restarted = twosample.update(twosample.start(), ticks[0])
    for tick in ticks[1:]:
        # Each reconcile reads status, updates, writes status back.
        stored = json.loads(json.dumps(restarted.to_dict()))
        restarted = twosample.update(twosample.TwoSampleState.from_dict(stored), tick)
    assert restarted == uninterrupted


def test_stored_state_omits_an_unknown_share_instead_of_writing_null() -> None:
    # A JSON merge patch deletes keys set to null; absence is the honest encoding.
    stored = twosample.start().to_dict()
    assert "lastCanaryShare" not in stored
    assert twosample.TwoSampleState.from_dict(stored).last_canary_share is None


def test_stored_state_accepts_integers_where_floats_were_written() -> None:
    stored = json.loads(json.dumps(accumulate((300, 1, 2700, 0)).to_dict()))
    stored["canaryRequests"] = 300  # what an API server may hand back for 300.0
    stored["grid"]["failTolerance"] = 1
    restored = twosample.TwoSampleState.from_dict(stored)
    assert isinstance(restored.canary_requests, float)
    assert restored == accumulate((300, 1, 2700, 0))


def test_stored_state_with_a_vector_of_the_wrong_length_is_refused() -> None:
    stored = json.loads(json.dumps(twosample.start().to_dict()))
    stored["failLogLikelihood"] = stored["failLogLikelihood"][:10]
    with pytest.raises(ValueError, match="fail_log_likelihood"):
        twosample.TwoSampleState.from_dict(stored)


def test_stored_state_with_negative_totals_is_refused() -> None:
    stored = json.loads(json.dumps(twosample.start().to_dict()))
    stored["canaryRequests"] = -5
    with pytest.raises(ValueError, match="canary_requests"):
        twosample.TwoSampleState.from_dict(stored)


def test_the_grid_travels_with_the_state() -> None:
    grid = twosample.RateRatioGrid(pass_tolerance=2.0, sigma=0.5)
    state = twosample.update(twosample.start(grid), Tick(300, 0, 2700, 2))
    restored = twosample.TwoSampleState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored.grid == grid
    assert twosample.ln_e_pass_relative(restored) == twosample.ln_e_pass_relative(state)


def test_last_canary_share_is_the_observed_split_of_the_last_tick() -> None:
    state = accumulate((300, 0, 2700, 0), (1500, 0, 1500, 0), (0, 0, 100, 0))
    assert state.last_canary_share == pytest.approx(0.5)


def test_tick_log_likelihood_broadcasts_over_runs_and_grid() -> None:
    grid = twosample.DEFAULT_GRID
    canary_bad = np.array([[1.0], [5.0]])
    bad = np.array([[1.0], [8.0]])
    share = np.array([[0.1], [0.1]])
    step = twosample.tick_log_likelihood(grid.fail_ratios(), 1.0, canary_bad, bad, share)
    assert step.shape == (2, 92)
    one = twosample.update(twosample.start(), Tick(300, 5, 2700, 3))
    assert step[1] == pytest.approx(np.asarray(one.fail_log_likelihood), abs=1e-12)


@pytest.mark.parametrize(
    "tick",
    [(300, 301, 2700, 0), (300, 0, 2700, -1), (-1, 0, 2700, 0), (math.nan, 0, 2700, 0)],
)
def test_impossible_increments_are_refused(tick: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match=r"canary|stable"):
        Tick(*tick)


def test_a_grid_without_points_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        twosample.RateRatioGrid(size=0)
