"""Shadow and header-matched steps: the machine mirrors requests to the canary, or sends
it only the requests that match headers, before any weighted step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roost.analysis.outcome import Outcome
from roost.analysis.verdict import StepVerdict
from roost.api.modeldeployment import (
    HeaderMatch,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Phase,
    Split,
)
from roost.rollout.actions import DeployCanary, EmitEvent, PromoteCanary, RemoveCanary, SetWeight
from roost.rollout.machine import Decision, Observed, decide

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _spec(steps: list[dict[str, object]]) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "m", "version": "v2"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "c", "image": "m:v2"}]}},
            "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "m"}},
            "rollout": {"steps": steps, "analysisInterval": "30s", "progressDeadline": "1h"},
        }
    )


SHADOW_FIRST = _spec([{"mirror": 100}, {"weight": 20}])
SHADOW_ONLY = _spec([{"mirror": 50}])
PASS = StepVerdict(Outcome.PASS, "CanaryWithinBudget", "ok", has_new_data=True)
PROMOTABLE = StepVerdict(Outcome.PASS, "CanaryHealthy", "ok", promotable=True, has_new_data=True)
FAIL = StepVerdict(Outcome.FAIL, "BurnRateExceeded", "burn 30", has_new_data=True)


def _tick(
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus | None,
    seconds: float,
    verdict: StepVerdict | None = None,
    *,
    revision: str = "r2",
    capacity: int = 100,
) -> Decision:
    return decide(
        spec,
        status,
        observed=Observed(revision=revision, canary_capacity=capacity),
        verdict=verdict,
        now=T0 + timedelta(seconds=seconds),
    )


def _mirroring(spec: ModelDeploymentSpec) -> ModelDeploymentStatus:
    stable = _tick(spec, None, 0, revision="r1").status
    started = _tick(spec, stable, 0).status
    return _tick(spec, started, 30).status


def _events(decision: Decision) -> list[str]:
    return [a.message for a in decision.actions if isinstance(a, EmitEvent)]


def test_the_canary_is_sized_for_the_mirrored_share_and_users_stay_on_the_stable() -> None:
    stable = _tick(SHADOW_FIRST, None, 0, revision="r1").status
    started = _tick(SHADOW_FIRST, stable, 0)
    assert DeployCanary(revision="r2", version="v2", weight=100) in started.actions
    assert started.status.canary_weight.desired_split == Split(mirror=100)
    waiting = _tick(SHADOW_FIRST, started.status, 30, capacity=50)
    assert not any(isinstance(a, SetWeight) for a in waiting.actions)
    assert "ready for 100% of requests" in waiting.status.message
    mirrored = _tick(SHADOW_FIRST, waiting.status, 60)
    assert SetWeight(canary=0, mirror=100) in mirrored.actions
    weight = mirrored.status.canary_weight
    assert (weight.applied, weight.applied_mirror) == (0, 100)
    assert _events(mirrored) == ["step 1/2: 100% of requests mirrored to the canary"]


def test_after_the_shadow_step_the_mirror_stops_as_users_reach_the_canary() -> None:
    passed = _tick(SHADOW_FIRST, _mirroring(SHADOW_FIRST), 90, PASS, capacity=20)
    assert SetWeight(canary=20, mirror=0) in passed.actions
    assert passed.status.canary_weight.applied_split == Split(weight=20)
    assert passed.status.current_step == 1


def test_a_failing_shadow_step_rolls_back_and_removes_the_mirror() -> None:
    failed = _tick(SHADOW_FIRST, _mirroring(SHADOW_FIRST), 60, FAIL)
    assert failed.status.phase is Phase.ROLLED_BACK
    assert SetWeight(canary=0, mirror=0) in failed.actions
    assert any(isinstance(a, RemoveCanary) for a in failed.actions)
    assert failed.status.canary_weight.applied_split == Split()


def test_a_rollout_of_shadow_steps_only_promotes_on_promotable_evidence() -> None:
    mirroring = _mirroring(SHADOW_ONLY)
    held = _tick(SHADOW_ONLY, mirroring, 90, PASS)
    assert held.status.phase is Phase.PROGRESSING
    assert not any(isinstance(a, PromoteCanary) for a in held.actions)
    promoted = _tick(SHADOW_ONLY, held.status, 120, PROMOTABLE)
    assert promoted.status.phase is Phase.SUCCEEDED
    kinds = [a for a in promoted.actions if isinstance(a, SetWeight | PromoteCanary)]
    assert kinds[:2] == [SetWeight(canary=100), PromoteCanary(revision="r2", version="v2")]
    assert promoted.status.canary_weight.applied_split == Split()


def test_a_header_matched_step_sends_only_the_matching_requests_then_weights_take_over() -> None:
    testers = {"headers": [{"name": "x-tester", "value": "1"}]}
    spec = _spec([{"match": testers}, {"weight": 20}])
    match = (HeaderMatch(name="x-tester", value="1"),)
    stable = _tick(spec, None, 0, revision="r1").status
    started = _tick(spec, stable, 0)
    assert DeployCanary(revision="r2", version="v2", weight=1) in started.actions
    matched = _tick(spec, started.status, 30)
    assert SetWeight(canary=0, match=match) in matched.actions
    assert _events(matched) == ["step 1/2: requests with x-tester: 1 sent to the canary"]
    assert matched.status.canary_weight.applied_split == Split(match=match)
    weighted = _tick(spec, matched.status, 60, PASS, capacity=20)
    assert SetWeight(canary=20) in weighted.actions
    assert weighted.status.canary_weight.applied_match == []
