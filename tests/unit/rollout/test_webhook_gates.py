"""Webhook gates in the machine: a preRollout webhook's failure rolls back before any
traffic; confirm webhooks hold a move until they answer; a person's promote confirms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roost.analysis.outcome import Outcome
from roost.analysis.verdict import StepVerdict
from roost.api.modeldeployment import ModelDeploymentSpec, ModelDeploymentStatus, Phase
from roost.rollout.actions import PromoteCanary, RemoveCanary, SetWeight
from roost.rollout.machine import Command, Decision, HookGates, Observed, decide

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PASS = StepVerdict(Outcome.PASS, "CanaryWithinBudget", "ok", has_new_data=True)
PROMOTABLE = StepVerdict(Outcome.PASS, "CanaryHealthy", "ok", promotable=True, has_new_data=True)


def _spec(*types: str) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "m", "version": "v2"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "c", "image": "m:v2"}]}},
            "rollout": {
                "steps": [{"weight": 10}, {"weight": 50}],
                "analysisInterval": "30s",
                "webhooks": [
                    {"name": f"hook-{i}", "type": t, "url": "http://hooks.example/x"}
                    for i, t in enumerate(types)
                ],
            },
        }
    )


def _tick(
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus | None,
    seconds: float,
    verdict: StepVerdict | None = None,
    *,
    hooks: HookGates | None = None,
    revision: str = "r2",
    command: Command | None = None,
) -> Decision:
    return decide(
        spec,
        status,
        observed=Observed(revision=revision, canary_capacity=100, hooks=hooks or HookGates()),
        verdict=verdict,
        now=T0 + timedelta(seconds=seconds),
        command=command,
    )


def _started(spec: ModelDeploymentSpec) -> ModelDeploymentStatus:
    stable = _tick(spec, None, 0, revision="r1").status
    return _tick(spec, stable, 0).status


def _weights(decision: Decision) -> list[SetWeight]:
    return [a for a in decision.actions if isinstance(a, SetWeight)]


def test_no_traffic_moves_until_the_pre_rollout_webhooks_have_answered() -> None:
    spec = _spec("preRollout")
    waiting = _tick(spec, _started(spec), 30)
    assert _weights(waiting) == []
    assert waiting.status.message == "waiting for the preRollout webhooks before any traffic"
    passed = _tick(spec, waiting.status, 60, hooks=HookGates(pre_rollout=True))
    assert _weights(passed) == [SetWeight(canary=10)]


def test_a_failed_pre_rollout_webhook_rolls_back_before_any_traffic() -> None:
    spec = _spec("preRollout")
    gates = HookGates(pre_rollout=False, message="hook-0 said HTTP 500 after 0.01s")
    failed = _tick(spec, _started(spec), 30, hooks=gates)
    assert failed.status.phase is Phase.ROLLED_BACK
    assert failed.status.message.endswith("before any traffic: hook-0 said HTTP 500 after 0.01s")
    assert _weights(failed) == [SetWeight(canary=0)]
    assert any(isinstance(a, RemoveCanary) for a in failed.actions)


def test_a_confirm_step_webhook_holds_the_next_step_until_it_answers() -> None:
    spec = _spec("confirmStep")
    first = _tick(spec, _started(spec), 30)
    assert _weights(first) == [SetWeight(canary=10)]  # the first step needs no confirmation
    held = _tick(spec, first.status, 60, PASS, hooks=HookGates(message="hook-0 said HTTP 403"))
    assert _weights(held) == []
    assert held.status.canary_weight.desired == 50
    assert "confirmStep" in held.status.message
    assert "HTTP 403" in held.status.message
    moved = _tick(spec, held.status, 90, hooks=HookGates(step_confirmed=True))
    assert _weights(moved) == [SetWeight(canary=50)]


def test_a_confirm_promotion_webhook_holds_the_promotion_and_a_person_can_skip_it() -> None:
    spec = _spec("confirmPromotion")
    status = _tick(spec, _started(spec), 30).status
    status = _tick(spec, status, 60, PASS).status
    assert status.canary_weight.applied == 50
    held = _tick(spec, status, 90, PROMOTABLE)
    assert held.status.phase is Phase.PROGRESSING
    assert held.status.promotion == "Promoted"
    assert not any(isinstance(a, PromoteCanary) for a in held.actions)
    again = _tick(spec, held.status, 120)
    assert again.status.phase is Phase.PROGRESSING
    confirmed = _tick(spec, held.status, 120, hooks=HookGates(promotion_confirmed=True))
    assert confirmed.status.phase is Phase.SUCCEEDED
    manual = _tick(spec, status, 90, command=Command.PROMOTE)
    assert manual.status.phase is Phase.SUCCEEDED
