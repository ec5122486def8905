"""One query per SLI per analysis window for every ModelDeployment that shares a Prometheus.

Both counts of an SLI (``total`` and ``bad``) come back from one query
(:func:`roost.slo.promql.combined`), so a window costs one query per SLI.

Distribution checks likewise: one bucket query per histogram (and version label and
label keys) per window, grouped by ``le`` too, split back per ModelDeployment and version.

ModelDeployments whose objectives read the same series (same SLI, same
selectors, same version label and the same set of ``metrics.labels`` keys) are
asked together: the label values and versions of all of them go into one
regex matcher each, the query groups by those labels, and the answer is split
back per ModelDeployment and version. The planning is pure; the adapter runs
the queries and hands the answers back as plain mappings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from roost import selectors
from roost.api.modeldeployment import MetricLabels
from roost.api.slopolicy import CompareTo, DistributionCheck, Objective, SLOPolicySpec
from roost.slo import promql
from roost.slo.promql import SLIQueries
from roost.slo.readings import Counts, HistogramReading, Measurements, SLIReading

T = TypeVar("T")

# A query's answer: values by the group-by label values, or an error message.
Answer = Mapping[tuple[str, ...], float] | str


@dataclass(frozen=True)
class Target:
    """One ModelDeployment to analyse in this window."""

    key: str  # namespace/name
    policy: SLOPolicySpec
    metrics: MetricLabels
    canary_version: str
    stable_version: str
    watch: bool = False
    """After promotion: only the compareTo-reference checks, for the stable version."""

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return () if self.watch else tuple(self.policy.objectives)

    @property
    def checks(self) -> tuple[DistributionCheck, ...]:
        wanted = CompareTo.REFERENCE if self.watch else CompareTo.STABLE
        return tuple(d for d in self.policy.distributions if d.compare_to is wanted)


def _sli_identity(objective: Objective) -> tuple[object, ...]:
    if objective.ratio is not None:
        return ("ratio", objective.ratio.errors, objective.ratio.total)
    if objective.latency is not None:
        return ("latency", objective.latency.histogram, objective.latency.threshold_seconds)
    assert objective.quality is not None
    return ("quality", objective.quality.metric, objective.quality.min, objective.quality.max)


@dataclass
class _Group:
    objective: Objective
    version_label: str
    label_keys: tuple[str, ...]
    label_values: dict[str, set[str]] = field(default_factory=dict)
    versions: set[str] = field(default_factory=set)

    @property
    def group_by(self) -> tuple[str, ...]:
        return (*self.label_keys, self.version_label)

    def queries(self, seconds: float) -> SLIQueries:
        matchers = [
            selectors.one_of(key, sorted(self.label_values[key])) for key in self.label_keys
        ]
        matchers.append(selectors.one_of(self.version_label, sorted(self.versions)))
        return promql.objective_queries(
            self.objective, seconds=seconds, matchers=matchers, group_by=self.group_by
        )


@dataclass
class _HistogramGroup:
    """Every ModelDeployment whose distribution checks read the same histogram."""

    histogram: str
    version_label: str
    label_keys: tuple[str, ...]
    label_values: dict[str, set[str]] = field(default_factory=dict)
    versions: set[str] = field(default_factory=set)

    def query(self, seconds: float) -> tuple[str, tuple[str, ...]]:
        matchers = [
            selectors.one_of(key, sorted(self.label_values[key])) for key in self.label_keys
        ]
        matchers.append(selectors.one_of(self.version_label, sorted(self.versions)))
        return promql.histogram_buckets_query(
            histogram=selectors.parse(self.histogram),
            seconds=seconds,
            matchers=matchers,
            group_by=(*self.label_keys, self.version_label),
        )


@dataclass(frozen=True)
class QueryPlan:
    """The queries for one window and how to read their answers back per target."""

    start: datetime
    end: datetime
    queries: tuple[str, ...]
    # (target key, objective name) -> (combined count query, canary key, stable key)
    _reads: Mapping[tuple[str, str], tuple[str, tuple[str, ...], tuple[str, ...]]]
    _targets: tuple[Target, ...]
    _group_by: Mapping[str, tuple[str, ...]]
    # (target key, distribution name) -> (bucket query, canary key, stable key)
    _histograms: Mapping[tuple[str, str], tuple[str, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )

    def group_by(self, query: str) -> tuple[str, ...]:
        """The labels a query's answer is grouped by, in key order."""
        return self._group_by[query]

    def measurements(self, answers: Mapping[str, Answer]) -> dict[str, Measurements]:
        """Each target's measurements from the answers (keyed by query text)."""
        result: dict[str, Measurements] = {}
        # Each answer is split once, not once per target: a batch holds a thousand of them.
        split: dict[str, tuple[Mapping[tuple[str, ...], float], ...] | str] = {}
        by_arm: dict[str, dict[tuple[str, ...], dict[float, float]] | str] = {}
        for target in self._targets:
            readings: list[SLIReading] = []
            error: str | None = None
            for objective in target.objectives:
                query, canary_key, stable_key = self._reads[(target.key, objective.name)]
                counts = split.get(query)
                if counts is None:
                    answered = answers.get(query, "not asked")
                    counts = answered if isinstance(answered, str) else promql.parts(answered)
                    split[query] = counts
                if isinstance(counts, str):
                    error = f"{objective.name}: {counts}"
                    break
                total, bad = counts
                readings.append(
                    SLIReading(
                        objective=objective.name,
                        canary=promql.arm_counts(total=total, bad=bad, key=canary_key),
                        stable=promql.arm_counts(total=total, bad=bad, key=stable_key),
                    )
                )
            histograms: list[HistogramReading] = []
            for check in target.checks:
                if error is not None:
                    break
                query, canary_key, stable_key = self._histograms[(target.key, check.name)]
                arms = by_arm.get(query)
                if arms is None:
                    answered = answers.get(query, "not asked")
                    arms = (
                        answered if isinstance(answered, str) else promql.arm_histograms(answered)
                    )
                    by_arm[query] = arms
                if isinstance(arms, str):
                    error = f"{check.name}: {arms}"
                    break
                histograms.append(
                    HistogramReading(
                        name=check.name,
                        canary=arms.get(canary_key),
                        stable=arms.get(stable_key),
                    )
                )
            result[target.key] = (
                Measurements(at=self.end, error=error)
                if error is not None
                else Measurements(
                    at=self.end, readings=tuple(readings), histograms=tuple(histograms)
                )
            )
        return result


def plan(targets: Sequence[Target], *, start: datetime, end: datetime) -> QueryPlan:
    """Group the targets' objectives into as few queries as their series allow."""
    groups: dict[tuple[object, ...], _Group] = {}
    membership: dict[tuple[str, str], tuple[tuple[object, ...], tuple[str, ...]]] = {}
    by_key = {target.key: target for target in targets}
    for target in targets:
        label_keys = tuple(sorted(target.metrics.labels))
        label_values = tuple(target.metrics.labels[k] for k in label_keys)
        for objective in target.objectives:
            identity: tuple[object, ...] = (
                _sli_identity(objective),
                target.metrics.version_label,
                label_keys,
            )
            group = groups.setdefault(
                identity,
                _Group(
                    objective=objective,
                    version_label=target.metrics.version_label,
                    label_keys=label_keys,
                    label_values={k: set() for k in label_keys},
                ),
            )
            for key, value in zip(label_keys, label_values, strict=True):
                group.label_values[key].add(value)
            group.versions |= {target.canary_version, target.stable_version}
            membership[(target.key, objective.name)] = (identity, label_values)

    hist_groups: dict[tuple[object, ...], _HistogramGroup] = {}
    hist_membership: dict[tuple[str, str], tuple[tuple[object, ...], tuple[str, ...]]] = {}
    for target in targets:
        label_keys = tuple(sorted(target.metrics.labels))
        label_values = tuple(target.metrics.labels[k] for k in label_keys)
        for check in target.checks:
            hist_id: tuple[object, ...] = (
                check.histogram,
                target.metrics.version_label,
                label_keys,
            )
            hist_group = hist_groups.setdefault(
                hist_id,
                _HistogramGroup(
                    histogram=check.histogram,
                    version_label=target.metrics.version_label,
                    label_keys=label_keys,
                    label_values={k: set() for k in label_keys},
                ),
            )
            for key, value in zip(label_keys, label_values, strict=True):
                hist_group.label_values[key].add(value)
            hist_group.versions |= {target.canary_version, target.stable_version}
            hist_membership[(target.key, check.name)] = (hist_id, label_values)

    seconds = (end - start).total_seconds()
    rendered_hist = {hist_id: g.query(seconds) for hist_id, g in hist_groups.items()}
    hist_reads = {}
    for (target_key, check_name), (hist_id, label_values) in hist_membership.items():
        target = by_key[target_key]
        hist_reads[(target_key, check_name)] = (
            rendered_hist[hist_id][0],
            (*label_values, target.canary_version),
            (*label_values, target.stable_version),
        )
    rendered = {
        identity: promql.combined(group.queries(seconds)) for identity, group in groups.items()
    }
    reads = {}
    for (target_key, objective_name), (group_id, label_values) in membership.items():
        target = by_key[target_key]
        reads[(target_key, objective_name)] = (
            rendered[group_id][0],
            (*label_values, target.canary_version),
            (*label_values, target.stable_version),
        )
    ordered: list[str] = []
    group_by: dict[str, tuple[str, ...]] = {}
    for text, labels in (*rendered.values(), *rendered_hist.values()):
        if text not in ordered:
            ordered.append(text)
        group_by[text] = labels
    return QueryPlan(
        start=start,
        end=end,
        queries=tuple(ordered),
        _reads=reads,
        _targets=tuple(targets),
        _group_by=group_by,
        _histograms=hist_reads,
    )


def _add_counts(a: Counts | None, b: Counts | None) -> Counts | None:
    if a is None or b is None:
        return a if b is None else b
    return Counts(a.total + b.total, a.bad + b.bad)


def _add_buckets(
    a: Mapping[float, float] | None, b: Mapping[float, float] | None
) -> Mapping[float, float] | None:
    if a is None or b is None:
        return a if b is None else b
    return {le: a.get(le, 0.0) + b.get(le, 0.0) for le in a.keys() | b.keys()}


def merge(windows: Sequence[Measurements]) -> Measurements:
    """Consecutive windows' measurements as one window ending at the last one's end.

    Counts add: a version with data in any window has data. The first error makes the
    whole span unreadable (nothing after it is judged before it is)."""
    if not windows:
        raise ValueError("merge needs at least one window")
    last = windows[-1]
    failed = next((m for m in windows if m.error is not None), None)
    if failed is not None:
        return Measurements(at=last.at, error=failed.error)
    if len(windows) == 1:
        return last
    first = windows[0]
    readings = tuple(
        SLIReading(
            objective=r.objective,
            canary=_sum(_add_counts, (m.reading(r.objective) for m in windows), "canary"),
            stable=_sum(_add_counts, (m.reading(r.objective) for m in windows), "stable"),
        )
        for r in first.readings
    )
    histograms = tuple(
        HistogramReading(
            name=h.name,
            canary=_sum(_add_buckets, (m.histogram(h.name) for m in windows), "canary"),
            stable=_sum(_add_buckets, (m.histogram(h.name) for m in windows), "stable"),
        )
        for h in first.histograms
    )
    return Measurements(at=last.at, readings=readings, histograms=histograms)


def _sum(
    add: Callable[[T | None, T | None], T | None], parts: Iterable[object], arm: str
) -> T | None:
    total: T | None = None
    for part in parts:
        if part is not None:
            total = add(total, getattr(part, arm))
    return total
