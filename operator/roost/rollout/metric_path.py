"""Can the HPAs Roost wrote read their metric? What to tell the ModelDeployment's owner.

An HPA whose metric cannot be read keeps its replicas where they are and says so
only in its own status: ``ScalingActive=False`` with reason ``FailedGetPodsMetric``
or ``FailedGetExternalMetric`` and the metrics client's error as the message
(kube-controller-manager, ``pkg/controller/podautoscaler``). On a cluster without a
custom-metrics API, Roost's default HPA would sit at ``minReplicas`` with nobody
told. :func:`assess` turns the HPAs' conditions into the ModelDeployment's
``ScalingMetricAvailable`` condition, naming what is missing and how to add it, and
an Event when that changes.

Pure: the HPAs' conditions as read, the condition written last and ``now`` in; a
condition and at most one event out; :func:`reading` turns an HPA's body, as the
reconciler lists it, into what :func:`assess` reads.

An HPA's metric is often unreadable for a moment after its pods start (not scraped
yet), so a failure is reported only once it has lasted ``grace_seconds``, counted
from the HPA condition's own ``lastTransitionTime``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost.api.modeldeployment import DEMAND_METRIC
from roost.api.status import Condition, ConditionStatus, new_condition
from roost.rollout.actions import EmitEvent, EventType

__all__ = [
    "CONDITION",
    "DEFAULT_GRACE_SECONDS",
    "HpaCondition",
    "HpaReading",
    "MetricHealth",
    "MetricKind",
    "Missing",
    "assess",
    "classify",
    "reading",
]

CONDITION = "ScalingMetricAvailable"
DEFAULT_GRACE_SECONDS = 60.0
FAILED_REASONS = frozenset({"FailedGetPodsMetric", "FailedGetExternalMetric"})
HOW_TO = (
    "install prometheus-adapter with the rules of `roost rules --prometheus-adapter` "
    "(docs/install.md)"
)


class MetricKind(enum.StrEnum):
    """The HPA metric type, and the aggregated API it is read from."""

    PODS = "Pods"
    EXTERNAL = "External"

    @property
    def api(self) -> str:
        return "custom.metrics.k8s.io" if self is MetricKind.PODS else "external.metrics.k8s.io"


class Missing(enum.StrEnum):
    """What stands between the HPA and its metric: the condition's reason."""

    NO_METRICS_API = "NoMetricsAPI"  # no APIService for the group
    METRICS_API_DOWN = "MetricsAPIUnavailable"  # registered, its server does not answer
    METRIC_NOT_SERVED = "MetricNotServed"  # the adapter has no rule for this metric
    NO_VALUES = "NoMetricValues"  # a rule, but no series for these pods
    UNREADABLE = "MetricUnreadable"  # anything else the HPA reported


@dataclass(frozen=True, kw_only=True)
class HpaCondition:
    """One entry of an HPA's ``status.conditions``."""

    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class HpaReading:
    """An HPA Roost wrote, as read: which metric it scales on, and its conditions."""

    name: str
    metric: str
    kind: MetricKind
    conditions: Sequence[HpaCondition] = ()

    def scaling_active(self) -> HpaCondition | None:
        return next((c for c in self.conditions if c.type == "ScalingActive"), None)


@dataclass(frozen=True)
class MetricHealth:
    """``condition`` None: nothing new to say (no HPA synced yet, a failure still within
    its grace, or one not about the metric); keep the condition as it is."""

    condition: Condition | None = None
    event: EmitEvent | None = None


# Substrings of the metrics clients' errors (k8s.io/metrics, the HPA controller and
# custom-metrics-apiserver's NotFound errors), most specific first.
_SIGNS: tuple[tuple[str, Missing], ...] = (
    ("no custom metrics api", Missing.NO_METRICS_API),
    ("could not find the metric", Missing.METRIC_NOT_SERVED),
    ("could not find the requested resource", Missing.NO_METRICS_API),
    ("currently unable to handle the request", Missing.METRICS_API_DOWN),
    ("service unavailable", Missing.METRICS_API_DOWN),
    ("no metrics returned", Missing.NO_VALUES),
    ("did not receive metrics for targeted pods", Missing.NO_VALUES),
)


def classify(message: str) -> Missing:
    """What the HPA's error message says is missing."""
    lowered = message.lower()
    return next((missing for sign, missing in _SIGNS if sign in lowered), Missing.UNREADABLE)


def explain(reading: HpaReading, missing: Missing) -> str:
    """One sentence: which HPA cannot read which metric, why, and what to do."""
    api, metric = reading.kind.api, reading.metric
    head = f"the HPA {reading.name} cannot read {metric}"
    match missing:
        case Missing.NO_METRICS_API:
            return f"{head}: no {api} API is serving it; {HOW_TO}"
        case Missing.METRICS_API_DOWN:
            return (
                f"{head}: the {api} API is registered but its server does not answer; check "
                f"`kubectl get apiservice v1beta1.{api}` and the adapter's pods"
            )
        case Missing.METRIC_NOT_SERVED:
            if metric == DEMAND_METRIC:  # the adapter lists only the series Prometheus has
                return (
                    f"{head}: the {api} API does not serve {metric}; load the recording "
                    f"rules of `roost rules --demand` into Prometheus, and {HOW_TO}"
                )
            return f"{head}: the {api} API does not serve {metric}; add its rule: {HOW_TO}"
        case Missing.NO_VALUES:
            if reading.kind is MetricKind.PODS:
                where = "the pods export no series of it with namespace and pod labels"
            else:
                where = "Prometheus has no series of it in this namespace for the HPA's selector"
            if metric == DEMAND_METRIC:
                return (
                    f"{head}: the {api} API serves it, but {where}; load the recording rules "
                    "of `roost rules --demand` into Prometheus (docs/install.md) and check "
                    "that the model's request counter has series"
                )
            return f"{head}: the {api} API serves it, but {where}; check Prometheus scrapes them"
        case Missing.UNREADABLE:
            return f"{head}"
    raise AssertionError(missing)  # pragma: no cover


def assess(
    readings: Sequence[HpaReading],
    *,
    previous: Condition | None,
    now: datetime,
    generation: int,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
) -> MetricHealth:
    """The ``ScalingMetricAvailable`` condition for the HPAs ``readings`` (stable first).

    False when an HPA has failed to read its metric for ``grace_seconds``, naming the
    first such HPA and what is missing, with the HPA's own message after it; True when
    every HPA that has synced reads its metric; otherwise nothing new. A Warning
    Event goes with a new failure (or a new reason for one), a Normal one with the
    recovery from a failure."""
    failing: list[tuple[HpaReading, HpaCondition]] = []
    reading_ok: list[HpaReading] = []
    for reading in readings:
        active = reading.scaling_active()
        if active is None:
            continue
        if active.status == "True":
            reading_ok.append(reading)
        elif active.reason in FAILED_REASONS:
            since = active.last_transition_time
            lasted = (now - since).total_seconds() if since is not None else grace_seconds
            if lasted >= grace_seconds:
                failing.append((reading, active))
    if failing:
        reading, active = failing[0]
        missing = classify(active.message)
        message = f"{explain(reading, missing)} (HPA: {active.reason}: {active.message})"
        condition = _condition(False, missing.value, message, now, generation)
        changed = (
            previous is None
            or previous.status != ConditionStatus.FALSE
            or previous.reason != condition.reason
        )
        event = (
            EmitEvent(EventType.WARNING, "ScalingMetricUnavailable", message) if changed else None
        )
        return MetricHealth(condition, event)
    if reading_ok and len(reading_ok) == sum(1 for r in readings if r.scaling_active()):
        names = ", ".join(f"{r.name} ({r.metric})" for r in reading_ok)
        message = f"the HPAs read their metrics: {names}"
        condition = _condition(True, "MetricRead", message, now, generation)
        event = None
        if previous is not None and previous.status == ConditionStatus.FALSE:
            event = EmitEvent(EventType.NORMAL, "ScalingMetricAvailable", message)
        return MetricHealth(condition, event)
    return MetricHealth()


def _condition(ok: bool, reason: str, message: str, now: datetime, generation: int) -> Condition:
    return new_condition(CONDITION, ok, reason, message, now, generation=generation)


def reading(name: str, body: Mapping[str, Any]) -> HpaReading | None:
    """An HPA's body (as Kube.roost_hpas keeps it) as :func:`assess` reads it; None for
    an HPA whose metric is neither Pods nor External (not one Roost writes)."""
    metrics = (body.get("spec") or {}).get("metrics") or []
    first = metrics[0] if metrics else {}
    kind = first.get("type")
    if kind not in ("Pods", "External"):
        return None
    source = first.get("pods" if kind == "Pods" else "external") or {}
    conditions = [
        HpaCondition(
            type=str(c.get("type")),
            status=str(c.get("status")),
            reason=str(c.get("reason") or ""),
            message=str(c.get("message") or ""),
            last_transition_time=_timestamp(c.get("lastTransitionTime")),
        )
        for c in (body.get("status") or {}).get("conditions") or []
    ]
    return HpaReading(
        name=name,
        metric=str((source.get("metric") or {}).get("name") or ""),
        kind=MetricKind(kind),
        conditions=conditions,
    )


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
