"""The canary state machine: behaviours, then properties over random histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.analysis.outcome import Outcome
from roost.analysis.verdict import StepVerdict
from roost.api.modeldeployment import (
    DeadlineAction,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Phase,
)
from roost.rollout.actions import (
    DeployCanary,
    DeployStable,
    EmitEvent,
    PromoteCanary,
    Reconfigure,
    RemoveCanary,
    RetireStable,
    SetWeight,
)
from roost.rollout.machine import Command, Decision, Observed, decide

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = ModelDeploymentSpec.model_validate(
    {
        "model": {"name": "m", "version": "v2"},
        "sloPolicyRef": {"name": "p"},
        "template": {"spec": {"containers": [{"name": "c", "image": "m:v2"}]}},
        "rollout": {
            "steps": [{"weight": 10}, {"weight": 50, "pause": "2m"}],
            "analysisInterval": "30s",
            "noDataDeadline": "5m",
            "progressDeadline": "1h",
        },
    }
)
PASS = StepVerdict(Outcome.PASS, "CanaryWithinBudget", "ok", has_new_data=True)
PROMOTABLE = StepVerdict(Outcome.PASS, "CanaryHealthy", "ok", promotable=True, has_new_data=True)
HOLD = StepVerdict(Outcome.INCONCLUSIVE, "InsufficientEvidence", "few", has_new_data=True)
SILENT = StepVerdict(Outcome.INCONCLUSIVE, "NoData", "nothing")
FAIL = StepVerdict(Outcome.FAIL, "BurnRateExceeded", "burn 30", has_new_data=True)


def _stable() -> ModelDeploymentStatus:
    return decide(SPEC, None, observed=Observed(revision="r1"), verdict=None, now=T0).status


def _tick(
    status: ModelDeploymentStatus,
    seconds: float,
    verdict: StepVerdict | None = None,
    *,
    ready: bool = True,
    command: Command | None = None,
    revision: str = "r2",
    allowed: bool = True,
    serving: str | None = None,
) -> Decision:
    return decide(
        SPEC,
        status,
        observed=Observed(
            revision=revision,
            canary_capacity=100 if ready else 0,
            rollout_allowed=allowed,
            guard_message="stable has 5% of its budget left",
            serving=serving,
        ),
        verdict=verdict,
        now=T0 + timedelta(seconds=seconds),
        command=command,
    )


def _kinds(decision: Decision) -> list[Any]:
    return [type(a) for a in decision.actions if not isinstance(a, EmitEvent)]


def _started() -> ModelDeploymentStatus:
    """A rollout of r2 at its first step (10 %), entered at t = 30 s."""
    started = _tick(_stable(), 0)
    return _tick(started.status, 30).status


def test_the_first_version_becomes_stable_without_a_canary() -> None:
    decision = decide(SPEC, None, observed=Observed(revision="r1"), verdict=None, now=T0)
    assert _kinds(decision) == [DeployStable, SetWeight]
    assert decision.status.phase is Phase.SUCCEEDED
    assert decision.status.stable_version == "v2"


def test_a_new_revision_deploys_the_canary_before_sending_traffic() -> None:
    decision = _tick(_stable(), 0)
    assert _kinds(decision) == [DeployCanary]
    assert decision.actions[0] == DeployCanary(revision="r2", version="v2", weight=10)
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.canary_weight.applied == 0


def test_traffic_waits_until_the_canary_is_ready() -> None:
    started = _tick(_stable(), 0).status
    waiting = _tick(started, 30, ready=False)
    assert _kinds(waiting) == []
    moved = _tick(waiting.status, 60, ready=True)
    assert SetWeight(canary=10) in moved.actions
    assert moved.status.current_step == 0


def test_inconclusive_step_holds_weight() -> None:
    decision = _tick(_started(), 60, HOLD)
    assert _kinds(decision) == []
    assert decision.status.canary_weight.applied == 10


def test_a_passing_step_scales_the_canary_for_the_next_share_before_moving_traffic() -> None:
    decision = _tick(_started(), 60, PASS, ready=False)
    assert _kinds(decision) == [DeployCanary]
    assert decision.status.canary_weight.desired == 50
    assert decision.status.canary_weight.applied == 10
    moved = _tick(decision.status, 90, ready=True)
    assert SetWeight(canary=50) in moved.actions


def test_a_step_passes_only_after_its_pause() -> None:
    at_50 = _tick(_tick(_started(), 60, PASS, ready=True).status, 61).status
    assert at_50.canary_weight.applied == 50
    early = _tick(at_50, 120, PROMOTABLE)
    assert early.status.phase is Phase.PROGRESSING
    late = _tick(at_50, 60 + 120, PROMOTABLE)
    assert late.status.phase is Phase.SUCCEEDED


def test_promotion_sizes_the_canary_for_all_traffic_first() -> None:
    at_50 = _tick(_tick(_started(), 60, PASS, ready=True).status, 61).status
    sizing = _tick(at_50, 600, PROMOTABLE, ready=False)
    assert _kinds(sizing) == [DeployCanary]
    assert sizing.actions[0] == DeployCanary(revision="r2", version="v2", weight=100)
    assert sizing.status.phase is Phase.PROGRESSING
    assert sizing.status.canary_weight.applied == 50
    decision = _tick(sizing.status, 630, ready=True)
    assert decision.status.phase is Phase.SUCCEEDED


def test_promotion_moves_traffic_and_labels_without_restarting_pods() -> None:
    at_50 = _tick(_tick(_started(), 60, PASS, ready=True).status, 61).status
    decision = _tick(at_50, 600, PROMOTABLE)
    assert _kinds(decision) == [DeployCanary, SetWeight, PromoteCanary, SetWeight, RetireStable]
    assert decision.actions[1] == SetWeight(canary=100)
    assert decision.actions[3] == SetWeight(canary=0)
    assert decision.status.stable_revision == "r2"
    assert decision.status.canary_revision is None


def test_the_last_step_does_not_promote_on_a_step_pass() -> None:
    at_50 = _tick(_tick(_started(), 60, PASS, ready=True).status, 61).status
    decision = _tick(at_50, 600, PASS)
    assert decision.status.phase is Phase.PROGRESSING
    assert "waiting for the promotion evidence" in decision.status.message


def _ending_at_100(last: dict[str, str | int]) -> ModelDeploymentSpec:
    rollout = SPEC.rollout.model_copy(
        update={"steps": [SPEC.rollout.steps[0], SPEC.rollout.steps[0].model_validate(last)]}
    )
    return SPEC.model_copy(update={"rollout": rollout})


@pytest.mark.parametrize("last", [{"weight": 100}, {"weight": 100, "pause": "2m"}])
def test_a_last_step_of_100_percent_promotes_once_its_evidence_and_pause_allow(
    last: dict[str, str | int],
) -> None:
    spec = _ending_at_100(last)
    dwell = spec.rollout.dwell_seconds(1)

    def tick(status: ModelDeploymentStatus, at: float, verdict: StepVerdict | None) -> Decision:
        observed = Observed(revision="r2", canary_capacity=100)
        now = T0 + timedelta(seconds=at)
        return decide(spec, status, observed=observed, verdict=verdict, now=now)

    started = tick(tick(_stable(), 0, None).status, 30, None).status
    at_100 = tick(tick(started, 60, PASS).status, 61, None).status
    assert at_100.current_step == 1
    assert at_100.canary_weight.applied == 100
    assert at_100.step_started_at is not None
    entered = (at_100.step_started_at - T0).total_seconds()
    early = tick(at_100, entered + dwell - 1, PROMOTABLE)
    assert early.status.phase is Phase.PROGRESSING
    waiting = tick(at_100, entered + dwell, PASS)
    assert waiting.status.phase is Phase.PROGRESSING
    decision = tick(at_100, entered + dwell, PROMOTABLE)
    assert decision.status.phase is Phase.SUCCEEDED
    assert PromoteCanary(revision="r2", version="v2") in decision.actions


def test_a_last_step_of_100_percent_waits_for_the_canary_to_be_ready_for_it() -> None:
    spec = _ending_at_100({"weight": 100})

    def tick(
        status: ModelDeploymentStatus, at: float, verdict: StepVerdict | None, capacity: int
    ) -> Decision:
        observed = Observed(revision="r2", canary_capacity=capacity)
        now = T0 + timedelta(seconds=at)
        return decide(spec, status, observed=observed, verdict=verdict, now=now)

    started = tick(tick(_stable(), 0, None, 100).status, 30, None, 100).status
    at_100 = tick(tick(started, 60, PASS, 100).status, 61, None, 100).status
    # Someone scaled the canary down: the promotion waits for it to carry all traffic.
    sizing = tick(at_100, 120, PROMOTABLE, 60)
    assert sizing.status.phase is Phase.PROGRESSING
    assert sizing.status.promotion == "Promoted"
    done = tick(sizing.status, 150, None, 100)
    assert done.status.phase is Phase.SUCCEEDED


def test_a_fail_rolls_back_at_once_with_the_reason() -> None:
    decision = _tick(_started(), 60, FAIL)
    assert _kinds(decision) == [SetWeight, RemoveCanary]
    assert decision.actions[0] == SetWeight(canary=0)
    assert decision.status.phase is Phase.ROLLED_BACK
    progressing = next(c for c in decision.status.conditions if c.type == "Progressing")
    assert progressing.reason == "BurnRateExceeded"
    assert decision.status.last_analysis is not None
    assert decision.status.last_analysis.verdict == "fail"


def test_silence_past_the_no_data_deadline_rolls_back() -> None:
    status = _started()
    held = _tick(status, 200, SILENT)
    assert held.status.phase is Phase.PROGRESSING
    late = _tick(held.status, 30 + 301, SILENT)
    assert late.status.phase is Phase.ROLLED_BACK
    assert late.status.conditions[-1].reason == "NoDataDeadline"


def test_endless_inconclusive_is_held_at_the_progress_deadline_by_default() -> None:
    assert SPEC.rollout.on_progress_deadline is DeadlineAction.PAUSE
    status = _started()
    for second in range(60, 3600, 30):
        status = _tick(status, second, HOLD).status
        assert status.phase is Phase.PROGRESSING
    over = _tick(status, 3601, HOLD)
    assert over.status.phase is Phase.PAUSED
    assert over.status.pause_reason == "ProgressDeadlineExceeded"
    assert not any(isinstance(a, SetWeight) for a in over.actions)  # traffic stays


def test_endless_inconclusive_rolls_back_at_the_progress_deadline_when_asked() -> None:
    spec = SPEC.model_copy(
        update={
            "rollout": SPEC.rollout.model_copy(
                update={"on_progress_deadline": DeadlineAction.ROLLBACK}
            )
        }
    )
    status = _started()
    for second in range(60, 3600, 30):
        status = decide(
            spec,
            status,
            observed=Observed(revision="r2", canary_capacity=100),
            verdict=HOLD,
            now=T0 + timedelta(seconds=second),
        ).status
    over = decide(
        spec,
        status,
        observed=Observed(revision="r2", canary_capacity=100),
        verdict=HOLD,
        now=T0 + timedelta(seconds=3601),
    )
    assert over.status.phase is Phase.ROLLED_BACK
    assert over.status.conditions[-1].reason == "ProgressDeadlineExceeded"


def test_pause_holds_and_resume_does_not_count_the_pause_against_deadlines() -> None:
    paused = _tick(_started(), 60, command=Command.PAUSE).status
    assert paused.phase is Phase.PAUSED
    still = _tick(paused, 60 + 7200, PASS)
    assert still.status.phase is Phase.PAUSED
    resumed = _tick(still.status, 60 + 7200, command=Command.RESUME).status
    assert resumed.phase is Phase.PROGRESSING
    assert resumed.rollout_started_at == T0 + timedelta(seconds=7200)
    assert _tick(resumed, 7300, HOLD).status.phase is Phase.PROGRESSING


def test_a_fail_rolls_back_even_while_paused() -> None:
    paused = _tick(_started(), 60, command=Command.PAUSE).status
    assert _tick(paused, 90, FAIL).status.phase is Phase.ROLLED_BACK


def test_manual_abort_and_promote() -> None:
    assert _tick(_started(), 60, command=Command.ABORT).status.phase is Phase.ROLLED_BACK
    promoted = _tick(_started(), 60, command=Command.PROMOTE)
    assert promoted.status.phase is Phase.SUCCEEDED
    assert promoted.status.conditions[-1].reason == "PromotedManually"


def test_a_new_version_mid_rollout_restarts_cleanly() -> None:
    status = _tick(_started(), 60, HOLD).status
    decision = _tick(status, 90, revision="r3")
    assert _kinds(decision) == [SetWeight, RemoveCanary, DeployCanary]
    assert decision.status.canary_revision == "r3"
    assert decision.status.comparison == []
    assert decision.status.rollout_started_at == T0 + timedelta(seconds=90)


def test_returning_the_spec_to_stable_cancels_the_canary() -> None:
    decision = _tick(_started(), 60, revision="r1")
    assert _kinds(decision) == [SetWeight, RemoveCanary]
    assert decision.status.phase is Phase.SUCCEEDED
    assert decision.status.canary_revision is None


def test_the_budget_guard_holds_a_rollout_until_allowed_or_resumed() -> None:
    pending = _tick(_stable(), 0, allowed=False)
    assert pending.status.phase is Phase.PENDING
    assert _kinds(pending) == []
    still = _tick(pending.status, 30, allowed=False)
    assert still.status.phase is Phase.PENDING
    forced = _tick(still.status, 60, allowed=False, command=Command.RESUME)
    assert forced.status.phase is Phase.PROGRESSING
    assert any(isinstance(a, EmitEvent) and a.reason == "GuardOverridden" for a in forced.actions)
    # The held revision never had a Deployment: nothing to scale to 0 or remove.
    assert _kinds(forced) == [DeployCanary]
    allowed = _tick(still.status, 60)
    assert _kinds(allowed) == [DeployCanary]
    assert allowed.status.phase is Phase.PROGRESSING


def test_a_rolled_back_revision_stays_rolled_back() -> None:
    rolled = _tick(_started(), 60, FAIL).status
    again = _tick(rolled, 90, PROMOTABLE)
    assert again.actions == ()
    assert again.status == rolled


def _first(serving: str) -> Decision:
    """The first version (r1) deployed from a spec with serving settings ``serving``."""
    return decide(
        SPEC, None, observed=Observed(revision="r1", serving=serving), verdict=None, now=T0
    )


def _events(decision: Decision) -> list[str]:
    return [a.reason for a in decision.actions if isinstance(a, EmitEvent)]


def test_changed_serving_settings_are_applied_to_the_stable() -> None:
    first = _first("s1")
    assert first.status.applied_serving == "s1"
    unchanged = _tick(first.status, 30, revision="r1", serving="s1")
    assert unchanged.actions == ()
    changed = _tick(first.status, 30, revision="r1", serving="s2")
    assert list(changed.actions[:2]) == [Reconfigure(revision="r1"), SetWeight(canary=0)]
    assert _events(changed) == ["Reconfigured"]
    assert changed.status.applied_serving == "s2"
    assert changed.status.phase is Phase.SUCCEEDED
    again = _tick(changed.status, 60, revision="r1", serving="s2")
    assert again.actions == ()


def test_unknown_applied_serving_settings_are_applied_once() -> None:
    """A status written before appliedServing existed: apply the settings once."""
    stable = _stable()
    assert stable.applied_serving is None
    decision = _tick(stable, 30, revision="r1", serving="s1")
    assert _kinds(decision) == [Reconfigure, SetWeight]
    assert _tick(decision.status, 60, revision="r1", serving="s1").actions == ()


def test_a_new_version_alone_reconfigures_nothing() -> None:
    started = _tick(_first("s1").status, 0, serving="s1")
    assert _kinds(started) == [DeployCanary]
    later = _tick(_tick(started.status, 30, serving="s1").status, 60, PROMOTABLE, serving="s1")
    assert Reconfigure not in _kinds(later)


def test_a_spec_of_another_revision_keeps_the_stables_target_port() -> None:
    """Its target port may be the new revision's pods': the Services keep theirs."""
    started = _tick(_first("s1").status, 0, serving="s1")
    progressing = _tick(started.status, 30, serving="s2")
    assert Reconfigure(revision="r1", canary="r2", stable_spec=False) in progressing.actions
    assert SetWeight(canary=0) not in progressing.actions
    assert progressing.status.phase is Phase.PROGRESSING
    # A new version and new settings in one change: the canary starts, then the settings.
    both = _tick(_first("s1").status, 0, serving="s2")
    assert _kinds(both) == [DeployCanary, Reconfigure]
    assert both.actions[-2] == Reconfigure(revision="r1", canary="r2", stable_spec=False)
    # Rolled back with the spec still at the rejected version: NAME-canary is the stable's.
    rolled = _tick(progressing.status, 60, FAIL, serving="s2")
    assert rolled.status.phase is Phase.ROLLED_BACK
    assert rolled.actions.count(SetWeight(canary=0)) == 1
    edited = _tick(rolled.status, 90, serving="s3")
    assert _kinds(edited) == [Reconfigure]
    assert edited.actions[0] == Reconfigure(revision="r1", canary=None, stable_spec=False)
    assert edited.status == rolled.status.model_copy(update={"applied_serving": "s3"})
    pending = _tick(_first("s1").status, 0, allowed=False, serving="s2")
    assert Reconfigure(revision="r1", canary=None, stable_spec=False) in pending.actions


def test_returning_the_spec_to_stable_cancels_the_canary_then_applies_its_settings() -> None:
    started = _tick(_tick(_first("s1").status, 0, serving="s1").status, 30, serving="s1")
    decision = _tick(started.status, 60, revision="r1", serving="s2")
    assert _kinds(decision) == [SetWeight, RemoveCanary, Reconfigure]
    assert Reconfigure(revision="r1") in decision.actions
    assert decision.status.applied_serving == "s2"


def test_a_promotion_applies_the_settings_of_its_tick() -> None:
    started = _tick(_tick(_first("s1").status, 0, serving="s1").status, 30, serving="s1")
    at_50 = _tick(_tick(started.status, 60, PASS, serving="s1").status, 61, serving="s1")
    promoted = _tick(at_50.status, 600, PROMOTABLE, serving="s2")
    assert promoted.status.stable_revision == "r2"
    assert promoted.status.applied_serving == "s2"
    assert Reconfigure not in _kinds(promoted)
    assert _tick(promoted.status, 630, serving="s2").actions == ()


# --- properties ------------------------------------------------------------------

verdicts = st.sampled_from([PASS, PROMOTABLE, HOLD, SILENT, FAIL, None])
commands = st.sampled_from([None, None, None, None, *Command])
steps = st.lists(
    st.tuples(
        verdicts,
        commands,
        st.booleans(),  # canary ready
        st.integers(min_value=1, max_value=900),  # seconds to the next tick
        st.sampled_from(["r2", "r2", "r2", "r2", "r3", "r1"]),
    ),
    min_size=1,
    max_size=60,
)


def _run(history: list[tuple[Any, ...]]) -> list[tuple[Decision, StepVerdict | None]]:
    status = _stable()
    now = 0.0
    out = []
    for verdict, command, ready, gap, revision in history:
        now += gap
        decision = _tick(status, now, verdict, ready=ready, command=command, revision=revision)
        out.append((decision, verdict))
        status = decision.status
    return out


@settings(max_examples=300, deadline=None)
@given(steps)
def test_weights_stay_in_range_and_sum_to_100(history: list[tuple[Any, ...]]) -> None:
    for decision, _ in _run(history):
        for action in decision.actions:
            if isinstance(action, SetWeight):
                assert 0 <= action.canary <= 100
                assert action.canary + action.stable == 100
        weight = decision.status.canary_weight
        assert 0 <= weight.applied <= 100
        assert 0 <= weight.desired <= 100


@settings(max_examples=300, deadline=None)
@given(steps)
def test_never_promotes_on_inconclusive_or_without_a_promotable_pass(
    history: list[tuple[Any, ...]],
) -> None:
    status = _stable()
    now = 0.0
    for verdict, command, ready, gap, revision in history:
        now += gap
        decision = _tick(status, now, verdict, ready=ready, command=command, revision=revision)
        if any(isinstance(a, PromoteCanary) for a in decision.actions):
            # Promotion completes only what a promotable pass or a person started.
            assert (
                status.promotion is not None
                or command is Command.PROMOTE
                or (verdict is not None and verdict.promotable)
            ), (verdict, command)
        if decision.status.promotion is not None and status.promotion is None:
            started_by = command is Command.PROMOTE or (verdict is not None and verdict.promotable)
            assert started_by, (verdict, command)
        status = decision.status


@settings(max_examples=300, deadline=None)
@given(steps)
def test_terminal_phases_absorb_while_the_revision_stays(history: list[tuple[Any, ...]]) -> None:
    status = _stable()
    now = 0.0
    for verdict, command, ready, gap, revision in history:
        now += gap
        decision = _tick(status, now, verdict, ready=ready, command=command, revision=revision)
        pinned = (status.phase is Phase.ROLLED_BACK and revision == status.canary_revision) or (
            status.phase is Phase.SUCCEEDED and revision == status.stable_revision
        )
        if pinned:  # whatever the verdict or command
            assert decision.actions == ()
            assert decision.status.phase == status.phase
        status = decision.status


@settings(max_examples=200, deadline=None)
@given(steps)
def test_the_same_inputs_give_the_same_outputs(history: list[tuple[Any, ...]]) -> None:
    first = [d for d, _ in _run(history)]
    second = [d for d, _ in _run(history)]
    assert first == second


def test_a_distribution_shift_with_action_pause_pauses_with_the_reason() -> None:
    shift = StepVerdict(
        Outcome.INCONCLUSIVE,
        "PredictionDistributionShift",
        "score/distribution: psi 0.41",
        pause=True,
        has_new_data=True,
    )
    decision = _tick(_started(), 60, shift)
    assert decision.status.phase is Phase.PAUSED
    assert decision.status.pause_reason == "PredictionDistributionShift"
    assert _kinds(decision) == []  # traffic stays where it was


def test_the_progress_deadline_can_pause_for_a_person_instead_of_rolling_back() -> None:
    patient = SPEC.model_copy(
        update={
            "rollout": SPEC.rollout.model_copy(
                update={"on_progress_deadline": DeadlineAction.PAUSE}
            )
        }
    )

    def tick(status: ModelDeploymentStatus, seconds: float, **kwargs: Any) -> Decision:
        return decide(
            patient,
            status,
            observed=Observed(revision="r2", canary_capacity=100),
            verdict=kwargs.get("verdict"),
            now=T0 + timedelta(seconds=seconds),
            command=kwargs.get("command"),
        )

    status = _started()
    for second in range(60, 3600, 30):
        status = tick(status, second, verdict=HOLD).status
    paused = tick(status, 3601, verdict=HOLD)
    assert paused.status.phase is Phase.PAUSED
    assert paused.status.pause_reason == "ProgressDeadlineExceeded"
    assert _kinds(paused) == []  # traffic stays where it was
    assert tick(paused.status, 3700, verdict=FAIL).status.phase is Phase.ROLLED_BACK
    resumed = tick(paused.status, 4000, command=Command.RESUME).status
    assert resumed.phase is Phase.PROGRESSING
    assert resumed.rollout_started_at == T0 + timedelta(seconds=4000)  # a new deadline
    assert tick(resumed, 4030, verdict=HOLD).status.phase is Phase.PROGRESSING


def test_a_canary_scaled_down_by_someone_else_is_restored_and_the_rollout_goes_on() -> None:
    status = _started()
    decision = decide(
        SPEC,
        status,
        observed=Observed(revision="r2", canary_capacity=0, canary_replicas_short=0),
        verdict=HOLD,
        now=T0 + timedelta(seconds=60),
    )
    assert decision.actions[0] == DeployCanary(revision="r2", version="v2", weight=10)
    restored = [a for a in decision.actions if isinstance(a, EmitEvent)]
    assert [e.reason for e in restored] == ["CanaryRestored"]
    assert "scaled to 0 replicas" in restored[0].message
    assert decision.status.phase is Phase.PROGRESSING
    assert decision.status.canary_weight.applied == 10
    # As Roost sized it: nothing to restore.
    assert DeployCanary not in _kinds(_tick(status, 60, HOLD))


def test_phase_changes_carry_the_notice_their_notifications_are_sent_on() -> None:
    from roost.api.modeldeployment import Notice

    def notices(decision: Decision) -> list[Notice | None]:
        return [a.notice for a in decision.actions if isinstance(a, EmitEvent)]

    started = _tick(_stable(), 0)
    assert notices(started) == [Notice.STARTED]
    stepped = _tick(started.status, 30)
    assert notices(stepped) == [Notice.STEP_ADVANCED]
    assert notices(_tick(stepped.status, 60, FAIL)) == [Notice.ROLLED_BACK]
    assert notices(_tick(stepped.status, 60, command=Command.PAUSE)) == [Notice.PAUSED]
    held = _tick(_stable(), 0, allowed=False)
    assert notices(held) == [Notice.PAUSED]
    assert notices(_tick(stepped.status, 60, command=Command.PROMOTE)) == [Notice.PROMOTED]
