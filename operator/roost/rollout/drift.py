"""The drift watch after promotion: from a window's histogram to status, condition and events.

Pure. The reconciler reads the due window of the stable version's histograms (one
batched query per histogram, like the rollout's SLIs) and calls ``advance``; this
module updates each compareTo-reference check's ``roost.analysis.watch`` state, renders
it as ``status.drift``, sets the ``Drifted`` condition and says which Events to post.

A watch belongs to one stable version: when another version is promoted, or a person
resets the reference (``roost reset-reference``), the old reference is dropped and a new
one is collected from the next windows. No window is read while a rollout is running
(the stable's share changes then, and the canary gate is watching); the watch resumes
at the next window boundary after it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from roost.analysis import watch
from roost.api.modeldeployment import DriftWatchStatus, Notice
from roost.api.slopolicy import CompareTo, DistributionCheck, DriftAction, SLOPolicySpec
from roost.api.status import Condition, new_condition, set_condition
from roost.rollout.actions import EmitEvent, EventType
from roost.slo.readings import HistogramReading

DRIFTED = "Drifted"


def reference_checks(policy: SLOPolicySpec) -> list[DistributionCheck]:
    return [d for d in policy.distributions if d.compare_to is CompareTo.REFERENCE]


@dataclass(frozen=True)
class WatchUpdate:
    drift: list[DriftWatchStatus]
    conditions: list[Condition]
    events: list[EmitEvent] = field(default_factory=list)


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else f"{value:g}"


def _shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts)
    return [round(c / total, 6) if total > 0 else 0.0 for c in counts]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render(
    check: DistributionCheck,
    version: str,
    state: watch.WatchState,
    *,
    previous: DriftWatchStatus | None,
    watched_until: datetime | None,
    reference_since: datetime | None,
    now: datetime,
) -> DriftWatchStatus:
    """One check's status entry from its watch state."""
    run = state.run if state.run else ()
    stats = {
        "psi": watch.effect("psi", run, state.reference) if run else None,
        "ks": watch.effect("ks", run, state.reference) if run else None,
        "chi2": watch.effect("chi2", run, state.reference) if run else None,
    }
    value = watch.judged_effect(check.statistic.value, run, state.reference) if run else None
    stage = state.stage
    action = check.effective_action.value
    assert action in ("alert", "pause")
    was_complete = previous is not None and previous.stage != watch.WatchStage.COLLECTING.value
    taken_at = previous.reference_taken_at if previous is not None else None
    if state.complete and not was_complete:
        taken_at = now
    drifted_at = previous.drifted_at if previous is not None else None
    if state.drifted and drifted_at is None:
        drifted_at = now
    ln_alarm = math.log(check.alarm_windows)
    if stage is watch.WatchStage.COLLECTING:
        message = (
            f"collecting the reference of {version}: {state.reference_total:.0f} of "
            f"{check.min_samples} observations over {state.reference_windows} windows"
        )
    else:
        message = (
            f"{check.statistic.value} {_fmt(value)} noise-corrected (drift at "
            f"{check.fail_threshold:g}) over "
            f"the last {state.run_windows} windows ({state.run_total:.0f} observations) vs "
            f"the reference of {state.reference_total:.0f}; PSI {_fmt(stats['psi'])}, "
            f"KS {_fmt(stats['ks'])}, Cohen's w {_fmt(stats['chi2'])}; ln M {state.ln_m:.2f} "
            f"(alarms at {ln_alarm:.2f}); {state.windows} windows watched"
        )
    return DriftWatchStatus(
        name=check.name,
        version=version,
        stage=stage.value,
        watched_until=watched_until,
        reference_since=reference_since,
        reference_taken_at=taken_at,
        drifted_at=drifted_at,
        statistic=check.statistic.value,
        value=value,
        threshold=check.fail_threshold,
        warn_threshold=check.warn_level,
        action=action,
        psi=stats["psi"],
        ks=stats["ks"],
        cohens_w=stats["chi2"],
        ln_m=state.ln_m,
        ln_alarm=ln_alarm,
        samples=state.run_total,
        reference_samples=state.reference_total,
        bounds=[_bound(b) for b in state.bounds],
        reference_shares=_shares(state.reference),
        recent_shares=_shares(run),
        message=message,
        state=state.to_dict(),
    )


def _condition(
    conditions: list[Condition], drift: list[DriftWatchStatus], now: datetime, generation: int
) -> list[Condition]:
    if not drift:
        return [c for c in conditions if c.type != DRIFTED]
    drifted = [d for d in drift if d.stage == watch.WatchStage.DRIFTED.value]
    collecting = [d for d in drift if d.stage == watch.WatchStage.COLLECTING.value]
    if drifted:
        drifting, reason = True, "PredictionDrift"
        message = "; ".join(f"{d.name}: {d.message}" for d in drifted)
    elif collecting:
        drifting, reason = False, "CollectingReference"
        message = "; ".join(f"{d.name}: {d.message}" for d in collecting)
    else:
        drifting, reason = False, "NoDrift"
        message = "; ".join(f"{d.name}: {d.message}" for d in drift)
    return set_condition(
        conditions,
        new_condition(DRIFTED, drifting, reason, message[:1024], now, generation=generation),
    )


def advance(
    policy: SLOPolicySpec,
    *,
    stable_version: str | None,
    current: Sequence[DriftWatchStatus],
    conditions: list[Condition],
    start: datetime,
    window: tuple[datetime, datetime] | None,
    histograms: Sequence[HistogramReading] | None,
    reset: bool,
    now: datetime,
    generation: int,
) -> WatchUpdate:
    """The watch after one tick.

    ``window`` is the window read (None when none was due or Prometheus could not be
    asked: nothing changes then) and ``histograms`` its readings; ``start`` is where a
    new watch (a new stable version, or a reset) starts reading.
    """
    checks = reference_checks(policy)
    if not checks or stable_version is None:
        return WatchUpdate(drift=[], conditions=_condition(conditions, [], now, generation))
    events: list[EmitEvent] = []
    kept = {d.name: d for d in current if d.version == stable_version}
    if reset and kept:
        events.append(
            EmitEvent(
                EventType.NORMAL,
                "DriftReferenceReset",
                f"reference of {stable_version} reset by a person; collecting a new one",
            )
        )
        kept = {}
    drift: list[DriftWatchStatus] = []
    for check in checks:
        previous = kept.get(check.name)
        state = (
            watch.WatchState.from_dict(previous.state)
            if previous is not None
            else watch.WatchState()
        )
        watched_until = previous.watched_until if previous is not None else start
        since = previous.reference_since if previous is not None else None
        read = window is not None and histograms is not None
        if not read and previous is not None and previous.threshold == check.fail_threshold:
            drift.append(previous)  # nothing new: keep the entry as it is
            continue
        before = state
        if window is not None and histograms is not None:
            reading = next((h for h in histograms if h.name == check.name), None)
            state = watch.observe(
                state,
                reading.stable if reading is not None else None,
                min_samples=check.min_samples,
                ln_alarm=math.log(check.alarm_windows),
                statistic=check.statistic.value,
                threshold=check.fail_threshold,
            )
            watched_until = window[1]
            if since is None and state.reference_windows > 0:
                since = window[0]
        entry = render(
            check,
            stable_version,
            state,
            previous=previous,
            watched_until=watched_until,
            reference_since=since,
            now=now,
        )
        if state.complete and not before.complete:
            events.append(
                EmitEvent(
                    EventType.NORMAL,
                    "DriftReferenceTaken",
                    f"{check.name}: reference of {stable_version} frozen at "
                    f"{state.reference_total:.0f} observations over "
                    f"{state.reference_windows} windows",
                )
            )
        if state.drifted and not before.drifted:
            events.append(
                EmitEvent(
                    EventType.WARNING,
                    "PredictionDrift",
                    f"{check.name}: {stable_version} drifted from its reference: "
                    f"{entry.message}; action {check.effective_action.value}",
                    Notice.DRIFT,
                )
            )
        drift.append(entry)
    return WatchUpdate(
        drift=drift, conditions=_condition(conditions, drift, now, generation), events=events
    )


def watched_until(drift: Sequence[DriftWatchStatus], stable_version: str | None) -> datetime | None:
    """Where the next window starts: the earliest end read by this version's checks."""
    ends = [d.watched_until for d in drift if d.version == stable_version and d.watched_until]
    return min(ends) if ends else None


def holds_rollouts(drift: Sequence[DriftWatchStatus]) -> str | None:
    """Why a new rollout must wait (a drifted check with action pause), or None."""
    held = [
        d
        for d in drift
        if d.stage == watch.WatchStage.DRIFTED.value and d.action == DriftAction.PAUSE.value
    ]
    if not held:
        return None
    return "; ".join(
        f"stable {d.version} drifted from its reference ({d.name}: {d.message}); reset the "
        "reference or resume to start the rollout"
        for d in held
    )
