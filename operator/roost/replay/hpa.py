"""The HPA controller (autoscaling/v2), restated from its source and docs.

Pure, integer-faithful pieces of ``pkg/controller/podautoscaler/`` (docs/references.md):
the per-metric proposals of ``replica_calculator.go`` in milli-units, the tolerance,
the multi-metric rule (``computeReplicasForMetrics``), and the normalisation of
``horizontal.go`` on the ``behavior`` path (``normalizeDesiredReplicasWithBehaviors``:
stabilisation over raw proposals, rate-limit policies over scale events) and on the
legacy path (``normalizeDesiredReplicas``). The HPA vectors V1–V9 are the unit tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

SYNC_SECONDS = 15.0
TOLERANCE = 0.1
LEGACY_DOWNSCALE_WINDOW = 300.0


class PolicyType(StrEnum):
    PODS = "Pods"
    PERCENT = "Percent"


class Select(StrEnum):
    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


@dataclass(frozen=True)
class Policy:
    type: PolicyType
    value: int
    period_seconds: float


@dataclass(frozen=True)
class Rules:
    stabilization_seconds: float
    policies: tuple[Policy, ...]
    select: Select = Select.MAX


@dataclass(frozen=True)
class Behavior:
    scale_up: Rules
    scale_down: Rules


def default_behavior() -> Behavior:
    """API defaulting of an explicit but empty ``behavior`` (``v2/defaults.go``)."""
    return Behavior(
        scale_up=Rules(
            0.0,
            (Policy(PolicyType.PODS, 4, 15.0), Policy(PolicyType.PERCENT, 100, 15.0)),
        ),
        scale_down=Rules(300.0, (Policy(PolicyType.PERCENT, 100, 15.0),)),
    )


def within_tolerance(ratio: float, tolerance: float = TOLERANCE) -> bool:
    return (1 - tolerance) <= ratio <= (1 + tolerance)


# ---- per-metric proposals (replica_calculator.go) ----------------------------------------


def _average(values: list[int]) -> int:
    return sum(values) // len(values)


def pods_metric_replicas(
    current: int,
    ready: list[int],
    target: int,
    *,
    missing: int = 0,
    unready: int = 0,
    tolerance: float = TOLERANCE,
) -> int | None:
    """A Pods ``AverageValue`` metric; values and target in milli-units. None: no metrics."""
    if not ready:
        return None
    ratio = _average(ready) / target
    scale_up_with_unready = unready > 0 and ratio > 1
    if not scale_up_with_unready and missing == 0:
        if within_tolerance(ratio, tolerance):
            return current
        return math.ceil(ratio * len(ready))
    values = list(ready)
    if missing:
        values += [target if ratio < 1 else 0] * missing
    if scale_up_with_unready:
        values += [0] * unready
    return _rebalanced(current, ratio, _average(values) / target, len(values), tolerance)


def cpu_utilization_replicas(
    current: int,
    ready_usage: list[int],
    request: int,
    target_percent: int,
    *,
    missing: int = 0,
    unready: int = 0,
    tolerance: float = TOLERANCE,
) -> int | None:
    """A Resource ``Utilization`` metric; usage and request in millicores."""
    if not ready_usage:
        return None

    def ratio_of(usage: list[int]) -> float:
        utilization = (sum(usage) * 100) // (request * len(usage))
        return utilization / target_percent

    ratio = ratio_of(ready_usage)
    scale_up_with_unready = unready > 0 and ratio > 1
    if not scale_up_with_unready and missing == 0:
        if within_tolerance(ratio, tolerance):
            return current
        return math.ceil(ratio * len(ready_usage))
    usage = list(ready_usage)
    if missing:
        fill = request * max(100, target_percent) // 100 if ratio < 1 else 0
        usage += [fill] * missing
    if scale_up_with_unready:
        usage += [0] * unready
    return _rebalanced(current, ratio, ratio_of(usage), len(usage), tolerance)


def _rebalanced(current: int, ratio: float, new_ratio: float, count: int, tol: float) -> int:
    if (
        within_tolerance(new_ratio, tol)
        or (ratio < 1 and new_ratio > 1)
        or (ratio > 1 and new_ratio < 1)
    ):
        return current
    replicas = math.ceil(new_ratio * count)
    if (new_ratio < 1 and replicas > current) or (new_ratio > 1 and replicas < current):
        return current
    return replicas


def external_average_value_replicas(
    usage: int, target: int, status_replicas: int, *, tolerance: float = TOLERANCE
) -> int:
    """External ``AverageValue`` (KEDA's default); usage and target in milli-units."""
    ratio = usage / (target * status_replicas)
    if within_tolerance(ratio, tolerance):
        return status_replicas
    return math.ceil(usage / target)


def external_value_replicas(
    current: int, usage: int, target: int, ready_pods: int, *, tolerance: float = TOLERANCE
) -> int:
    """External ``Value``: ``ceil(ratio × readyPodCount)`` with Running-and-Ready pods."""
    ratio = usage / target
    if within_tolerance(ratio, tolerance):
        return current
    return math.ceil(ratio * ready_pods)


def combine(proposals: list[int | None], current: int) -> int | None:
    """The max; no scaling if all are invalid, or some are and the max scales down."""
    valid = [p for p in proposals if p is not None]
    if not valid:
        return None
    if len(valid) < len(proposals) and max(valid) < current:
        return None
    return max(valid)


# ---- normalisation (horizontal.go) -------------------------------------------------------


@dataclass
class Controller:
    """One HPA's controller state: recommendations and scale events across syncs."""

    min_replicas: int
    max_replicas: int
    behavior: Behavior | None = field(default_factory=default_behavior)
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    up_events: list[tuple[float, int]] = field(default_factory=list)
    down_events: list[tuple[float, int]] = field(default_factory=list)
    started: bool = False

    def reconcile(self, now: float, current: int, proposal: int | None) -> int:
        """One sync: ``current`` is ``scale.spec.replicas``; ``proposal`` the raw desired."""
        if not self.started:
            self.recommendations.append((now, current))
            self.started = True
        if current == 0 and self.min_replicas != 0:
            return current  # ScalingDisabled
        if current > self.max_replicas:
            desired = self.max_replicas
        elif current < self.min_replicas:
            desired = self.min_replicas
        elif proposal is None:
            return current  # invalid metrics: no scaling
        elif self.behavior is None:
            desired = self._legacy(now, current, proposal)
        else:
            desired = self._with_behavior(now, current, proposal, self.behavior)
        if desired != current and self.behavior is not None:
            events = self.up_events if desired > current else self.down_events
            events.append((now, abs(desired - current)))
        return desired

    def _legacy(self, now: float, current: int, proposal: int) -> int:
        cutoff = now - LEGACY_DOWNSCALE_WINDOW
        self.recommendations = [(t, r) for t, r in self.recommendations if t > cutoff]
        stabilized = max([proposal] + [r for _, r in self.recommendations])
        self.recommendations.append((now, proposal))
        limit = max(2 * current, 4)
        if stabilized < self.min_replicas:
            return self.min_replicas
        return min(stabilized, self.max_replicas, limit)

    def _with_behavior(self, now: float, current: int, proposal: int, b: Behavior) -> int:
        up_cut = now - b.scale_up.stabilization_seconds
        down_cut = now - b.scale_down.stabilization_seconds
        up, down = proposal, proposal
        for t, r in self.recommendations:
            if t > up_cut:
                up = min(up, r)
            if t > down_cut:
                down = max(down, r)
        keep = max(b.scale_up.stabilization_seconds, b.scale_down.stabilization_seconds)
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now - keep]
        self.recommendations.append((now, proposal))
        desired = current
        desired = max(desired, up)
        desired = min(desired, down)
        if desired > current:
            limit = max(self._up_limit(now, current, b.scale_up), current)
            return min(desired, self.max_replicas, limit)
        if desired < current:
            limit = min(self._down_limit(now, current, b.scale_down), current)
            return max(desired, self.min_replicas, limit)
        return min(max(desired, self.min_replicas), self.max_replicas)

    def _period_start(self, now: float, current: int, period: float) -> int:
        added = sum(c for t, c in self.up_events if t > now - period)
        removed = sum(c for t, c in self.down_events if t > now - period)
        return current - added + removed

    def _up_limit(self, now: float, current: int, rules: Rules) -> int:
        if rules.select is Select.DISABLED:
            return current
        proposals = []
        for p in rules.policies:
            start = self._period_start(now, current, p.period_seconds)
            if p.type is PolicyType.PODS:
                proposals.append(start + p.value)
            else:
                proposals.append(math.ceil(start * (1 + p.value / 100)))
        return max(proposals) if rules.select is Select.MAX else min(proposals)

    def _down_limit(self, now: float, current: int, rules: Rules) -> int:
        if rules.select is Select.DISABLED:
            return current
        proposals = []
        for p in rules.policies:
            start = self._period_start(now, current, p.period_seconds)
            if p.type is PolicyType.PODS:
                proposals.append(start - p.value)
            else:
                proposals.append(int(start * (1 - p.value / 100)))
        return min(proposals) if rules.select is Select.MAX else max(proposals)
