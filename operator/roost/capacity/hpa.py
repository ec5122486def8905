"""Turn a :class:`~roost.capacity.planner.CapacityPlan` into an autoscaling/v2 HPA spec.

Pure builders returning plain dicts in the API's camelCase; the Kubernetes
adapter sends them. The plan can take two shapes (docs/capacity.md, "From plan
to HPA"):

- **In-flight per pod** (:attr:`HpaMetric.INFLIGHT_PER_POD`, the default): a
  ``Pods`` metric of requests in flight with ``averageValue`` = L_max(N*)/N*,
  the in-flight count per replica at the highest rate the planned replicas
  carry within the wait budget (Erlang C and Little's law). Works with any
  per-pod gauge the model server already exports.
- **Recommended replicas** (:attr:`HpaMetric.RECOMMENDED_REPLICAS`): an
  ``External`` metric that carries the planned replica count
  itself, with ``averageValue: "1"`` so that the HPA's ``ceil(value / 1)`` *is*
  the plan. Needs something to publish that metric.
- **Demand** (:attr:`HpaMetric.DEMAND`, ``autoscaling.metric: Demand``): an
  ``External`` metric of the model's demand in requests per second (the recording
  rules of :mod:`roost.slo.demand`) with ``averageValue`` = the rate the plan carries
  per replica / (1 + the HPA's tolerance) / the burst factor / the role's share of
  the requests (:func:`demand_rate_target`), so that ``ceil(value / averageValue)``
  is the replicas that carry the demand within the wait budget.

Both get an explicit ``behavior`` block, so the HPA never falls back to the
legacy path with its implicit limits (``normalizeDesiredReplicas`` in the HPA
controller's ``horizontal.go``: at most max(2 × current, 4) per sync).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from roost.capacity.planner import carried_load

if TYPE_CHECKING:
    from collections.abc import Mapping

    from roost.capacity.planner import CapacityPlan, Carried

__all__ = [
    "DEFAULT_INFLIGHT_METRIC",
    "DEFAULT_RECOMMENDED_REPLICAS_METRIC",
    "HPA_TOLERANCE",
    "HpaMetric",
    "ScalingBehavior",
    "build_hpa_spec",
    "carried_rate_per_pod",
    "demand_rate_metric",
    "demand_rate_target",
    "floor_and_target",
    "inflight_per_pod_target",
    "milli_quantity",
    "pods_inflight_metric",
    "recommended_replicas_metric",
]

DEFAULT_INFLIGHT_METRIC = "model_inflight_requests"
DEFAULT_RECOMMENDED_REPLICAS_METRIC = "model_recommended_replicas"
HPA_TOLERANCE = 0.1
"""The HPA controller's default tolerance: it rescales only when usage / target leaves
[0.9, 1.1] (``--horizontal-pod-autoscaler-tolerance``)."""


class HpaMetric(enum.StrEnum):
    """Which of the two shapes the HPA's metric takes."""

    INFLIGHT_PER_POD = "InflightPerPod"
    RECOMMENDED_REPLICAS = "RecommendedReplicas"
    DEMAND = "Demand"


@dataclass(frozen=True, kw_only=True)
class ScalingBehavior:
    """The HPA ``behavior`` block, always written (docs/capacity.md, "From plan to HPA").

    Scale up at once (window 0) by the larger of +100 % or +``scale_up_pods``
    per ``scale_up_period_seconds``; scale down after
    ``scale_down_window_seconds`` of lower recommendations, by at most
    ``scale_down_percent`` % per ``scale_down_period_seconds``.

    The scale-up period is 60 s, about a model server's start-up, not the API default's
    15 s (``pkg/apis/autoscaling/v2/defaults.go``): while added pods are starting, the
    ready ones keep their backlog, and an in-flight count that includes a backlog
    overstates the replicas the rate needs. With a 15 s period the HPA doubled again at
    every sync on the same backlog before the first new pod was Ready; one step per
    start-up lets the added pods take their share of the backlog before the HPA scales
    again. ``docs/capacity.md`` ("From plan to HPA") gives the B2 runs that chose it.
    """

    scale_up_window_seconds: int = 0
    scale_up_percent: int = 100
    scale_up_pods: int = 4
    scale_up_period_seconds: int = 60
    scale_down_window_seconds: int = 300
    scale_down_percent: int = 10
    scale_down_period_seconds: int = 60

    def __post_init__(self) -> None:
        # API limits: windows in [0, 3600] s, periods in (0, 1800] s (autoscaling/v2).
        for name in ("scale_up_window_seconds", "scale_down_window_seconds"):
            value = getattr(self, name)
            if not (_is_count(value) and 0 <= value <= 3600):
                raise ValueError(f"{name} must be an integer in [0, 3600], got {value!r}")
        for name in ("scale_up_period_seconds", "scale_down_period_seconds"):
            value = getattr(self, name)
            if not (_is_count(value) and 0 < value <= 1800):
                raise ValueError(f"{name} must be an integer in (0, 1800], got {value!r}")
        for name in ("scale_up_percent", "scale_up_pods", "scale_down_percent"):
            value = getattr(self, name)
            if not (_is_count(value) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """The ``spec.behavior`` object of an autoscaling/v2 HPA."""
        return {
            "scaleUp": {
                "stabilizationWindowSeconds": self.scale_up_window_seconds,
                "selectPolicy": "Max",
                "policies": [
                    {
                        "type": "Percent",
                        "value": self.scale_up_percent,
                        "periodSeconds": self.scale_up_period_seconds,
                    },
                    {
                        "type": "Pods",
                        "value": self.scale_up_pods,
                        "periodSeconds": self.scale_up_period_seconds,
                    },
                ],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": self.scale_down_window_seconds,
                "selectPolicy": "Max",
                "policies": [
                    {
                        "type": "Percent",
                        "value": self.scale_down_percent,
                        "periodSeconds": self.scale_down_period_seconds,
                    },
                ],
            },
        }


def inflight_per_pod_target(plan: CapacityPlan) -> float:
    """Requests in flight per replica at the most the planned replicas carry: L_max(N*)/N*.

    ``N*`` is ``plan.replicas`` (at least 1, the HPA's floor) and L_max(N*) the
    mean in flight, by Little's law λ_max·(S + E[Wq]), at λ_max, the highest
    arrival rate that N*·K slots serve within the plan's wait budget
    (:func:`~roost.capacity.planner.carried_load`). The HPA's ratio is then the
    load as a fraction of what the plan can carry: below 1 it holds
    ``minReplicas`` (the plan), and it adds replicas only once the pods carry
    more than the planned replicas can within budget.

    A per-pod target of L*/N*, the in-flight count the plan *predicts* at
    the measured rate, instead. That treats the plan's spare capacity as if it
    were needed: the HPA scales on the sampling noise of a small integer gauge
    (the HPA syncs on one scrape, whose sum over pods varies like a Poisson count
    around L*), and a scale-up is held for the 300 s down-scale window, so the
    HPA keeps replicas the plan does not need; the capacity target scales only on
    load the plan cannot carry (B2 in ``docs/benchmarks.md`` measures both).
    The gauge must count queued requests as well as those being served: at
    large plans the target nears or exceeds K (3.58 per pod in capacity case B,
    4.13 at 100 times case A's rate, both with K = 4; docs/references.md), which a gauge of busy
    slots alone never reaches by the 10 % the HPA's tolerance asks.
    """
    replicas, carried = _carried(plan)
    return carried.in_flight / replicas


def _carried(plan: CapacityPlan) -> tuple[int, Carried]:
    """The planned replicas (at least 1) and the most they carry within the wait budget."""
    replicas = max(1, plan.replicas)
    return replicas, carried_load(
        servers=replicas * plan.slots_per_replica,
        service_time=plan.service_time,
        wait_budget=plan.wait_budget,
        wait_percentile=plan.wait_percentile,
        service_cv=plan.service_cv,
    )


def carried_rate_per_pod(plan: CapacityPlan) -> float:
    """Requests per second per replica at the most the planned replicas carry: λ_max(N*)/N*.

    The rate counterpart of :func:`inflight_per_pod_target` (the same λ_max, without
    Little's law's multiplication by the time in system). Per replica it grows with N
    (economy of scale), so taking it at N* errs towards more replicas above the plan.
    """
    replicas, carried = _carried(plan)
    return carried.arrival_rate / replicas


def demand_rate_target(plan: CapacityPlan, *, share: float = 1.0, reserve: float = 1.0) -> float:
    """The ``averageValue`` of a :attr:`HpaMetric.DEMAND` metric, in requests per second.

    The HPA proposes ``ceil(demand / target)`` and acts only when the ratio leaves its
    10 % tolerance, so the target is the carried rate per replica / 1.1 (it scales up
    when the pods reach the plan's capacity, not 10 % past it), / ``reserve`` (the burst
    factor held in advance), / ``share`` (the demand is the whole model's; this role
    answers ``share`` of it: the canary its weight, the stable the rest).
    """
    if not (math.isfinite(share) and 0 < share <= 1):
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    if not (math.isfinite(reserve) and reserve >= 1):
        raise ValueError(f"reserve must be a finite number >= 1, got {reserve!r}")
    return carried_rate_per_pod(plan) / (1 + HPA_TOLERANCE) / reserve / share


def demand_rate_metric(
    plan: CapacityPlan,
    *,
    metric_name: str,
    selector: Mapping[str, str],
    share: float = 1.0,
    reserve: float = 1.0,
) -> dict[str, Any]:
    """An ``External`` metric entry: the demand ``metric_name`` of the series ``selector``
    picks, against :func:`demand_rate_target` per replica."""
    _check_metric_name(metric_name)
    return {
        "type": "External",
        "external": {
            "metric": {"name": metric_name, "selector": {"matchLabels": dict(selector)}},
            "target": {
                "type": "AverageValue",
                "averageValue": milli_quantity(
                    demand_rate_target(plan, share=share, reserve=reserve)
                ),
            },
        },
    }


def milli_quantity(value: float) -> str:
    """A Kubernetes quantity in milli-units, rounded down and at least ``1m``.

    The HPA compares metrics in integer milli-units (``replica_calculator.go``), so
    finer digits would be dropped anyway; rounding down errs towards one replica more, not less.
    """
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"a metric target must be a finite number > 0, got {value!r}")
    return f"{max(1, math.floor(value * 1000))}m"


def pods_inflight_metric(
    plan: CapacityPlan, *, metric_name: str = DEFAULT_INFLIGHT_METRIC
) -> dict[str, Any]:
    """A ``Pods`` metric entry targeting :func:`inflight_per_pod_target` per replica."""
    _check_metric_name(metric_name)
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": metric_name},
            "target": {
                "type": "AverageValue",
                "averageValue": milli_quantity(inflight_per_pod_target(plan)),
            },
        },
    }


def recommended_replicas_metric(
    *,
    metric_name: str = DEFAULT_RECOMMENDED_REPLICAS_METRIC,
    selector: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An ``External`` metric whose value is the planned replica count, target 1.

    For External/AverageValue the HPA proposes ``ceil(value / target)``
    (``replica_calculator.go``), so with ``averageValue: "1"`` it scales to exactly the
    published plan, subject to the 10 % tolerance on value / (target × replicas).
    """
    _check_metric_name(metric_name)
    metric: dict[str, Any] = {"name": metric_name}
    if selector:
        metric["selector"] = {"matchLabels": dict(selector)}
    return {
        "type": "External",
        "external": {
            "metric": metric,
            "target": {"type": "AverageValue", "averageValue": "1"},
        },
    }


def build_hpa_spec(
    plan: CapacityPlan,
    *,
    scale_target_ref: Mapping[str, str],
    metric: HpaMetric = HpaMetric.INFLIGHT_PER_POD,
    metric_name: str | None = None,
    metric_selector: Mapping[str, str] | None = None,
    max_replicas: int | None = None,
    behavior: ScalingBehavior | None = None,
    share: float = 1.0,
    reserve: float = 1.0,
) -> dict[str, Any]:
    """The ``spec`` of an autoscaling/v2 HorizontalPodAutoscaler that holds ``plan``.

    - ``minReplicas`` is the planned count, ``plan.replicas``: the plan is a floor
      the HPA never goes below, and the HPA only adds replicas for surges the
      plan has not seen yet (at least 1: an HPA floor of 0 needs the alpha
      ``HPAScaleToZero`` gate).
    - ``maxReplicas`` is ``max_replicas``, else ``plan.max_replicas``; one of them
      is required, since an HPA without a ceiling is not valid.
    - ``metrics`` holds one metric of the ``metric`` shape (see module docstring);
      ``metric_name`` defaults to ``model_inflight_requests`` or
      ``model_recommended_replicas``; ``metric_selector`` applies to the External
      metrics only. :attr:`HpaMetric.DEMAND` needs both, and takes ``share`` and
      ``reserve`` (:func:`demand_rate_target`).
    - ``behavior`` is always written (defaults: :class:`ScalingBehavior`).
    """
    _check_scale_target_ref(scale_target_ref)
    floor = max(1, plan.replicas)
    ceiling = max_replicas if max_replicas is not None else plan.max_replicas
    if ceiling is None:
        raise ValueError("max_replicas is required when the plan has no max_replicas")
    if not (_is_count(ceiling) and ceiling >= floor):
        raise ValueError(
            f"max_replicas must be an integer >= the planned replicas ({floor}), got {ceiling!r}"
        )
    if metric is HpaMetric.INFLIGHT_PER_POD:
        if metric_selector is not None:
            raise ValueError("metric_selector applies only to the External metrics")
        entry = pods_inflight_metric(plan, metric_name=metric_name or DEFAULT_INFLIGHT_METRIC)
    elif metric is HpaMetric.DEMAND:
        if metric_name is None or not metric_selector:
            raise ValueError("HpaMetric.DEMAND needs a metric_name and a metric_selector")
        entry = demand_rate_metric(
            plan, metric_name=metric_name, selector=metric_selector, share=share, reserve=reserve
        )
    else:
        entry = recommended_replicas_metric(
            metric_name=metric_name or DEFAULT_RECOMMENDED_REPLICAS_METRIC,
            selector=metric_selector,
        )
    return {
        "scaleTargetRef": dict(scale_target_ref),
        "minReplicas": floor,
        "maxReplicas": ceiling,
        "metrics": [entry],
        "behavior": (behavior or ScalingBehavior()).to_dict(),
    }


def _check_scale_target_ref(ref: Mapping[str, str]) -> None:
    missing = [key for key in ("apiVersion", "kind", "name") if not ref.get(key)]
    if missing:
        raise ValueError(f"scale_target_ref needs apiVersion, kind and name; missing {missing}")


def _check_metric_name(name: str) -> None:
    if not name or name != name.strip():
        raise ValueError(f"metric_name must be a non-empty name, got {name!r}")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def floor_and_target(spec: Mapping[str, Any]) -> tuple[Any, ...]:
    """An HPA spec's minReplicas and its first metric's target: what a re-plan moves."""
    metrics = spec.get("metrics") or [{}]
    first = metrics[0]
    source = first.get("pods") or first.get("external") or {}
    target = (source.get("target") or {}).get("averageValue")
    return (spec.get("minReplicas"), None if target is None else str(target))
