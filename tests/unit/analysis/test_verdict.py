"""How the sequential tests combine into one verdict (sequential-testing.md §3.4)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from roost.analysis.outcome import Outcome
from roost.analysis.verdict import Measurements, SLIReading, analyze
from roost.api.slopolicy import SLOPolicySpec
from roost.slo.promql import Counts

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


# With two objectives the fail threshold is ln 400, as in §4 V1: five failures in five
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


def test_clean_traffic_passes_the_step_before_it_may_promote() -> None:
    # 3,000 clean canary requests pass Gate 1 (§4 V1) but prove nothing relative to stable.
    verdict = analyze(POLICY, _measure(Counts(3000, 0), Counts(27000, 0)))
    assert verdict.outcome is Outcome.PASS
    assert not verdict.promotable
    assert verdict.reason == "CanaryWithinBudget"


def test_enough_clean_traffic_proves_the_canary_within_its_own_slo_and_promotes() -> None:
    verdict = analyze(POLICY, _measure(Counts(8000, 0), Counts(72000, 0)))
    assert verdict.outcome is Outcome.PASS
    assert verdict.promotable


def test_min_requests_holds_a_pass_on_too_little_traffic() -> None:
    strict = POLICY.model_copy(
        update={"canary": POLICY.canary.model_copy(update={"min_requests": 10_000})}
    )
    verdict = analyze(strict, _measure(Counts(3000, 0), Counts(27000, 0)))
    assert verdict.outcome is Outcome.INCONCLUSIVE


def test_comparison_evidence_accumulates_per_tick_across_calls() -> None:
    previous: tuple = ()
    outcomes = []
    for _ in range(10):  # §4 V3 T5: 10 windows of (300, 1, 2700, 1) fail the comparison
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
