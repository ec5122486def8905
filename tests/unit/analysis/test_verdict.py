"""How the sequential tests combine into one verdict.

docs/decisions.md, "From tests to a verdict", states the rules; vectors V1 and V3
(docs/references.md) give the numbers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from roost.analysis.outcome import Outcome
from roost.analysis.verdict import analyze
from roost.api.modeldeployment import ArmCounts
from roost.api.slopolicy import PromotionEvidence, SLOPolicySpec
from roost.slo.readings import Counts, Measurements, SLIReading

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = SLOPolicySpec.model_validate(
    {
        "objectives": [
            {"name": "availability", "target": 0.999, "ratio": {"errors": "e", "total": "t"}}
        ],
        "canary": {"maxBurnRate": 2, "confidence": 0.99, "minRequests": 100},
    }
)


def _measure(canary: Counts | None, stable: Counts | None) -> Measurements:
    return Measurements(
        at=NOW, readings=(SLIReading(objective="availability", canary=canary, stable=stable),)
    )


def test_thresholds_split_alpha_over_two_fail_tests_per_objective() -> None:
    verdict = analyze(POLICY, _measure(Counts(10, 0), Counts(100, 0)))
    gate = verdict.gates[0]
    assert gate.fail_threshold == pytest.approx(math.log(200))  # α = 0.01 over 2 tests
    assert gate.pass_threshold == pytest.approx(math.log(100))


def test_prometheus_errors_are_inconclusive_and_keep_the_evidence() -> None:
    first = analyze(POLICY, _measure(Counts(1000, 1), Counts(9000, 9)))
    verdict = analyze(POLICY, Measurements(at=NOW, error="timeout"), first.comparison)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == "MetricsUnavailable"
    assert verdict.comparison == first.comparison
    assert not verdict.has_new_data


def test_absent_series_are_no_data() -> None:
    verdict = analyze(POLICY, _measure(None, None))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.reason == "NoData"
    assert not verdict.has_new_data


TWO_OBJECTIVES = SLOPolicySpec.model_validate(
    {
        "objectives": [
            {"name": "availability", "target": 0.999, "ratio": {"errors": "e", "total": "t"}},
            {"name": "latency", "target": 0.99, "latency": {"histogram": "h", "threshold": "1s"}},
        ]
    }
)


# With two objectives the fail threshold is ln 400, as in vector V1: five failures in five
# requests fail Gate 1, four do not (E_F = 317 < 400).
def test_five_failures_of_five_requests_roll_back_four_do_not() -> None:
    def verdict(bad: int) -> Outcome:
        readings = (
            SLIReading(objective="availability", canary=Counts(5, bad), stable=Counts(100, 0)),
            SLIReading(objective="latency", canary=Counts(5, 0), stable=Counts(100, 0)),
        )
        return analyze(TWO_OBJECTIVES, Measurements(at=NOW, readings=readings)).outcome

    assert verdict(5) is Outcome.FAIL
    assert verdict(4) is Outcome.INCONCLUSIVE


def test_one_error_in_ten_requests_is_not_evidence() -> None:
    verdict = analyze(POLICY, _measure(Counts(10, 1), Counts(90, 0)))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.gates[0].burn_rate == pytest.approx(100)  # a huge ratio, but no proof


def test_a_failing_burn_gate_names_its_numbers() -> None:
    verdict = analyze(POLICY, _measure(Counts(200, 6), Counts(1800, 0)))
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason == "BurnRateExceeded"
    assert "6 bad of 200" in verdict.message
    assert "fails at 5.30" in verdict.message


# Against "burn >= promotionBurnRate (5)" at 99.9 %, p = 0.005: 289 clean requests reach
# E = 3 (stepEvidence), 1,092 reach E = 100 = 1/alpha (onesample.requests_to_pass).
def test_a_weak_pass_of_the_promotion_test_steps_up_but_does_not_promote() -> None:
    held = analyze(POLICY, _measure(Counts(280, 0), Counts(2520, 0)))
    assert held.outcome is Outcome.INCONCLUSIVE
    verdict = analyze(POLICY, _measure(Counts(300, 0), Counts(2700, 0)))
    assert verdict.outcome is Outcome.PASS
    assert not verdict.promotable
    assert verdict.reason == "CanaryWithinBudget"
    gate = verdict.gates[0]
    assert gate.ln_e_step == gate.ln_e_pass  # allSteps: one e-process for both
    assert math.log(3) <= gate.ln_e_pass < math.log(100)
    assert gate.requests_to_pass == pytest.approx(1092 - 300, rel=0.02)


def test_clean_traffic_proves_the_canary_below_the_promotion_burn_rate_and_promotes() -> None:
    verdict = analyze(POLICY, _measure(Counts(1100, 0), Counts(9900, 0)))
    assert verdict.outcome is Outcome.PASS
    assert verdict.promotable
    assert verdict.reason == "CanaryHealthy"
    assert verdict.gates[0].requests_to_pass == 0.0
    assert verdict.gates[1].outcome == "inconclusive"  # the comparison proved nothing yet


def test_the_comparison_gates_promotion_only_when_asked_to() -> None:
    strict = POLICY.model_copy(
        update={"canary": POLICY.canary.model_copy(update={"promotion_requires_comparison": True})}
    )
    waiting = analyze(strict, _measure(Counts(1100, 0), Counts(9900, 0)))
    assert waiting.outcome is Outcome.PASS
    assert not waiting.promotable
    assert "availability/comparison" in waiting.message
    proven = analyze(strict, _measure(Counts(8000, 0), Counts(72000, 0)))
    assert proven.promotable


def test_the_comparison_still_rolls_back_a_canary_worse_than_stable() -> None:
    previous: tuple = ()
    for _ in range(10):  # vector V3 T5, as below: the comparison fails, the verdict fails
        verdict = analyze(POLICY, _measure(Counts(300, 1), Counts(2700, 1)), previous)
        previous = verdict.comparison
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason == "WorseThanStable"


def test_a_canary_at_the_promotion_burn_rate_cannot_pass() -> None:
    # 0.5 % bad at 99.9 % is exactly promotionBurnRate 5: the observed ratio never passes.
    verdict = analyze(POLICY, _measure(Counts(1000, 5), Counts(9000, 45)))
    gate = verdict.gates[0]
    assert gate.outcome == "inconclusive"
    assert gate.requests_to_pass is None
    assert gate.clean_requests_to_pass is not None
    assert gate.clean_requests_to_pass > 0
    assert "cannot pass while its bad ratio stays" in verdict.message


def test_last_step_evidence_counts_only_the_windows_at_the_last_step() -> None:
    policy = POLICY.model_copy(
        update={
            "canary": POLICY.canary.model_copy(
                update={"promotion_evidence": PromotionEvidence.LAST_STEP}
            )
        }
    )
    early = analyze(policy, _measure(Counts(1100, 0), Counts(9900, 0)), step=0, last_step=False)
    assert early.outcome is Outcome.PASS  # the step rule reads every request
    assert not early.promotable
    gate = early.gates[0]
    assert gate.ln_e_pass == 0.0
    assert gate.ln_e_step is not None
    assert gate.ln_e_step > math.log(100)
    last = analyze(policy, _measure(Counts(600, 0), Counts(600, 0)), early.comparison, step=1)
    assert not last.promotable
    assert last.gates[0].promotion_requests is not None
    assert last.gates[0].promotion_requests.total == 600
    assert last.gates[0].canary is not None
    assert last.gates[0].canary.total == 1700
    done = analyze(policy, _measure(Counts(600, 0), Counts(600, 0)), last.comparison, step=1)
    assert done.promotable


def test_the_step_counts_start_anew_with_each_step_and_keep_the_window_lengths() -> None:
    window = Measurements(
        at=NOW,
        start=NOW - timedelta(seconds=30),
        readings=(SLIReading("availability", Counts(30, 0), Counts(270, 0)),),
    )
    first = analyze(POLICY, window, step=0)
    second = analyze(POLICY, window, first.comparison, step=0)
    assert second.comparison[0].step_canary == ArmCounts(total=60, bad=0)
    assert second.comparison[0].step_seconds == 60
    moved = analyze(POLICY, window, second.comparison, step=1)
    assert moved.comparison[0].step == 1
    assert moved.comparison[0].step_canary == ArmCounts(total=30, bad=0)
    assert moved.comparison[0].step_seconds == 30
    assert moved.comparison[0].canary.total == 90


def test_min_requests_holds_a_pass_on_too_little_traffic() -> None:
    strict = POLICY.model_copy(
        update={"canary": POLICY.canary.model_copy(update={"min_requests": 10_000})}
    )
    verdict = analyze(strict, _measure(Counts(3000, 0), Counts(27000, 0)))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.gates[0].requests_to_pass == 7000
    assert verdict.gates[0].requests_to_step == 7000


def test_comparison_evidence_accumulates_per_tick_across_calls() -> None:
    previous: tuple = ()
    outcomes = []
    for _ in range(10):  # vector V3 T5: 10 windows of (300, 1, 2700, 1) fail the comparison
        verdict = analyze(POLICY, _measure(Counts(300, 1), Counts(2700, 1)), previous)
        previous = verdict.comparison
        outcomes.append(verdict.gates[1].outcome)
    assert verdict.gates[1].ln_e_fail == pytest.approx(8.0470, abs=1e-4)
    assert outcomes[-1] == "fail"
    assert verdict.reason == "WorseThanStable"


def test_a_window_missing_the_stable_version_counts_for_the_canary_but_is_not_compared() -> None:
    first = analyze(POLICY, _measure(Counts(300, 1), Counts(2700, 1)))
    gap = analyze(POLICY, _measure(Counts(300, 1), None), first.comparison)
    assert gap.comparison[0].test == first.comparison[0].test
    assert gap.comparison[0].canary.total == 600
    assert gap.gates[0].canary is not None
    assert gap.gates[0].canary.total == 600
    after = analyze(POLICY, _measure(Counts(300, 1), Counts(2700, 1)), gap.comparison)
    assert after.comparison[0].test["canaryRequests"] == 600
    assert after.comparison[0].test["stableRequests"] == 5400


def test_windows_accumulate_into_the_burn_rate_test() -> None:
    previous: tuple = ()
    for _ in range(10):
        verdict = analyze(POLICY, _measure(Counts(300, 0), Counts(2700, 0)), previous)
        previous = verdict.comparison
    assert verdict.gates[0].canary is not None
    assert verdict.gates[0].canary.total == 3000
    assert verdict.outcome is Outcome.PASS


def test_same_inputs_give_the_same_verdict() -> None:
    measure = _measure(Counts(1234, 3), Counts(11000, 9))
    assert analyze(POLICY, measure) == analyze(POLICY, measure)


@pytest.mark.parametrize("window", [Counts(0, 0), None], ids=["no traffic", "no series"])
def test_a_window_without_canary_data_moves_nothing_whatever_came_before(
    window: Counts | None,
) -> None:
    proven = analyze(POLICY, _measure(Counts(1100, 0), Counts(9900, 0)))
    assert proven.promotable
    blind = analyze(POLICY, _measure(window, Counts(900, 0)), proven.comparison)
    assert blind.outcome is Outcome.INCONCLUSIVE
    assert blind.reason == "NoData"
    assert not blind.promotable
    assert blind.comparison[0].canary == proven.comparison[0].canary  # the evidence is kept
