"""PromQL for SLIs, written once and reused by every window and every version.

Each SLI is read as two counts per version over a window, ``total`` and
``bad``, never as a ratio: counts add up across windows and versions, ratios do
not, and the sequential tests need counts. The queries group by the version
label so one query answers for the stable and the canary (and for every
ModelDeployment that shares the Prometheus, when the caller groups by the
model label too).

The three empty states are kept apart (see :func:`arm_counts`):

* no error series at all (nothing ever failed): the ``bad`` query is empty
  while ``total`` has a value -> 0 bad;
* no traffic in the window: total is 0 -> the ratio is NaN -> inconclusive;
* no scrape data: ``total`` is empty too -> absent -> inconclusive, and the
  no-data deadline clock keeps running.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from roost import durations, selectors
from roost.selectors import Matcher, Selector
from roost.slo.readings import Counts

if TYPE_CHECKING:
    from roost.api.slopolicy import Objective

# Subquery resolution for gauge (quality) SLIs: one sample per 30 s.
QUALITY_RESOLUTION = "30s"


@dataclass(frozen=True)
class SLIQueries:
    """The two instant queries that read one SLI over one window."""

    total: str
    bad: str
    group_by: tuple[str, ...]


# The label that tells the two halves of a combined count query apart.
PART_LABEL = "roost_count"


def combined(queries: SLIQueries) -> tuple[str, tuple[str, ...]]:
    """Both counts of an SLI as one query: ``total`` and ``bad`` tagged by PART_LABEL.

    ``label_replace`` gives each half its own value of the label, so ``or`` keeps both
    (no series of one half matches a series of the other). Returns (query, its
    group-by labels, ending with PART_LABEL); :func:`parts` splits the answer.
    """
    total = f'label_replace({queries.total}, "{PART_LABEL}", "total", "", "")'
    bad = f'label_replace({queries.bad}, "{PART_LABEL}", "bad", "", "")'
    return f"{total} or {bad}", (*queries.group_by, PART_LABEL)


def parts(
    answer: Mapping[tuple[str, ...], float],
) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float]]:
    """A combined query's answer (keys ending with the part) as (total, bad) by group key."""
    total: dict[tuple[str, ...], float] = {}
    bad: dict[tuple[str, ...], float] = {}
    for key, value in answer.items():
        if key[-1] == "total":
            total[key[:-1]] = value
        elif key[-1] == "bad":
            bad[key[:-1]] = value
    return total, bad


def window(seconds: float) -> str:
    """A PromQL range for a window, rounded up to whole seconds (never shorter than asked)."""
    return durations.format_seconds(max(1, math.ceil(seconds)))


def bucket_bound_matcher(threshold_seconds: float) -> Matcher:
    """Match a classic histogram's ``le`` bound however the exporter spelled it.

    Prometheus 3 normalises ``le="1"`` to ``le="1.0"``; client libraries write
    ``0.25`` or ``2.5e-01``. A regex of the spellings of the same float finds it.
    """
    spellings = {
        repr(threshold_seconds),
        f"{threshold_seconds:g}",
        f"{threshold_seconds:.1f}" if threshold_seconds == int(threshold_seconds) else "",
        f"{threshold_seconds:e}",
    }
    if threshold_seconds == int(threshold_seconds):
        spellings.add(str(int(threshold_seconds)))
    return selectors.one_of("le", sorted(s for s in spellings if s))


def _scoped(selector: Selector, extra: Sequence[Matcher]) -> Selector:
    return selector.with_matchers(*extra)


def _by(group_by: Sequence[str]) -> str:
    return f"sum by ({', '.join(group_by)})" if group_by else "sum"


def ratio_queries(
    *,
    errors: Selector,
    total: Selector,
    seconds: float,
    matchers: Sequence[Matcher],
    group_by: Sequence[str],
) -> SLIQueries:
    """Counts of all and of failed requests over the window: ``increase`` of two counters."""
    rng = window(seconds)
    agg = _by(group_by)
    return SLIQueries(
        total=f"{agg} (increase({_scoped(total, matchers).render()}[{rng}]))",
        bad=f"{agg} (increase({_scoped(errors, matchers).render()}[{rng}]))",
        group_by=tuple(group_by),
    )


def latency_queries(
    *,
    histogram: Selector,
    threshold_seconds: float,
    seconds: float,
    matchers: Sequence[Matcher],
    group_by: Sequence[str],
) -> SLIQueries:
    """Counts of all requests and of those slower than the threshold: count − bucket{le=T}."""
    rng = window(seconds)
    agg = _by(group_by)
    count = _scoped(histogram.with_metric(histogram.metric + "_count"), matchers)
    bucket = _scoped(
        histogram.with_metric(histogram.metric + "_bucket"),
        [*matchers, bucket_bound_matcher(threshold_seconds)],
    )
    total = f"{agg} (increase({count.render()}[{rng}]))"
    # `ignoring(le)` is not needed: both sides are aggregated to the same group labels.
    bad = f"{total} - {agg} (increase({bucket.render()}[{rng}]))"
    return SLIQueries(total=total, bad=bad, group_by=tuple(group_by))


def histogram_buckets_query(
    *,
    histogram: Selector,
    seconds: float,
    matchers: Sequence[Matcher],
    group_by: Sequence[str],
) -> tuple[str, tuple[str, ...]]:
    """Cumulative count per ``le`` bucket over the window, per version: one query for all.

    ``sum by (<group_by>, le) (increase(<h>_bucket{...}[w]))``; the answer's keys end
    with ``le``. The distribution gate differences them into per-bucket counts
    (``roost.analysis.distribution.bucket_counts``). Returns (query, its group-by labels).
    """
    rng = window(seconds)
    labels = (*group_by, "le")
    bucket = _scoped(histogram.with_metric(histogram.metric + "_bucket"), matchers)
    return f"{_by(labels)} (increase({bucket.render()}[{rng}]))", labels


def bucket_bound(le: str) -> float | None:
    """An ``le`` label value as a float (``+Inf`` -> inf); None when it is not a number."""
    try:
        value = float(le)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def arm_histogram(
    answer: Mapping[tuple[str, ...], float], key: tuple[str, ...]
) -> dict[float, float] | None:
    """One version's cumulative ``le`` counts from a grouped bucket answer; None = no series.

    ``key`` is the group key without ``le``; NaN values (no samples) are skipped.
    """
    result: dict[float, float] = {}
    for group, value in answer.items():
        if group[:-1] != key or math.isnan(value):
            continue
        bound = bucket_bound(group[-1])
        if bound is not None:
            result[bound] = value
    return result or None


def arm_histograms(
    answer: Mapping[tuple[str, ...], float],
) -> dict[tuple[str, ...], dict[float, float]]:
    """Every version's cumulative ``le`` counts from a grouped bucket answer, by group key
    without ``le``: :func:`arm_histogram` for all keys in one pass. Keys with no numeric
    value are absent (no series)."""
    result: dict[tuple[str, ...], dict[float, float]] = {}
    for group, value in answer.items():
        if math.isnan(value):
            continue
        bound = bucket_bound(group[-1])
        if bound is not None:
            result.setdefault(group[:-1], {})[bound] = value
    return result


def quality_queries(
    *,
    metric: Selector,
    low: float | None,
    high: float | None,
    seconds: float,
    matchers: Sequence[Matcher],
    group_by: Sequence[str],
) -> SLIQueries:
    """Samples of a gauge over the window, and those outside [low, high].

    Both counts come from subqueries at the same resolution so they are comparable.
    """
    rng = window(seconds)
    agg = _by(group_by)
    sel = _scoped(metric, matchers).render()
    outside: list[str] = []
    if low is not None:
        outside.append(f"({sel} < {low!r})")
    if high is not None:
        outside.append(f"({sel} > {high!r})")
    bad_expr = " or ".join(outside)
    return SLIQueries(
        total=f"{agg} (count_over_time({sel}[{rng}:{QUALITY_RESOLUTION}]))",
        bad=f"{agg} (count_over_time(({bad_expr})[{rng}:{QUALITY_RESOLUTION}]))",
        group_by=tuple(group_by),
    )


def objective_queries(
    objective: Objective,
    *,
    seconds: float,
    matchers: Sequence[Matcher],
    group_by: Sequence[str],
) -> SLIQueries:
    """The count queries of one objective's SLI, whichever kind it is."""
    if objective.ratio is not None:
        return ratio_queries(
            errors=selectors.parse(objective.ratio.errors),
            total=selectors.parse(objective.ratio.total),
            seconds=seconds,
            matchers=matchers,
            group_by=group_by,
        )
    if objective.latency is not None:
        return latency_queries(
            histogram=selectors.parse(objective.latency.histogram),
            threshold_seconds=objective.latency.threshold_seconds,
            seconds=seconds,
            matchers=matchers,
            group_by=group_by,
        )
    assert objective.quality is not None  # an objective has exactly one SLI
    return quality_queries(
        metric=selectors.parse(objective.quality.metric),
        low=objective.quality.min,
        high=objective.quality.max,
        seconds=seconds,
        matchers=matchers,
        group_by=group_by,
    )


def arrival_rate_query(
    objectives: Sequence[Objective], matchers: Sequence[Matcher], *, seconds: float = 120
) -> str | None:
    """Requests a second to the whole model, every version together, over ``seconds``:
    the request counter of the first objective that counts requests (a ratio's total,
    a latency histogram's ``_count``). None when no objective does (quality only).
    The capacity plan's measured arrival rate."""
    counter = request_counter(objectives)
    if counter is None:
        return None
    return f"sum(rate({_scoped(counter, matchers).render()}[{window(seconds)}]))"


def request_counter(objectives: Sequence[Objective]) -> Selector | None:
    """The counter of the model's requests: the first objective's that counts them (a
    ratio's total, a latency histogram's ``_count``); None when none does."""
    objective = next((o for o in objectives if o.ratio or o.latency), None)
    if objective is None:
        return None
    if objective.ratio is not None:
        return selectors.parse(objective.ratio.total)
    assert objective.latency is not None
    histogram = selectors.parse(objective.latency.histogram)
    return histogram.with_metric(histogram.metric + "_count")


SUM_LE = "sum"  # the le value service_time_query gives the histogram's _sum


def service_time_query(
    objectives: Sequence[Objective], matchers: Sequence[Matcher], *, seconds: float = 3600
) -> str | None:
    """The first latency objective's histogram over ``seconds``, for learning the
    service time (roost.capacity.learn): the increase of each bucket by ``le``, and of
    ``_sum`` as ``le="sum"``, in one query. None without a latency objective."""
    objective = next((o for o in objectives if o.latency), None)
    if objective is None:
        return None
    assert objective.latency is not None
    histogram = selectors.parse(objective.latency.histogram)
    span = window(seconds)
    buckets = _scoped(histogram.with_metric(histogram.metric + "_bucket"), matchers).render()
    total = _scoped(histogram.with_metric(histogram.metric + "_sum"), matchers).render()
    return (
        f"sum by (le) (increase({buckets}[{span}]))"
        f' or label_replace(sum(increase({total}[{span}])), "le", "{SUM_LE}", "", "")'
    )


GroupKey = TypeVar("GroupKey", bound=Hashable)


def arm_counts(
    *, total: Mapping[GroupKey, float], bad: Mapping[GroupKey, float], key: GroupKey
) -> Counts | None:
    """One version's counts from grouped query results (group key -> value).

    Absent total -> None (no data). Absent bad with a total -> 0 bad (no error
    series exists). NaN values -> None. Extrapolated ``increase`` can make bad
    exceed total by a hair or go slightly negative: clamp into [0, total].
    """
    if key not in total:
        return None
    n = total[key]
    x = bad.get(key, 0.0)
    if math.isnan(n) or math.isnan(x):
        return None
    n = max(0.0, n)
    return Counts(total=n, bad=min(max(0.0, x), n))
