"""prometheus-adapter's rules for the metrics Roost's HPAs read (``roost rules
--prometheus-adapter``).

An autoscaling/v2 HPA reads a ``Pods`` metric from ``custom.metrics.k8s.io`` and an
``External`` one from ``external.metrics.k8s.io``: aggregated APIs that something in
the cluster must serve. prometheus-adapter serves both from Prometheus, configured
by discovery rules (its ``docs/config.md``): ``seriesQuery`` finds the series,
``resources`` maps labels to Kubernetes objects, ``name`` names the metric in the API
and ``metricsQuery`` is the PromQL template asked for each request.

Pure: names in, the adapter's configuration as plain data out. It covers both shapes
:mod:`roost.capacity.hpa` writes, so switching a ModelDeployment between them needs no
new adapter setup:

- the per-pod in-flight gauge (``Pods``, default ``model_inflight_requests``), mapped
  to pods by the ``namespace`` and ``pod`` labels that Kubernetes service discovery
  (a PodMonitor or ServiceMonitor of the prometheus-operator) puts on every series.
  The adapter asks ``sum(...) by (pod)``: a pod whose server exports the gauge more
  than once (per model, per worker) has the sum in flight.
- the recommended replica count (``External``, default
  ``model_recommended_replicas``) and the demand (``roost:demand_rate``, recorded by
  ``roost rules --demand``), each scoped to the HPA's namespace by the ``namespace``
  label and to the HPA's ``metric.selector`` by its labels. The adapter asks
  ``max(...)``, one value: the HPA adds up every value it gets, so two copies of the
  same published plan (two Prometheus replicas, two rule evaluations) must not
  double it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from roost.api.modeldeployment import DEMAND_METRIC
from roost.capacity.hpa import DEFAULT_INFLIGHT_METRIC, DEFAULT_RECOMMENDED_REPLICAS_METRIC

__all__ = [
    "DEFAULT_NAMESPACE_LABEL",
    "DEFAULT_POD_LABEL",
    "AdapterRulesError",
    "external_rule",
    "pods_rule",
    "prometheus_adapter_config",
]

DEFAULT_NAMESPACE_LABEL = "namespace"
DEFAULT_POD_LABEL = "pod"

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class AdapterRulesError(ValueError):
    """A name the rules cannot be written with; the message names it."""


def pods_rule(metric: str, *, namespace_label: str, pod_label: str) -> dict[str, Any]:
    """A ``rules`` entry serving ``metric`` per pod in custom.metrics.k8s.io."""
    _check_metric(metric)
    return {
        "seriesQuery": f'{metric}{{{namespace_label}!="",{pod_label}!=""}}',
        "resources": {
            "overrides": {
                namespace_label: {"resource": "namespace"},
                pod_label: {"resource": "pod"},
            }
        },
        "name": {"matches": f"^{metric}$", "as": metric},
        "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
    }


def external_rule(metric: str, *, namespace_label: str) -> dict[str, Any]:
    """An ``externalRules`` entry serving ``metric`` in external.metrics.k8s.io, scoped to
    the HPA's namespace; the HPA's ``metric.selector`` becomes label matchers."""
    _check_metric(metric)
    return {
        "seriesQuery": f'{metric}{{{namespace_label}!=""}}',
        "resources": {"overrides": {namespace_label: {"resource": "namespace"}}},
        "name": {"matches": f"^{metric}$", "as": metric},
        "metricsQuery": "max(<<.Series>>{<<.LabelMatchers>>})",
    }


def prometheus_adapter_config(
    *,
    inflight_metrics: Iterable[str] = (DEFAULT_INFLIGHT_METRIC,),
    external_metrics: Iterable[str] = (DEFAULT_RECOMMENDED_REPLICAS_METRIC, DEMAND_METRIC),
    namespace_label: str = DEFAULT_NAMESPACE_LABEL,
    pod_label: str = DEFAULT_POD_LABEL,
) -> dict[str, Any]:
    """The adapter's configuration file (``--config``): a ``rules`` entry per in-flight
    metric and an ``externalRules`` entry per recommended-replicas metric, each name
    once, in name order (the same input always gives the same file)."""
    for option, label, example in (
        ("namespace label", namespace_label, DEFAULT_NAMESPACE_LABEL),
        ("pod label", pod_label, DEFAULT_POD_LABEL),
    ):
        if not _LABEL_NAME.match(label) or label.startswith("__"):
            raise AdapterRulesError(
                f"{option} {label!r} is not a Prometheus label name: write one such as {example}"
            )
    if namespace_label == pod_label:
        raise AdapterRulesError(
            f"the namespace label and the pod label are both {pod_label!r}: they must differ"
        )
    pods = sorted(set(inflight_metrics))
    external = sorted(set(external_metrics))
    if not pods and not external:
        raise AdapterRulesError("no metric to serve: name at least one in-flight or external one")
    return {
        "rules": [pods_rule(m, namespace_label=namespace_label, pod_label=pod_label) for m in pods],
        "externalRules": [external_rule(m, namespace_label=namespace_label) for m in external],
    }


def _check_metric(name: str) -> None:
    if not _METRIC_NAME.match(name):
        raise AdapterRulesError(
            f"{name!r} is not a Prometheus metric name: write one such as {DEFAULT_INFLIGHT_METRIC}"
        )
