"""The canary state machine: ``(spec, status, verdict, now) -> (actions, status)``.

Pure: no clock, no I/O. Every fact it needs to continue after an operator
restart is in the status it returns (timestamps, the step index, the weights,
the comparison state), so replaying a tick gives the same decision.

Phases: a new revision starts ``Progressing`` (or waits ``Pending`` behind the
budget guard), moves through the steps while verdicts pass, and ends
``Succeeded`` (promoted) or ``RolledBack``. Terminal phases absorb until the
spec names another revision. A change of the spec's serving settings (replicas,
autoscaling, the Service's ports, traffic settings), which makes no new version, is
applied to the stable's objects in any phase (``status.appliedServing``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from roost import durations
from roost.analysis.outcome import Outcome
from roost.analysis.verdict import StepVerdict
from roost.api.modeldeployment import (
    TERMINAL_PHASES,
    Analysis,
    CanaryWeight,
    DeadlineAction,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Notice,
    Phase,
    Split,
    WebhookType,
)
from roost.api.status import new_condition, set_condition
from roost.rollout import forecast, schedule
from roost.rollout.actions import (
    Action,
    DeployCanary,
    DeployStable,
    EmitEvent,
    EventType,
    PromoteCanary,
    Reconfigure,
    RemoveCanary,
    RetireStable,
    SetWeight,
)


class Command(StrEnum):
    """Manual control, from ``roost promote|abort|pause|resume`` or the annotation."""

    PROMOTE = "promote"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"
    RESET_REFERENCE = "reset-reference"  # the drift watch's; the rollout ignores it


@dataclass(frozen=True)
class HookGates:
    """What the rollout's webhooks answered, as the adapters called them before the tick.

    ``pre_rollout``: None while the preRollout webhooks of this canary have not all
    answered, True once they passed (or failed with failurePolicy ignore), False when
    one failed (``message`` says how). The confirm flags are this tick's answers to the
    move waiting now (the next step, or the promotion)."""

    pre_rollout: bool | None = None
    step_confirmed: bool = False
    promotion_confirmed: bool = False
    message: str = ""


@dataclass(frozen=True)
class Observed:
    """Facts about the cluster the adapters read before the tick."""

    revision: str  # hash of the spec's pod template and model version
    canary_capacity: int = 0  # the largest weight (%) the canary's ready replicas can carry
    rollout_allowed: bool = True  # the stable's error budget (and drift watch) permit a rollout
    guard_message: str = ""
    guard_reason: str = "ErrorBudgetLow"
    # The canary Deployment's replicas when someone scaled it below what its weight needs
    # (None: as Roost sized it). Roost owns the canary's replicas during a rollout.
    canary_replicas_short: int | None = None
    # Hash of the spec's serving settings (roost.workloads.serving); None when unknown
    # (the simulator): then their changes are not applied (see _Tick.reconfigure).
    serving: str | None = None
    hooks: HookGates = HookGates()


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    status: ModelDeploymentStatus


PROGRESS_DEADLINE = "ProgressDeadlineExceeded"
MANUAL_PROMOTION = "PromotedManually"
ACTIVE_PHASES = frozenset({Phase.PROGRESSING, Phase.PAUSED, Phase.PENDING})


def _with(
    status: ModelDeploymentStatus,
    now: datetime,
    *,
    progressing: tuple[bool, str, str] | None = None,
    **update: object,
) -> ModelDeploymentStatus:
    """A copy of ``status`` with fields replaced and the Progressing condition set."""
    if progressing is not None:
        ok, reason, message = progressing
        update["conditions"] = set_condition(
            status.conditions, new_condition("Progressing", ok, reason, message, now)
        )
        update.setdefault("message", message)
    return status.model_copy(update=update)


def _seconds_since(then: datetime | None, now: datetime) -> float:
    return 0.0 if then is None else (now - then).total_seconds()


class _Tick:
    """One decision in progress: the inputs and the actions gathered so far."""

    def __init__(
        self,
        spec: ModelDeploymentSpec,
        status: ModelDeploymentStatus,
        observed: Observed,
        now: datetime,
    ) -> None:
        self.spec = spec
        self.status = status
        self.observed = observed
        self.now = now
        self.actions: list[Action] = []

    def event(
        self, type_: EventType, reason: str, message: str, notice: Notice | None = None
    ) -> None:
        self.actions.append(EmitEvent(type=type_, reason=reason, message=message, notice=notice))

    def done(self) -> Decision:
        return Decision(actions=tuple(self.actions), status=self.status)

    def canary(self) -> tuple[str, str]:
        """Revision and version of the canary in flight (only asked mid-rollout)."""
        revision, version = self.status.canary_revision, self.status.canary_version
        if revision is None or version is None:
            raise RuntimeError("no canary in flight")  # a bug in the machine, not user input
        return revision, version

    @property
    def interval(self) -> float:
        return self.spec.rollout.interval_seconds

    def reconfigure(self) -> bool:
        """Apply changed serving settings (replicas, autoscaling, the Service's ports,
        traffic settings) to the stable revision's objects, after this tick's transition.

        When the spec names another revision than the stable's (a rollout runs, waits,
        or was rolled back), its target port may be that revision's pods': the stable's
        Services keep the one they have (NAME-canary takes the spec's while a canary
        runs), and the spec's follows at promotion. When the spec names the stable's
        revision, the route is rewritten too, at 0 % canary; during a rollout the
        gateway provider's per-tick check keeps the route's ports in step with the spec.
        """
        serving = self.observed.serving
        revision = self.status.stable_revision
        if serving is None or revision is None or serving == self.status.applied_serving:
            return False
        running = self.status.phase in (Phase.PROGRESSING, Phase.PAUSED)
        canary = self.status.canary_revision if running else None
        own = self.observed.revision == revision
        self.actions.append(Reconfigure(revision=revision, canary=canary, stable_spec=own))
        if own and SetWeight(canary=0) not in self.actions:
            self.actions.append(SetWeight(canary=0))
        sized = "its HPA" if self.spec.autoscaling else f"{self.spec.replicas} replicas"
        what = (
            f"Services, {sized} and the traffic route"
            if own
            else f"the Services' port and {sized}; they keep stable's target port while "
            f"the spec names {self.spec.model.version}"
        )
        self.event(
            EventType.NORMAL,
            "Reconfigured",
            f"serving settings applied to stable {self.status.stable_version}: {what}",
        )
        self.status = _with(self.status, self.now, applied_serving=serving)
        return True

    # --- transitions -------------------------------------------------------------

    def start(self, *, superseded: bool) -> Decision:
        """Begin a rollout of the observed revision, or wait behind the budget guard."""
        old = self.status.canary_revision
        # A Pending revision (held by the guard) never had a Deployment or traffic.
        if old and self.status.phase in (Phase.PROGRESSING, Phase.PAUSED):
            self.actions += [SetWeight(canary=0), RemoveCanary(revision=old)]
        if superseded and old:
            self.event(
                EventType.NORMAL,
                "RolloutRestarted",
                f"revision {self.observed.revision} replaces canary {old}; evidence starts anew",
            )
        version = self.spec.model.version
        if not self.observed.rollout_allowed:
            self.status = _with(
                self.status,
                self.now,
                progressing=(False, self.observed.guard_reason, self.observed.guard_message),
                phase=Phase.PENDING,
                canary_revision=self.observed.revision,
                canary_version=version,
                canary_weight=CanaryWeight(),
            )
            self.event(
                EventType.WARNING, "RolloutBlocked", self.observed.guard_message, Notice.PAUSED
            )
            return self.done()
        first = self.spec.rollout.steps[0].split
        self.actions.append(
            DeployCanary(
                revision=self.observed.revision, version=version, weight=first.canary_share
            )
        )
        message = f"canary {version} starting; first step {first.describe()} once it is ready"
        self.event(EventType.NORMAL, "RolloutStarted", message, Notice.STARTED)
        self.status = _with(
            self.status,
            self.now,
            progressing=(True, "RolloutStarted", message),
            phase=Phase.PROGRESSING,
            canary_revision=self.observed.revision,
            canary_version=version,
            canary_weight=CanaryWeight.of(first, Split()),
            current_step=-1,
            analyzed_until=None,
            rollout_started_at=self.now,
            step_started_at=self.now,
            last_data_at=self.now,
            paused_at=None,
            pause_reason=None,
            promotion=None,
            failed_checks=0,
            inconclusive_checks=0,
            last_analysis=None,
            comparison=[],
            canary_burn_rate=None,
        )
        return self.done()

    def rollback(self, reason: str, message: str) -> Decision:
        revision = self.status.canary_revision
        self.actions.append(SetWeight(canary=0))
        if revision:
            self.actions.append(RemoveCanary(revision=revision))
        text = f"rolled back {self.status.canary_version}: {message}"
        self.event(EventType.WARNING, reason, text, Notice.ROLLED_BACK)
        self.status = _with(
            self.status,
            self.now,
            progressing=(False, reason, text),
            phase=Phase.ROLLED_BACK,
            canary_weight=CanaryWeight(),
            paused_at=None,
            promotion=None,
        )
        return self.done()

    def promote(self, reason: str, message: str) -> Decision:
        revision, version = self.canary()
        old = self.status.stable_revision
        self.actions += [SetWeight(canary=100), PromoteCanary(revision=revision, version=version)]
        self.actions.append(SetWeight(canary=0))
        if old and old != revision:
            self.actions.append(RetireStable(revision=old))
        text = f"promoted {version} to stable: {message}"
        self.event(EventType.NORMAL, reason, text, Notice.PROMOTED)
        self.status = _with(
            self.status,
            self.now,
            progressing=(False, reason, text),
            phase=Phase.SUCCEEDED,
            stable_revision=revision,
            stable_version=version,
            canary_revision=None,
            canary_version=None,
            canary_weight=CanaryWeight(),
            paused_at=None,
            promotion=None,
            # The promotion applied the spec of this tick to the stable's objects.
            applied_serving=self.observed.serving,
        )
        return self.done()

    def begin_promotion(self, reason: str, message: str) -> Decision:
        """Size the canary for all traffic; promotion completes once it is ready for it."""
        revision, version = self.canary()
        self.actions.append(DeployCanary(revision=revision, version=version, weight=100))
        self.status = _with(
            self.status,
            self.now,
            progressing=(True, "Promoting", f"sizing {version} for all traffic: {message}"),
            phase=Phase.PROGRESSING,
            paused_at=None,
            pause_reason=None,
            promotion=reason,
            canary_weight=CanaryWeight.of(
                Split(weight=100), self.status.canary_weight.applied_split
            ),
        )
        return self.apply_pending_weight() or self.done()

    def pause(self, reason: str, message: str) -> Decision:
        self.event(EventType.NORMAL, "RolloutPaused", message, Notice.PAUSED)
        self.status = _with(
            self.status,
            self.now,
            progressing=(True, reason, message),
            phase=Phase.PAUSED,
            paused_at=self.now,
            pause_reason=reason,
        )
        return self.done()

    def resume(self) -> Decision:
        """Back to Progressing; clocks move forward by the time spent paused.

        A rollout paused at its progress deadline gets a new one from now: the
        person who resumed it decided it deserves more time.
        """
        paused = timedelta(seconds=_seconds_since(self.status.paused_at, self.now))

        def shift(value: datetime | None) -> datetime | None:
            return None if value is None else value + paused

        started = shift(self.status.rollout_started_at)
        if self.status.pause_reason == PROGRESS_DEADLINE:
            started = self.now

        message = f"resumed after {durations.format_seconds(max(paused.total_seconds(), 0.001))}"
        self.event(EventType.NORMAL, "RolloutResumed", message)
        self.status = _with(
            self.status,
            self.now,
            progressing=(True, "RolloutResumed", message),
            phase=Phase.PROGRESSING,
            paused_at=None,
            pause_reason=None,
            rollout_started_at=started,
            step_started_at=shift(self.status.step_started_at),
            last_data_at=shift(self.status.last_data_at),
        )
        return self.done()

    def apply_pending_weight(self) -> Decision | None:
        """Move traffic to the desired weight once the canary has the capacity for it."""
        desired = self.status.canary_weight.desired_split
        promoting = self.status.promotion is not None
        # A promotion waits here even when the canary already carries its weight (a last
        # step of 100 %): it completes once the canary is ready for all traffic.
        if desired == self.status.canary_weight.applied_split and not promoting:
            return None
        held = self.hook_gate(promoting)
        if held is not None:
            return held
        if self.observed.canary_capacity < desired.canary_share:
            self.status = _with(
                self.status,
                self.now,
                message=(
                    f"waiting for the canary to be ready for {desired.canary_share}% of requests"
                ),
            )
            return self.done()
        if self.status.promotion is not None:
            analysis = self.status.last_analysis
            return self.promote(self.status.promotion, analysis.message if analysis else "")
        step = self.status.current_step + 1
        self.actions.append(
            SetWeight(canary=desired.weight, mirror=desired.mirror, match=desired.match)
        )
        message = f"step {step + 1}/{len(self.spec.rollout.steps)}: {desired.describe()}"
        self.event(EventType.NORMAL, "StepAdvanced", message, Notice.STEP_ADVANCED)
        self.status = _with(
            self.status,
            self.now,
            progressing=(True, "StepAdvanced", message),
            canary_weight=CanaryWeight.of(desired, desired),
            current_step=step,
            step_started_at=self.now,
            # The next window starts after the split changed, never across it.
            analyzed_until=schedule.ceil_to(self.now, self.interval),
        )
        return self.done()

    def hook_gate(self, promoting: bool) -> Decision | None:
        """Hold (or, for a failed preRollout webhook, roll back) a traffic move its
        webhooks have not allowed; None when they allow it or there are none."""
        rollout, hooks = self.spec.rollout, self.observed.hooks
        said = f": {hooks.message}" if hooks.message else ""
        if promoting:
            # A person's promote is the confirmation.
            if self.status.promotion == MANUAL_PROMOTION or hooks.promotion_confirmed:
                return None
            if not rollout.hooks(WebhookType.CONFIRM_PROMOTION):
                return None
            return self.hold(f"waiting for the confirmPromotion webhooks to answer 2xx{said}")
        if self.status.current_step < 0:
            if not rollout.hooks(WebhookType.PRE_ROLLOUT) or hooks.pre_rollout is True:
                return None
            if hooks.pre_rollout is False:
                return self.rollback("PreRolloutWebhookFailed", f"before any traffic{said}")
            return self.hold("waiting for the preRollout webhooks before any traffic")
        if hooks.step_confirmed or not rollout.hooks(WebhookType.CONFIRM_STEP):
            return None
        return self.hold(f"waiting for the confirmStep webhooks to answer 2xx{said}")

    def hold(self, message: str) -> Decision:
        self.status = _with(self.status, self.now, message=message)
        return self.done()

    def record(self, verdict: StepVerdict) -> None:
        """Keep the verdict's evidence and the sequential tests' state in status, with the
        promotion forecast; warn once when progressDeadline cannot be met at this traffic."""
        status = self.status
        outlook = forecast.forecast(self.spec, status, verdict, self.now)
        if (
            outlook is not None
            and status.phase is Phase.PROGRESSING
            and status.promotion is None
            and forecast.should_warn(outlook)
        ):
            self.event(
                EventType.WARNING,
                "ProgressDeadlineUnreachable",
                f"{status.canary_version}: {forecast.describe(outlook)}",
            )
            outlook = outlook.model_copy(update={"warned": True})
        self.status = _with(
            status,
            self.now,
            last_analysis=Analysis(
                at=self.now,
                verdict=verdict.outcome.value,
                promotable=verdict.promotable,
                reason=verdict.reason,
                message=verdict.message,
                step=status.current_step,
                canary_weight=status.canary_weight.applied,
                gates=list(verdict.gates),
                forecast=outlook,
            ),
            comparison=list(verdict.comparison),
            canary_burn_rate=verdict.canary_burn_rate,
            last_data_at=self.now if verdict.has_new_data else status.last_data_at,
            analyzed_until=verdict.at or status.analyzed_until,
            failed_checks=status.failed_checks + (verdict.outcome is Outcome.FAIL),
            inconclusive_checks=status.inconclusive_checks
            + (verdict.outcome is Outcome.INCONCLUSIVE),
            message=verdict.message,
        )

    def analyse(self, verdict: StepVerdict) -> Decision:
        """Act on a recorded, non-failing verdict while Progressing: hold, step up or promote."""
        rollout = self.spec.rollout
        silent = _seconds_since(self.status.last_data_at, self.now)
        if silent > durations.parse_seconds(rollout.no_data_deadline):
            text = (
                f"no canary data for {durations.format_seconds(round(silent))} "
                f"(noDataDeadline {rollout.no_data_deadline})"
            )
            if rollout.on_no_data is DeadlineAction.PAUSE:
                return self.pause("NoDataDeadline", text)
            return self.rollback("NoDataDeadline", text)
        step = self.status.current_step
        if verdict.outcome is Outcome.INCONCLUSIVE:
            return self.done()
        dwell = rollout.dwell_seconds(step)
        if _seconds_since(self.status.step_started_at, self.now) < dwell:
            return self.done()
        if step + 1 < len(rollout.steps):
            split = rollout.steps[step + 1].split
            revision, version = self.canary()
            self.actions.append(
                DeployCanary(revision=revision, version=version, weight=split.canary_share)
            )
            self.status = _with(
                self.status,
                self.now,
                canary_weight=CanaryWeight.of(split, self.status.canary_weight.applied_split),
            )
            # Move the traffic now if the canary already has the capacity.
            return self.apply_pending_weight() or self.done()
        if verdict.promotable:
            return self.begin_promotion("Promoted", verdict.message)
        self.status = _with(
            self.status,
            self.now,
            message="last step: waiting for the promotion evidence: " + verdict.message,
        )
        return self.done()


def decide(
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus | None,
    *,
    observed: Observed,
    verdict: StepVerdict | None,
    now: datetime,
    command: Command | None = None,
) -> Decision:
    """One tick of the rollout. ``verdict`` is None when no analysis ran this tick."""
    tick = _Tick(spec, status or ModelDeploymentStatus(), observed, now)
    decision = _transition(tick, verdict, command)
    if tick.reconfigure():
        return tick.done()
    return decision


def _transition(tick: _Tick, verdict: StepVerdict | None, command: Command | None) -> Decision:
    """The rollout's move this tick; :meth:`_Tick.reconfigure` follows it."""
    spec, observed, now = tick.spec, tick.observed, tick.now
    current = tick.status
    revision = observed.revision

    if current.stable_revision is None:
        tick.actions += [
            DeployStable(revision=revision, version=spec.model.version),
            SetWeight(canary=0),
        ]
        message = f"serving {spec.model.version} as the first stable version"
        tick.event(EventType.NORMAL, "Initialized", message)
        tick.status = _with(
            current,
            now,
            progressing=(False, "Initialized", message),
            phase=Phase.SUCCEEDED,
            stable_revision=revision,
            stable_version=spec.model.version,
            applied_serving=observed.serving,
        )
        return tick.done()

    if revision == current.stable_revision:
        if current.canary_revision and current.phase in ACTIVE_PHASES:
            old = current.canary_revision
            tick.actions += [SetWeight(canary=0), RemoveCanary(revision=old)]
            message = f"spec returned to stable {current.stable_version}; canary cancelled"
            tick.event(EventType.NORMAL, "RolloutCancelled", message)
            tick.status = _with(
                current,
                now,
                progressing=(False, "RolloutCancelled", message),
                phase=Phase.SUCCEEDED,
                canary_revision=None,
                canary_version=None,
                canary_weight=CanaryWeight(),
                paused_at=None,
            )
        elif current.phase is None:
            tick.status = _with(current, now, phase=Phase.SUCCEEDED)
        return tick.done()

    if revision != current.canary_revision:
        return tick.start(superseded=current.phase in ACTIVE_PHASES)

    phase = current.phase
    if phase in TERMINAL_PHASES:
        return tick.done()  # absorbing until the spec names another revision
    if phase is Phase.PENDING:
        if observed.rollout_allowed or command is Command.RESUME:
            return tick.start(superseded=False) if observed.rollout_allowed else _forced(tick)
        return tick.done()

    if observed.canary_replicas_short is not None and phase in (Phase.PROGRESSING, Phase.PAUSED):
        revision, version = tick.canary()
        weight = current.canary_weight.share_in_force
        tick.actions.append(DeployCanary(revision=revision, version=version, weight=weight))
        tick.event(
            EventType.WARNING,
            "CanaryRestored",
            f"the canary Deployment was scaled to {observed.canary_replicas_short} replicas, "
            f"fewer than {weight}% of traffic needs; restored (Roost sizes the canary "
            "during a rollout)",
        )
    if command is Command.ABORT:
        return tick.rollback("Aborted", "aborted by a person")
    if command is Command.PROMOTE:
        return tick.begin_promotion(MANUAL_PROMOTION, "promoted by a person, skipping analysis")
    if verdict is not None:
        tick.record(verdict)
        if verdict.outcome is Outcome.FAIL:  # a fail rolls back even while paused
            return tick.rollback(verdict.reason, verdict.message)
        if verdict.pause and phase is Phase.PROGRESSING:  # e.g. a distribution shift
            return tick.pause(verdict.reason, verdict.message)

    if phase is Phase.PAUSED:
        if command is Command.RESUME:
            return tick.resume()
        return tick.done()
    if command is Command.PAUSE:
        return tick.pause("PausedManually", "paused by a person")

    deadline = durations.parse_seconds(spec.rollout.progress_deadline)
    elapsed = _seconds_since(current.rollout_started_at, now)
    if elapsed > deadline:
        text = (
            f"no promotion within progressDeadline {spec.rollout.progress_deadline} "
            f"(inconclusive checks: {current.inconclusive_checks})"
        )
        if spec.rollout.on_progress_deadline is DeadlineAction.PAUSE:
            return tick.pause(PROGRESS_DEADLINE, text)
        return tick.rollback(PROGRESS_DEADLINE, text)
    pending = tick.apply_pending_weight()
    if pending is not None:
        return pending
    if verdict is None:
        return tick.done()
    return tick.analyse(verdict)


def _forced(tick: _Tick) -> Decision:
    """A person resumed a rollout the guard (error budget or drift) held back."""
    reason = tick.observed.guard_reason
    tick.observed = replace(tick.observed, rollout_allowed=True, guard_message="")
    tick.event(
        EventType.WARNING,
        "GuardOverridden",
        f"rollout started by a person despite the guard ({reason})",
    )
    return tick.start(superseded=False)
