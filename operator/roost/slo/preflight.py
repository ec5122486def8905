"""Checks of a policy against what Prometheus actually exports, before they cost a rollout.

A latency objective counts requests at or below ``threshold`` from the histogram's
``le`` bucket of that bound. When the exporter has no such bucket, the query answers
nothing and the objective never has data: every rollout would wait for its no-data
deadline. The preflight reads the bucket bounds the histogram exports (for this
ModelDeployment's series) and reports a threshold that is not among them, naming the
field and the bounds that exist. A histogram with no series yet (no traffic, or not
scraped) is not an error here: that is what ``noDataDeadline`` is for.

A *native* histogram (Prometheus 2.40+, stable in 3) has no ``_bucket`` series at
all, so it would look like "no data yet" forever. When the bucket query finds
nothing, a second query, ``histogram_count(<h>)``, tells the two apart, and a native
histogram is reported naming the metric: Roost's latency SLI counts classic buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from roost import selectors
from roost.api.slopolicy import SLOPolicySpec
from roost.selectors import Matcher
from roost.slo.promql import bucket_bound

RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class BucketCheck:
    """One latency objective's histogram, the bound it needs and the query for its bounds."""

    objective_index: int
    objective: str
    histogram: str
    threshold: str
    threshold_seconds: float
    query: str
    native_query: str
    """Answers (with le="native") only where the histogram is a native one."""


def bucket_checks(
    policy: SLOPolicySpec, matchers: Sequence[Matcher], group_by: Sequence[str] = ()
) -> list[BucketCheck]:
    """``count by (le) (<h>_bucket{<matchers>})`` per latency objective.

    With ``group_by`` (the ModelDeployments' label keys) and no per-object matchers the
    query answers for every object that shares the histogram:
    ``count by (<group_by>, le) (<h>_bucket)``, the answer's keys ending with ``le``.
    """
    by = ", ".join((*group_by, "le"))
    keys = ", ".join(group_by)
    checks = []
    for index, objective in enumerate(policy.objectives):
        if objective.latency is None:
            continue
        histogram = selectors.parse(objective.latency.histogram)
        bucket = histogram.with_metric(histogram.metric + "_bucket").with_matchers(*matchers)
        native = histogram.with_matchers(*matchers).render()
        checks.append(
            BucketCheck(
                objective_index=index,
                objective=objective.name,
                histogram=histogram.metric,
                threshold=objective.latency.threshold,
                threshold_seconds=objective.latency.threshold_seconds,
                query=f"count by ({by}) ({bucket.render()})",
                native_query=(
                    f"label_replace(count by ({keys}) (histogram_count({native})), "
                    '"le", "native", "", "")'
                ),
            )
        )
    return checks


def problem(check: BucketCheck, le_values: Iterable[str]) -> str | None:
    """The message when the exported bounds do not include the threshold; None when fine
    or when nothing is exported yet."""
    bounds = sorted(b for b in (bucket_bound(v) for v in le_values) if b is not None)
    if not bounds:
        return None
    if any(math.isclose(b, check.threshold_seconds, rel_tol=RELATIVE_TOLERANCE) for b in bounds):
        return None
    shown = ", ".join("+Inf" if math.isinf(b) else f"{b:g}" for b in bounds)
    return (
        f"objectives[{check.objective_index}].latency.threshold: {check.threshold} is not a "
        f"bucket boundary of {check.histogram} (its le bounds: {shown}); a latency objective "
        "needs a threshold equal to one of them"
    )


def native_problem(check: BucketCheck) -> str:
    return (
        f"objectives[{check.objective_index}].latency.histogram: {check.histogram} is a native "
        f"histogram (Prometheus holds no {check.histogram}_bucket series for it); a latency "
        "objective counts classic buckets: expose the classic buckets too (in Prometheus 3 "
        "the scrape option always_scrape_classic_histograms: true keeps them)"
    )


def problems(
    checks: Sequence[BucketCheck], answers: Mapping[str, Iterable[str] | None]
) -> list[str]:
    """Messages for every check whose answer (le values; None = not asked) shows a problem.

    ``answers[check.native_query]`` (asked only when no bucket was found) holds
    ``["native"]`` when the histogram is a native one."""
    found = []
    for check in checks:
        values = answers.get(check.query)
        if values is None:
            continue
        bounds = list(values)
        message = problem(check, bounds)
        if message is None and not bounds and list(answers.get(check.native_query) or ()):
            message = native_problem(check)
        if message is not None:
            found.append(message)
    return found
