"""A distribution check joins the verdict: rollback, pause, alert, too few samples."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from roost.analysis.outcome import Outcome
from roost.analysis.verdict import StepVerdict, analyze
from roost.api.modeldeployment import ComparisonState
from roost.api.slopolicy import SLOPolicySpec
from roost.slo.readings import Counts, HistogramReading, Measurements, SLIReading

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BOUNDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, math.inf]
SAME = [50, 100, 200, 300, 200, 100, 50]
SHIFTED = [10, 30, 80, 200, 300, 230, 150]


def _policy(**check: Any) -> SLOPolicySpec:
    return SLOPolicySpec.model_validate(
        {
            "objectives": [
                {"name": "availability", "target": 0.999, "ratio": {"errors": "e", "total": "t"}}
            ],
            "distributions": [{"name": "score", "histogram": "model_prediction_score", **check}],
        }
    )


def _cumulative(counts: list[int], scale: float = 1.0) -> dict[float, float]:
    running, out = 0.0, {}
    for bound, count in zip(BOUNDS, counts, strict=True):
        running += count * scale
        out[bound] = running
    return out


def _window(canary: list[int], stable: list[int], scale: float = 1.0) -> Measurements:
    return Measurements(
        at=NOW,
        readings=(
            SLIReading(objective="availability", canary=Counts(1000, 0), stable=Counts(9000, 0)),
        ),
        histograms=(
            HistogramReading(
                name="score", canary=_cumulative(canary, scale), stable=_cumulative(stable, 9)
            ),
        ),
    )


def _run(policy: SLOPolicySpec, canary: list[int], windows: int, scale: float = 1.0) -> StepVerdict:
    previous: tuple[ComparisonState, ...] = ()
    verdict = None
    for _ in range(windows):
        verdict = analyze(policy, _window(canary, SAME, scale), previous)
        previous = verdict.comparison
    assert verdict is not None
    return verdict


def test_a_shifted_canary_fails_with_prediction_distribution_shift_and_the_numbers() -> None:
    verdict = _run(_policy(), SHIFTED, 1)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason == "PredictionDistributionShift"
    assert "psi" in verdict.message
    assert "PSI" in verdict.message
    assert "KS" in verdict.message
    gate = next(g for g in verdict.gates if g.gate == "distribution")
    assert gate.distribution is not None
    assert gate.distribution.psi is not None
    assert gate.distribution.psi > 0.25
    assert gate.distribution.bounds[-1] == "+Inf"


def test_the_same_distribution_is_promotable_after_min_samples() -> None:
    verdict = _run(_policy(minSamples=2000), SAME, 10)
    assert verdict.outcome is Outcome.PASS
    assert verdict.promotable
    gate = next(g for g in verdict.gates if g.gate == "distribution")
    assert gate.outcome == "pass"


def test_too_few_samples_are_inconclusive_never_pass_and_block_promotion() -> None:
    verdict = _run(_policy(minSamples=100_000), SAME, 3)
    gate = next(g for g in verdict.gates if g.gate == "distribution")
    assert gate.outcome == "inconclusive"
    assert not verdict.promotable


def test_a_significant_shift_below_the_effect_threshold_does_not_fail() -> None:
    slight = [45, 95, 195, 300, 205, 105, 55]
    verdict = _run(_policy(minSamples=10), slight, 20, scale=10)
    gate = next(g for g in verdict.gates if g.gate == "distribution")
    assert gate.ln_e_fail >= gate.fail_threshold  # the test sees it...
    assert gate.outcome == "pass"  # ...but PSI is far below 0.25
    assert verdict.outcome is Outcome.PASS


def test_action_pause_asks_to_pause_instead_of_rolling_back() -> None:
    verdict = _run(_policy(action="pause"), SHIFTED, 1)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.pause
    assert verdict.reason == "PredictionDistributionShift"


def test_action_alert_only_records() -> None:
    verdict = _run(_policy(action="alert", minSamples=10), SHIFTED, 3)
    assert verdict.outcome is Outcome.PASS
    assert not verdict.pause
    assert "alert: score/distribution" in verdict.message
    gate = next(g for g in verdict.gates if g.gate == "distribution")
    assert gate.outcome == "fail"


def test_a_distribution_check_that_acts_takes_a_share_of_alpha() -> None:
    verdict = _run(_policy(), SAME, 1)
    assert verdict.gates[0].fail_threshold == pytest.approx(math.log(300))  # 0.01 / 3
    alert = _run(_policy(action="alert"), SAME, 1)
    assert alert.gates[0].fail_threshold == pytest.approx(math.log(200))


def test_evidence_survives_a_restart_through_status() -> None:
    first = analyze(_policy(), _window(SAME, SAME), ())
    stored = [ComparisonState.model_validate(s.model_dump(mode="json")) for s in first.comparison]
    second = analyze(_policy(), _window(SAME, SAME), tuple(stored))
    straight = analyze(_policy(), _window(SAME, SAME), first.comparison)
    assert second.gates == straight.gates


@pytest.mark.parametrize(
    ("check", "field"),
    [
        ({"statistic": "wasserstein"}, "statistic"),
        ({"statistic": "ks", "threshold": 2}, "threshold"),
        ({"threshold": -1}, "threshold"),
        ({"threshold": 0.1, "warnThreshold": 0.2}, "warnThreshold"),
        ({"histogram": "score{"}, "histogram"),
        ({"action": "explode"}, "action"),
        ({"minSamples": 0}, "minSamples"),
        ({"compareTo": "reference", "action": "rollback"}, "action rollback needs compareTo"),
        ({"meanWindowsToFalseAlarm": 100}, "meanWindowsToFalseAlarm applies"),
        ({"compareTo": "reference", "meanWindowsToFalseAlarm": 1}, "meanWindowsToFalseAlarm"),
    ],
)
def test_bad_distribution_input_names_the_field(check: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        _policy(**check)
    assert field in str(error.value)


def test_distribution_names_must_be_unique() -> None:
    with pytest.raises(ValidationError, match="distribution names must be unique"):
        SLOPolicySpec.model_validate(
            {
                "objectives": [
                    {"name": "a", "target": 0.99, "ratio": {"errors": "e", "total": "t"}}
                ],
                "distributions": [
                    {"name": "s", "histogram": "h"},
                    {"name": "s", "histogram": "g"},
                ],
            }
        )


def test_a_missing_histogram_never_passes_and_says_so() -> None:
    window = Measurements(
        at=NOW,
        readings=(
            SLIReading(objective="availability", canary=Counts(1000, 0), stable=Counts(9000, 0)),
        ),
        histograms=(HistogramReading(name="score", canary=None, stable=None),),
    )
    previous: tuple[ComparisonState, ...] = ()
    for _ in range(20):
        verdict = analyze(_policy(minSamples=10), window, previous)
        previous = verdict.comparison
    gate = next(g for g in verdict.gates if g.gate == "distribution")
    assert gate.outcome == "inconclusive"
    assert not verdict.promotable
    assert "no histogram buckets read" in verdict.message


def test_a_histogram_with_only_the_inf_bucket_never_passes() -> None:
    window = Measurements(
        at=NOW,
        readings=(
            SLIReading(objective="availability", canary=Counts(1000, 0), stable=Counts(9000, 0)),
        ),
        histograms=(
            HistogramReading(name="score", canary={math.inf: 1000.0}, stable={math.inf: 9000.0}),
        ),
    )
    previous: tuple[ComparisonState, ...] = ()
    for _ in range(20):
        verdict = analyze(_policy(minSamples=10), window, previous)
        previous = verdict.comparison
    gate = next(g for g in verdict.gates if g.gate == "distribution")
    assert gate.outcome == "inconclusive"
    assert "only a +Inf bucket" in verdict.message
