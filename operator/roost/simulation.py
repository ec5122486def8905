"""``roost simulate``: the real analysis and rollout code on seeded synthetic traffic.

A scenario names a ModelDeployment spec, an SLOPolicy spec, the traffic and how
the stable and canary versions behave (error rate, latency, a quality gauge,
optionally changing over time, and gaps in the metrics). Each analysis tick
the simulator draws the requests of the tick, splits them by the applied
weight, counts bad ones per objective, and hands the cumulative counts to
:func:`roost.analysis.verdict.analyze` and :func:`roost.rollout.machine.decide`
exactly as the operator does with Prometheus's answers. The actions the
machine returns are applied to the simulated world.

The traffic model is deliberately simple and stated: Poisson arrivals per
tick, each request independently bad with the version's probability, latency
log-normal with the given median and p99. When the policy has distribution checks,
each request's prediction falls in a histogram bucket drawn from the version's
``predictions`` (bucket probabilities, or a Beta(a, b) score on [0, 1]), so a
drift policy can be tried offline. With ``watch`` set, a promoted version keeps
serving all traffic for that long (its ``predictionChanges`` may move its scores)
and the policy's ``compareTo: reference`` checks watch it as the operator does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator
from scipy import stats

from roost import durations
from roost.analysis.verdict import analyze
from roost.api.base import Duration, RoostModel
from roost.api.modeldeployment import DriftWatchStatus, ModelDeploymentSpec, Phase
from roost.api.slopolicy import Objective, SLOPolicySpec
from roost.rollout import drift, schedule
from roost.rollout.actions import DeployCanary, EmitEvent, RemoveCanary, SetWeight
from roost.rollout.machine import ACTIVE_PHASES, PROGRESS_DEADLINE, Observed, decide
from roost.slo.readings import Counts, HistogramReading, Measurements, SLIReading

START = datetime(2026, 1, 1, tzinfo=UTC)
STABLE_REVISION = "stable"
CANARY_REVISION = "canary"


class Latency(RoostModel):
    median: Duration = "50ms"
    p99: Duration = "200ms"


class Behaviour(RoostModel):
    """How a version behaves from ``at`` on (relative to the start of the rollout)."""

    at: Duration | None = None
    error_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    latency: Latency | None = None
    quality: float | None = Field(default=None, description="Mean of the quality gauge.")


class BetaShape(RoostModel):
    a: Annotated[float, Field(gt=0)]
    b: Annotated[float, Field(gt=0)]


DEFAULT_SCORE_BOUNDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Predictions(RoostModel):
    """A version's prediction distribution over histogram buckets (upper bounds, +Inf last).

    Either ``probabilities`` (one per bound plus one for +Inf; normalised) or ``beta``
    (a score on [0, 1] ~ Beta(a, b), bucketed at ``bounds``).
    """

    bounds: Annotated[list[float], Field(min_length=1, max_length=63)] = Field(
        default_factory=lambda: list(DEFAULT_SCORE_BOUNDS)
    )
    probabilities: list[Annotated[float, Field(ge=0)]] | None = None
    beta: BetaShape | None = None

    @model_validator(mode="after")
    def _valid(self) -> Self:
        self.shares()
        return self

    def shares(self) -> NDArray[np.float64]:
        bounds = np.asarray(self.bounds, dtype=np.float64)
        if np.any(np.diff(bounds) <= 0):
            raise ValueError("predictions.bounds must increase")
        if self.probabilities is not None:
            if len(self.probabilities) != len(self.bounds) + 1:
                raise ValueError(
                    f"predictions.probabilities needs {len(self.bounds) + 1} entries "
                    "(one per bound and one for +Inf)"
                )
            p = np.asarray(self.probabilities, dtype=np.float64)
        else:
            shape = self.beta or BetaShape(a=2.0, b=5.0)
            cdf = stats.beta.cdf(np.clip(bounds, 0.0, 1.0), shape.a, shape.b)
            p = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
        total = p.sum()
        if total <= 0:
            raise ValueError("predictions.probabilities must not all be 0")
        result: NDArray[np.float64] = np.maximum(p, 0.0) / total
        return result


class PredictionChange(RoostModel):
    """From ``at`` on (relative to the start of the rollout) the version predicts this."""

    at: Duration
    predictions: Predictions


class Version(RoostModel):
    predictions: Predictions = Field(
        default_factory=Predictions,
        description="Prediction distribution (default Beta(2, 5) scores), used when the "
        "policy has distribution checks.",
    )
    error_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    latency: Latency = Field(default_factory=Latency)
    quality: float = 1.0
    quality_noise: Annotated[float, Field(ge=0)] = 0.0
    startup: Duration | None = Field(default=None, description="Time until the pods are ready.")
    changes: list[Behaviour] = Field(default_factory=list)
    prediction_changes: list[PredictionChange] = Field(
        default_factory=list,
        description="Later prediction distributions (e.g. drift after promotion).",
    )

    def predictions_at(self, elapsed: float) -> Predictions:
        current = self.predictions
        for change in sorted(self.prediction_changes, key=lambda c: _seconds(c.at)):
            if _seconds(change.at) <= elapsed:
                current = change.predictions
        return current

    def at(self, elapsed: float) -> tuple[float, Latency, float]:
        error_rate, latency, quality = self.error_rate, self.latency, self.quality
        for change in sorted(self.changes, key=lambda c: _seconds(c.at)):
            if _seconds(change.at) <= elapsed:
                error_rate = change.error_rate if change.error_rate is not None else error_rate
                latency = change.latency or latency
                quality = change.quality if change.quality is not None else quality
        return error_rate, latency, quality


class RateChange(RoostModel):
    at: Duration
    rps: Annotated[float, Field(ge=0)]


class TrafficModel(RoostModel):
    rps: Annotated[float, Field(ge=0)] = 100.0
    changes: list[RateChange] = Field(default_factory=list)

    def at(self, elapsed: float) -> float:
        rate = self.rps
        for change in sorted(self.changes, key=lambda c: _seconds(c.at)):
            if _seconds(change.at) <= elapsed:
                rate = change.rps
        return rate


class Gap(RoostModel):
    """Prometheus returns nothing (``absent``) or errors between ``from`` and ``to``."""

    start: Duration = Field(alias="from")
    end: Duration = Field(alias="to")
    kind: str = Field(default="absent", pattern="^(absent|error)$")


class Scenario(RoostModel):
    model_deployment: ModelDeploymentSpec
    slo_policy: SLOPolicySpec
    traffic: TrafficModel = Field(default_factory=TrafficModel)
    stable: Version = Field(default_factory=Version)
    canary: Version = Field(default_factory=Version)
    metric_gaps: list[Gap] = Field(default_factory=list)
    seed: int = 0
    duration: Duration = "4h"
    watch: Duration | None = Field(
        default=None,
        description="After a promotion, keep simulating the promoted version this long "
        "so compareTo-reference checks (the drift watch) can be tried.",
    )


def _seconds(value: str | None) -> float:
    return 0.0 if value is None else durations.parse_seconds(value)


_Z99 = float(stats.norm.ppf(0.99))  # the lognormal's p99 is median * exp(_Z99 sigma)


def _bad_probability(objective: Objective, error_rate: float, latency: Latency) -> float:
    if objective.latency is not None:
        median = durations.parse_seconds(latency.median)
        p99 = durations.parse_seconds(latency.p99)
        sigma = max(math.log(p99 / median), 1e-9) / _Z99
        threshold = objective.latency.threshold_seconds
        # The standard normal's survival function: 0.5 erfc(z / sqrt 2).
        z = (math.log(threshold) - math.log(median)) / sigma
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    return error_rate


@dataclass
class _Window:
    """Counts of one simulated tick, per version and objective: (total, bad)."""

    end: datetime
    canary: dict[str, tuple[float, float]] = field(default_factory=dict)
    stable: dict[str, tuple[float, float]] = field(default_factory=dict)
    canary_buckets: NDArray[np.int64] | None = None  # predictions per bucket, +Inf last
    stable_buckets: NDArray[np.int64] | None = None


@dataclass
class _World:
    weight: int = 0
    mirror: int = 0  # percent of the stable's requests copied to the canary (a shadow step)
    canary_capacity: int = 0  # the weight the canary Deployment was sized for
    canary_deployed_at: datetime | None = None
    history: list[_Window] = field(default_factory=list)
    harmed: float = 0.0
    canary_requests: int = 0


@dataclass(frozen=True)
class TimelineEntry:
    at_seconds: float
    weight: int
    kind: str  # event reason or "analysis"
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "at_seconds": self.at_seconds,
            "weight": self.weight,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass(frozen=True)
class SimulationResult:
    outcome: str  # promoted | rolled_back | held (paused at the progress deadline) | timed_out
    reason: str
    harmed_requests: int
    duration_seconds: float
    canary_requests: int
    timeline: tuple[TimelineEntry, ...]
    drift: tuple[DriftWatchStatus, ...] = ()  # the drift watch at the end of ``watch``

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "harmed_requests": self.harmed_requests,
            "duration_seconds": self.duration_seconds,
            "canary_requests": self.canary_requests,
            "timeline": [e.to_dict() for e in self.timeline],
            "drift": [
                {
                    "name": d.name,
                    "stage": d.stage,
                    "drifted_at_seconds": (
                        None if d.drifted_at is None else (d.drifted_at - START).total_seconds()
                    ),
                    "message": d.message,
                }
                for d in self.drift
            ],
        }


def _watch(
    scenario: Scenario, rng: np.random.Generator, promoted_at: float, timeline: list[TimelineEntry]
) -> tuple[DriftWatchStatus, ...]:
    """After promotion: the promoted version takes all traffic; run the drift watch on it."""
    checks = drift.reference_checks(scenario.slo_policy)
    if scenario.watch is None or not checks:
        return ()
    dt = scenario.model_deployment.rollout.interval_seconds
    version = scenario.canary
    bounds = [*version.predictions.bounds, math.inf]
    current: list[DriftWatchStatus] = []
    conditions: list[Any] = []
    elapsed = promoted_at
    start = START + timedelta(seconds=elapsed)
    while elapsed < promoted_at + _seconds(scenario.watch):
        now = START + timedelta(seconds=elapsed + dt)
        n = rng.poisson(scenario.traffic.at(elapsed) * dt)
        counts = rng.multinomial(n, version.predictions_at(elapsed).shares())
        cumulative = dict(zip(bounds, np.cumsum(counts).astype(float).tolist(), strict=True))
        reading = tuple(
            HistogramReading(name=c.name, canary=cumulative, stable=cumulative) for c in checks
        )
        update = drift.advance(
            scenario.slo_policy,
            stable_version=scenario.model_deployment.model.version,
            current=current,
            conditions=conditions,
            start=start,
            window=(now - timedelta(seconds=dt), now),
            histograms=reading,
            reset=False,
            now=now,
            generation=1,
        )
        current, conditions = update.drift, update.conditions
        for event in update.events:
            timeline.append(TimelineEntry(elapsed + dt, 100, event.reason, event.message))
        elapsed += dt
    return tuple(current)


def _traffic_tick(
    scenario: Scenario, world: _World, rng: np.random.Generator, end: datetime, dt: float
) -> None:
    """Draw the requests of the tick ending at ``end``, split by weight, count bad ones."""
    elapsed = (end - START).total_seconds() - dt
    window = _Window(end=end)
    world.history.append(window)
    requests = rng.poisson(scenario.traffic.at(elapsed) * dt)
    canary_requests = rng.binomial(requests, world.weight / 100.0)
    stable_requests = requests - canary_requests
    world.canary_requests += int(canary_requests)
    # A shadow step: the canary also answers copies of the stable's requests; no user
    # sees those answers. (Drawn only when mirroring, so weighted runs keep their draws.)
    mirrored = int(rng.binomial(stable_requests, world.mirror / 100.0)) if world.mirror else 0
    served = canary_requests
    canary_requests += mirrored
    harm_objective = next(
        (o.name for o in scenario.slo_policy.objectives if o.ratio is not None),
        scenario.slo_policy.objectives[0].name,
    )
    for version, arm, n in (
        (scenario.canary, window.canary, canary_requests),
        (scenario.stable, window.stable, stable_requests),
    ):
        error_rate, latency, quality = version.at(elapsed)
        for objective in scenario.slo_policy.objectives:
            total, bad = float(n), 0.0
            if objective.quality is not None:
                # A gauge scraped every 30 s while the version serves traffic.
                samples = int(dt // 30) if n > 0 else 0
                values = rng.normal(quality, version.quality_noise, size=samples)
                low = -math.inf if objective.quality.min is None else objective.quality.min
                high = math.inf if objective.quality.max is None else objective.quality.max
                total = float(samples)
                bad = float(np.count_nonzero((values < low) | (values > high)))
            else:
                bad = float(rng.binomial(n, _bad_probability(objective, error_rate, latency)))
            arm[objective.name] = (total, bad)
            if arm is window.canary and objective.name == harm_objective:
                # Only the answers users received harm them, not the mirrored copies.
                world.harmed += bad if not mirrored else bad * served / n
    if scenario.slo_policy.distributions:
        window.canary_buckets = rng.multinomial(
            canary_requests, scenario.canary.predictions_at(elapsed).shares()
        )
        window.stable_buckets = rng.multinomial(
            stable_requests, scenario.stable.predictions_at(elapsed).shares()
        )


def _histogram(windows: list[_Window], arm: str, bounds: list[float]) -> dict[float, float] | None:
    """Cumulative ``le`` counts over the windows, as Prometheus's bucket query answers."""
    counts = [getattr(w, arm) for w in windows if getattr(w, arm) is not None]
    if not counts:
        return None
    cumulative = np.cumsum(np.sum(counts, axis=0))
    return dict(zip([*bounds, math.inf], cumulative.astype(float).tolist(), strict=True))


def _histograms(scenario: Scenario, windows: list[_Window]) -> tuple[HistogramReading, ...]:
    return tuple(
        HistogramReading(
            name=check.name,
            canary=_histogram(windows, "canary_buckets", scenario.canary.predictions.bounds),
            stable=_histogram(windows, "stable_buckets", scenario.stable.predictions.bounds),
        )
        for check in scenario.slo_policy.distributions
    )


def _sum(windows: list[_Window], arm: str, objective: str) -> Counts:
    total = sum(getattr(w, arm)[objective][0] for w in windows)
    bad = sum(getattr(w, arm)[objective][1] for w in windows)
    return Counts(total=total, bad=bad)


def _measure(scenario: Scenario, world: _World, start: datetime, end: datetime) -> Measurements:
    """What Prometheus would answer about the window (start, end]."""
    elapsed = (end - START).total_seconds()
    for gap in scenario.metric_gaps:
        if _seconds(gap.start) <= elapsed < _seconds(gap.end):
            if gap.kind == "error":
                return Measurements(at=end, error="simulated Prometheus error")
            return Measurements(
                at=end,
                readings=tuple(
                    SLIReading(objective=o.name, canary=None, stable=None)
                    for o in scenario.slo_policy.objectives
                ),
            )
    windows = [w for w in world.history if start < w.end <= end]
    return Measurements(
        at=end,
        start=start,
        readings=tuple(
            SLIReading(
                objective=o.name,
                canary=_sum(windows, "canary", o.name),
                stable=_sum(windows, "stable", o.name),
            )
            for o in scenario.slo_policy.objectives
        ),
        histograms=_histograms(scenario, windows),
    )


def _apply(actions: tuple[object, ...], world: _World, now: datetime) -> None:
    for action in actions:
        if isinstance(action, SetWeight):
            world.weight = action.canary
            world.mirror = action.mirror
        elif isinstance(action, DeployCanary):
            # Scaling up takes the start-up time again before the new replicas are ready.
            if action.weight > world.canary_capacity or world.canary_deployed_at is None:
                world.canary_deployed_at = now
            world.canary_capacity = max(world.canary_capacity, action.weight)
        elif isinstance(action, RemoveCanary):
            world.canary_capacity = 0
            world.canary_deployed_at = None


def simulate(scenario: Scenario) -> SimulationResult:
    """Run one seeded rollout from the first canary tick to a decision or ``duration``."""
    spec = scenario.model_deployment
    rng = np.random.default_rng(scenario.seed)
    dt = spec.rollout.interval_seconds
    startup = _seconds(scenario.canary.startup)
    world = _World()
    timeline: list[TimelineEntry] = []

    # The stable version is already serving; the spec now names a new revision.
    status = decide(
        spec, None, observed=Observed(revision=STABLE_REVISION), verdict=None, now=START
    )
    status_now = status.status
    now = START
    end = START + timedelta(seconds=_seconds(scenario.duration))
    last_verdict = ""
    while now <= end:
        elapsed = (now - START).total_seconds()
        started = (
            world.canary_deployed_at is not None
            and (now - world.canary_deployed_at).total_seconds() >= startup
        )
        capacity = world.canary_capacity if started else 0
        verdict = None
        window = schedule.due_window(status_now.analyzed_until, now, dt)
        if status_now.phase in ACTIVE_PHASES and window is not None:
            measurements = _measure(scenario, world, *window)
            verdict = analyze(
                scenario.slo_policy,
                measurements,
                status_now.comparison,
                step=status_now.current_step,
                last_step=spec.rollout.is_last(status_now.current_step),
            )
        decision = decide(
            spec,
            status_now,
            observed=Observed(revision=CANARY_REVISION, canary_capacity=capacity),
            verdict=verdict,
            now=now,
        )
        _apply(decision.actions, world, now)
        status_now = decision.status
        for action in decision.actions:
            if isinstance(action, EmitEvent):
                timeline.append(TimelineEntry(elapsed, world.weight, action.reason, action.message))
        if verdict is not None:
            summary = f"{verdict.outcome.value}: {verdict.reason}"
            if summary != last_verdict:
                timeline.append(TimelineEntry(elapsed, world.weight, "analysis", summary))
            last_verdict = summary
        held = status_now.phase is Phase.PAUSED and status_now.pause_reason == PROGRESS_DEADLINE
        if held:
            # onProgressDeadline: pause hands the rollout to a person; the simulation has none.
            return SimulationResult(
                outcome="held",
                reason=PROGRESS_DEADLINE,
                harmed_requests=round(world.harmed),
                duration_seconds=elapsed,
                canary_requests=world.canary_requests,
                timeline=tuple(timeline),
            )
        if status_now.phase in (Phase.SUCCEEDED, Phase.ROLLED_BACK):
            outcome = "promoted" if status_now.phase is Phase.SUCCEEDED else "rolled_back"
            condition = next(c for c in status_now.conditions if c.type == "Progressing")
            watched = _watch(scenario, rng, elapsed, timeline) if outcome == "promoted" else ()
            return SimulationResult(
                outcome=outcome,
                reason=condition.reason,
                harmed_requests=round(world.harmed),
                duration_seconds=elapsed,
                canary_requests=world.canary_requests,
                timeline=tuple(timeline),
                drift=watched,
            )
        now += timedelta(seconds=dt)
        _traffic_tick(scenario, world, rng, now, dt)
    return SimulationResult(
        outcome="timed_out",
        reason=status_now.last_analysis.reason if status_now.last_analysis else "NoDecision",
        harmed_requests=round(world.harmed),
        duration_seconds=_seconds(scenario.duration),
        canary_requests=world.canary_requests,
        timeline=tuple(timeline),
    )


def load(document: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(document)
