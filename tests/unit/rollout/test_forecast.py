"""The promotion forecast: requests still needed, turned into time along the steps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from roost.analysis.outcome import Outcome
from roost.analysis.verdict import StepVerdict
from roost.api.modeldeployment import (
    ArmCounts,
    CanaryWeight,
    ComparisonState,
    GateEvidence,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Phase,
)
from roost.rollout import forecast
from roost.rollout.actions import EmitEvent
from roost.rollout.machine import Decision, Observed, decide

NOW = datetime(2026, 1, 1, 1, tzinfo=UTC)
SPEC = ModelDeploymentSpec.model_validate(
    {
        "model": {"name": "m", "version": "v2"},
        "sloPolicyRef": {"name": "p"},
        "template": {"spec": {"containers": [{"name": "c", "image": "m:v2"}]}},
        "rollout": {
            "steps": [{"weight": 10, "pause": "30s"}, {"weight": 50, "pause": "2m"}],
            "progressDeadline": "1h",
        },
    }
)


def _gate(
    name: str = "availability",
    *,
    to_step: float | None = 0.0,
    to_pass: float | None = 600.0,
    clean: float = 500.0,
) -> GateEvidence:
    return GateEvidence(
        objective=name,
        gate="burnRate",
        outcome="inconclusive",
        ln_e_fail=0.0,
        ln_e_pass=0.0,
        fail_threshold=5.3,
        pass_threshold=4.6,
        p_value=1.0,
        requests_to_step=to_step,
        requests_to_pass=to_pass,
        clean_requests_to_pass=clean,
    )


def _state(name: str = "availability", *, total: float, seconds: float) -> ComparisonState:
    return ComparisonState(
        objective=name,
        canary=ArmCounts(total=total, bad=0),
        test={},
        step_canary=ArmCounts(total=total, bad=0),
        step_seconds=seconds,
    )


def _status(step: int, *, in_step: float = 60.0, started: float = 600.0) -> ModelDeploymentStatus:
    return ModelDeploymentStatus(
        phase=Phase.PROGRESSING,
        current_step=step,
        rollout_started_at=NOW - timedelta(seconds=started),
        step_started_at=NOW - timedelta(seconds=in_step),
    )


def _verdict(
    *gates: GateEvidence, states: tuple[ComparisonState, ...], **kw: object
) -> StepVerdict:
    return StepVerdict(
        Outcome.INCONCLUSIVE, "InsufficientEvidence", "", gates=gates, comparison=states, **kw
    )  # type: ignore[arg-type]


def test_at_the_last_step_the_needed_requests_at_the_measured_rate() -> None:
    verdict = _verdict(_gate(), states=(_state(total=60, seconds=60),))
    value = forecast.forecast(SPEC, _status(1), verdict, NOW)
    assert value is not None
    assert value.canary_rate == pytest.approx(1.0)
    assert value.promotable_in_seconds == pytest.approx(600)
    assert value.at_least_seconds == pytest.approx(500)
    assert value.deadline_in_seconds == pytest.approx(3000)
    assert value.reachable
    assert forecast.describe(value) == "promotable in ~10m at 1.00 canary req/s"


def test_the_pause_left_bounds_a_promotion_from_below() -> None:
    verdict = _verdict(_gate(to_pass=10, clean=10), states=(_state(total=60, seconds=60),))
    value = forecast.forecast(SPEC, _status(1, in_step=60), verdict, NOW)
    assert value is not None
    assert value.promotable_in_seconds == pytest.approx(60)  # 2 m pause, 1 m in


def test_the_next_steps_carry_more_canary_traffic() -> None:
    # 0.1 req/s at 10 %: 30 requests to the step-up take 300 s; at 50 % the canary sees
    # 0.5 req/s and needs the 570 promotion requests the first step did not bring.
    verdict = _verdict(_gate(to_step=30), states=(_state(total=6, seconds=60),))
    value = forecast.forecast(SPEC, _status(0), verdict, NOW)
    assert value is not None
    assert value.promotable_in_seconds == pytest.approx(300 + 570 / 0.5)
    # The lower bound advances on the pause alone, which is over: 500 requests at 50 %.
    assert value.at_least_seconds == pytest.approx(500 / 0.5)


def test_last_step_evidence_is_not_shortened_by_earlier_steps() -> None:
    verdict = _verdict(
        _gate(to_step=30), states=(_state(total=6, seconds=60),), promotion_last_step=True
    )
    value = forecast.forecast(SPEC, _status(0), verdict, NOW)
    assert value is not None
    assert value.promotable_in_seconds == pytest.approx(300 + 600 / 0.5)


def test_gauge_samples_do_not_scale_with_the_weight() -> None:
    verdict = _verdict(
        _gate("quality", to_step=30, to_pass=60, clean=60),
        states=(_state("quality", total=2, seconds=60),),
        gauges=("quality",),
    )
    value = forecast.forecast(SPEC, _status(0), verdict, NOW)
    assert value is not None
    assert value.promotable_in_seconds == pytest.approx(30 / (2 / 60) + 30 / (2 / 60))


def test_the_slowest_objective_decides() -> None:
    verdict = _verdict(
        _gate("availability", to_pass=600),
        _gate("latency", to_pass=60, clean=60),
        states=(
            _state("availability", total=60, seconds=60),
            _state("latency", total=60, seconds=60),
        ),
    )
    value = forecast.forecast(SPEC, _status(1), verdict, NOW)
    assert value is not None
    assert value.slowest == "availability"
    assert value.promotable_in_seconds == pytest.approx(600)
    mine = {o.objective: o.promotable_in_seconds for o in value.objectives}
    assert mine == {"availability": pytest.approx(600), "latency": pytest.approx(60)}


def test_a_ratio_that_cannot_pass_has_no_estimate_but_keeps_its_lower_bound() -> None:
    verdict = _verdict(_gate(to_pass=None), states=(_state(total=60, seconds=60),))
    value = forecast.forecast(SPEC, _status(1), verdict, NOW)
    assert value is not None
    assert value.promotable_in_seconds is None
    assert value.at_least_seconds == pytest.approx(500)
    assert forecast.describe(value).startswith("not promotable while availability keeps")


def test_no_forecast_before_a_window_at_a_step_was_measured() -> None:
    verdict = _verdict(_gate(), states=(_state(total=0, seconds=0),))
    assert forecast.forecast(SPEC, _status(1), verdict, NOW) is None
    assert forecast.forecast(SPEC, _status(-1), verdict, NOW) is None


def test_no_forecast_without_canary_traffic_and_a_status_json_can_carry() -> None:
    # Measured windows without a canary request: no rate, so no forecast (an infinite
    # one would not survive the JSON of a status patch).
    verdict = _verdict(_gate(), states=(_state(total=0, seconds=120),))
    assert forecast.forecast(SPEC, _status(1), verdict, NOW) is None
    decision = _decide(_running(), verdict)
    json.dumps(decision.status.model_dump(mode="json", by_alias=True), allow_nan=False)


def test_a_deadline_the_lower_bound_passes_is_unreachable() -> None:
    verdict = _verdict(_gate(to_pass=9000, clean=8000), states=(_state(total=60, seconds=60),))
    value = forecast.forecast(SPEC, _status(1, started=1800), verdict, NOW)
    assert value is not None
    assert not value.reachable
    assert "progressDeadline ends in 30m, before the earliest promotion (2h13m" in (
        forecast.describe(value)
    )


def _running(**update: object) -> ModelDeploymentStatus:
    """A rollout of v2 at its last step, 30 min after it started."""
    return _status(1, started=1800).model_copy(
        update={
            "stable_revision": "r1",
            "stable_version": "v1",
            "canary_revision": "r2",
            "canary_version": "v2",
            **update,
        }
    )


def _decide(status: ModelDeploymentStatus, verdict: StepVerdict) -> Decision:
    observed = Observed(revision="r2", canary_capacity=100)
    return decide(SPEC, status, observed=observed, verdict=verdict, now=NOW)


def _warnings(decision: Decision) -> list[str]:
    return [
        a.message
        for a in decision.actions
        if isinstance(a, EmitEvent) and a.reason == "ProgressDeadlineUnreachable"
    ]


def test_the_machine_warns_once_when_the_deadline_cannot_be_met() -> None:
    status = _running(canary_weight=CanaryWeight(desired=50, applied=50))
    slow = _verdict(_gate(to_pass=9000, clean=8000), states=(_state(total=120, seconds=120),))
    first = _decide(status, slow)
    assert _warnings(first) == [
        "v2: promotable in ~2h30m at 1.00 canary req/s; progressDeadline ends in 30m, "
        "before the earliest promotion (2h13m with no bad request)"
    ]
    analysis = first.status.last_analysis
    assert analysis is not None
    assert analysis.forecast is not None
    assert analysis.forecast.warned
    assert _warnings(_decide(first.status, slow)) == []


def test_no_warning_before_the_rate_is_measured_over_two_minutes() -> None:
    slow = _verdict(_gate(to_pass=9000, clean=8000), states=(_state(total=60, seconds=60),))
    assert _warnings(_decide(_running(), slow)) == []
