"""The demand an HPA of ``autoscaling.metric: Demand`` scales on, as Prometheus rules
(``roost rules --demand``).

Pure: a ModelDeployment and its SLOPolicy in, one rule group out. The group records,
for the model's requests (the SLOPolicy's request counter, scoped by ``metrics.labels``
like every query the operator asks) and its in-flight gauge (``autoscaling.inflightMetric``):

    demand = r + Z sqrt(r / 60 s) + max(0, deriv(rate[1m] over 2m)) x lead + backlog / 120 s

- ``r``, the arrival rate: the counter's ``rate[1m]``; while requests queue (the
  in-flight gauge above ``slotsPerReplica`` in some pod), at least what was served over
  the last scrape (``irate``; with a declared ``serviceTime`` S, at least K/S per pod
  exporting the gauge) plus the growth of the in-flight total. Arrivals are
  completions plus the growth of what is in flight; a one-minute rate lags a jump by up
  to a minute, a queue does not.
- ``Z sqrt(r / 60 s)``: Z = 2 Poisson standard errors of a rate counted over a minute,
  so that the noise of a low rate does not read as a surge or a fall.
- the slope of ``rate[1m]`` (``deriv`` over 2 minutes, only upwards) times the lead,
  ``autoscaling.podStartup`` plus 30 s for the metric path (a scrape, the rule's
  evaluation, the adapter and the HPA's sync): the rate the pods ordered now will
  meet when they are Ready.
- the queued requests (in flight beyond ``slotsPerReplica`` per pod) drained over 120 s.

Every series carries ``namespace`` and ``model_deployment`` labels; the HPA selects
``roost:demand_rate`` by ``model_deployment`` (prometheus-adapter scopes by namespace)
and divides by the rate the plan carries per replica
(:func:`roost.capacity.hpa.demand_rate_target`). B2d in docs/benchmarks.md measures the
mapping and each term; docs/capacity.md explains the choice.
"""

from __future__ import annotations

import re
from typing import Any

from roost import durations, selectors
from roost.api.base import DNS_LABEL_PATTERN
from roost.api.modeldeployment import DEMAND_METRIC, Autoscaling, ModelDeploymentSpec
from roost.api.slopolicy import SLOPolicySpec
from roost.slo import promql
from roost.slo.recording import RecordingRule, RuleGroup, RulesError

__all__ = [
    "DEMAND_METRIC",
    "DRAIN_SECONDS",
    "LEAD_SECONDS",
    "METRIC_LAG_SECONDS",
    "MODEL_DEPLOYMENT_LABEL",
    "RATE_WINDOW_SECONDS",
    "SLOPE_WINDOW_SECONDS",
    "Z",
    "demand_rule_group",
    "hpa_selector",
    "lead_seconds",
    "rule_file",
]

RATE_WINDOW_SECONDS = 60.0  # rate[1m]
Z = 2.0  # Poisson standard errors added to the measured rate
SLOPE_WINDOW_SECONDS = 120.0  # deriv over 2m
METRIC_LAG_SECONDS = 30.0  # scrape 15 s, rule evaluation, adapter, HPA sync 15 s
LEAD_SECONDS = 60.0 + METRIC_LAG_SECONDS  # the lead with podStartup's default, 60s
DRAIN_SECONDS = 120.0  # the queued requests are drained over this long

MODEL_DEPLOYMENT_LABEL = "model_deployment"

RECORD_RATE = "roost:demand_requests:rate1m"
RECORD_SERVED = "roost:demand_served:rate"
RECORD_INFLIGHT = "roost:demand_inflight:sum"
RECORD_BACKLOG = "roost:demand_backlog:sum"
RECORD_ARRIVALS = "roost:demand_arrivals:rate"

_NAME = re.compile(DNS_LABEL_PATTERN)


def hpa_selector(name: str) -> dict[str, str]:
    """The ``metric.selector.matchLabels`` of the HPA of the ModelDeployment ``name``."""
    return {MODEL_DEPLOYMENT_LABEL: name}


def lead_seconds(autoscaling: Autoscaling) -> float:
    """How far ahead the demand looks along the rate's slope: ``podStartup`` plus the
    metric path's lag."""
    return durations.parse_seconds(autoscaling.pod_startup) + METRIC_LAG_SECONDS


def demand_rule_group(
    namespace: str, name: str, spec: ModelDeploymentSpec, policy: SLOPolicySpec
) -> RuleGroup:
    """The rule group recording ``roost:demand_rate`` for the ModelDeployment ``name`` in
    ``namespace``, whose SLOPolicy is ``policy``.

    Raises RulesError when the ModelDeployment has no autoscaling or the policy no
    objective that counts requests (a quality objective alone)."""
    for what, value in (("namespace", namespace), ("name", name)):
        if not _NAME.match(value):
            raise RulesError(
                f"{what} {value!r} is not a Kubernetes name: write lower-case letters, digits "
                "and '-', such as models"
            )
    autoscaling = spec.autoscaling
    if autoscaling is None:
        raise RulesError(
            f"ModelDeployment {namespace}/{name} has no autoscaling: the demand is what its "
            "HPA scales on; add autoscaling: {metric: Demand}"
        )
    counter = promql.request_counter(policy.objectives)
    if counter is None:
        raise RulesError(
            f"the SLOPolicy of {namespace}/{name} has no objective that counts requests (a "
            "ratio or a latency objective): the demand is a request rate"
        )
    model = [selectors.equal(k, v) for k, v in sorted(spec.metrics.labels.items())]
    requests = counter.with_matchers(*model).render()
    gauge = selectors.Selector(autoscaling.inflight_metric).with_matchers(*model).render()
    slots = autoscaling.slots_per_replica
    labels = {"namespace": namespace, MODEL_DEPLOYMENT_LABEL: name}
    own = tuple(selectors.equal(k, v) for k, v in labels.items())

    def series(record: str) -> str:
        return selectors.Selector(record, own).render()

    rate, served = series(RECORD_RATE), series(RECORD_SERVED)
    inflight, backlog = series(RECORD_INFLIGHT), series(RECORD_BACKLOG)
    arrivals = series(RECORD_ARRIVALS)
    rate_window = promql.window(RATE_WINDOW_SECONDS)
    rules = (
        RecordingRule(RECORD_RATE, f"sum(rate({requests}[{rate_window}]))", labels),
        RecordingRule(RECORD_SERVED, _served(requests, gauge, autoscaling), labels),
        # No gauge is no queue: 0, so that the demand is the rate alone.
        RecordingRule(RECORD_INFLIGHT, f"sum({gauge}) or vector(0)", labels),
        RecordingRule(RECORD_BACKLOG, f"sum(clamp_min({gauge} - {slots}, 0)) or vector(0)", labels),
        RecordingRule(
            RECORD_ARRIVALS,
            f"((({served} + clamp_min(deriv({inflight}[{rate_window}]), 0)) and ({backlog} > 0))"
            f" > {rate}) or {rate}",
            labels,
        ),
        RecordingRule(
            DEMAND_METRIC,
            f"{arrivals} + {_number(Z)} * sqrt({arrivals} / {_number(RATE_WINDOW_SECONDS)})"
            f" + (clamp_min(deriv({rate}[{promql.window(SLOPE_WINDOW_SECONDS)}]), 0)"
            f" * {_number(lead_seconds(autoscaling))} or {arrivals} * 0)"
            f" + {backlog} / {_number(DRAIN_SECONDS)}",
            labels,
        ),
    )
    return RuleGroup(f"roost-demand-{namespace}-{name}", rules)


def _served(requests: str, gauge: str, autoscaling: Autoscaling) -> str:
    """What the pods served over the last scrape: the counter's ``irate``; with a declared
    ``serviceTime`` S at least K/S for each series of the gauge (each pod, full), which
    a queue says they are. A learned S is the operator's, which the rules do not have."""
    irate = f"sum(irate({requests}[{promql.window(RATE_WINDOW_SECONDS)}]))"
    if autoscaling.service_time is None:
        return irate
    seconds = durations.parse_seconds(autoscaling.service_time)
    full = f"count({gauge}) * {_number(autoscaling.slots_per_replica / seconds)}"
    return f"({irate} > {full}) or {full} or {irate}"


def rule_file(groups: list[RuleGroup]) -> dict[str, Any]:
    """A Prometheus rule file (``rule_files:``) of ``groups``."""
    return {"groups": [group.to_dict() for group in groups]}


def _number(value: float) -> str:
    return f"{value:g}"
