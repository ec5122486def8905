"""Prometheus recording and alerting rules for an SLOPolicy (``roost rules``).

Pure: a policy in, rule groups out, no I/O. The layout follows the Prometheus
recording-rule practice (aggregate numerator and denominator, then divide) and the
SRE Workbook's multiwindow alerts (ch. 5); docs/references.md has both:

* per objective and window, the **numerator and the denominator are recorded
  separately** as counts (``roost_slo:sli_bad:increase<w>``,
  ``roost_slo:sli_total:increase<w>``), so a long window is a traffic-weighted
  sum, never an average of ratios (as Sloth's 30d figure is: an unweighted average
  of 5m ratios, NaN after an idle slice);
* windows up to 6h read the raw series (``increase(x[w])``); longer windows and
  the SLO period are **derived from the shortest window's counts** with a
  subquery, ``sum_over_time(roost_slo:sli_bad:increase5m[1d:5m])``, which is
  cheap (one recorded sample per step) and exact for Occurrences budgeting;
* the error ratio ``bad / total`` and the burn rate ``ratio / (1 − target)``
  per window; no traffic gives 0/0 = NaN, which never fires a burn alert;
* a missing error series is 0 errors, not no data: ``bad or total * 0`` (the three
  empty states, docs/decisions.md);
* multiwindow burn-rate alerts (SRE Workbook ch. 5): one alert per severity,
  the OR of its (long AND short window above the burn rate) pairs, from the
  policy's ``burnRateRules`` or the workbook ladder scaled to the period;
* a no-data alert on ``absent()`` of the series the SLI needs (Pyrra's
  ``SLOMetricAbsent``; Sloth has none), because NaN silences every
  burn alert.

The SLI math is the one of ``roost.slo.promql``: the same builders render the
analysis queries and these rules. Selector values are escaped by
``roost.selectors``; nothing a user wrote is pasted into PromQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from roost import durations, selectors
from roost.api.slopolicy import BurnRateRule, Objective, Severity, SLOPolicySpec
from roost.selectors import LABEL_NAME, Selector
from roost.slo import promql
from roost.slo.budget import error_budget
from roost.slo.rules import default_rules

PREFIX = "roost_slo"
LABEL_POLICY = f"{PREFIX}"
LABEL_OBJECTIVE = "roost_objective"

RECORD_BAD = f"{PREFIX}:sli_bad:increase"
RECORD_TOTAL = f"{PREFIX}:sli_total:increase"
RECORD_RATIO = f"{PREFIX}:sli_error:ratio_rate"
RECORD_BURN = f"{PREFIX}:burn_rate:ratio_rate"
RECORD_OBJECTIVE = f"{PREFIX}:objective:ratio"
RECORD_BUDGET = f"{PREFIX}:error_budget:ratio"
RECORD_REMAINING = f"{PREFIX}:error_budget_remaining:ratio"

ALERT_BURN = "RoostSLOErrorBudgetBurn"
ALERT_NO_DATA = "RoostSLONoData"

# Windows longer than this are derived from the shortest window's counts (pyrra#1440
# measured 3.8 s for one raw 3d rate over Istio metrics).
RAW_WINDOW_LIMIT_SECONDS = 6 * 3600.0
# The derived group is evaluated at most this often; its windows are hours to days.
DERIVED_INTERVAL_SECONDS = 60.0

_LABEL = re.compile(rf"^{LABEL_NAME}$")


class RulesError(ValueError):
    """Options the rules cannot be generated with; the message names the option."""


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    expr: str
    for_: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_:
            out["for"] = self.for_
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[RecordingRule | AlertingRule, ...]
    interval: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.interval:
            out["interval"] = self.interval
        out["rules"] = [rule.to_dict() for rule in self.rules]
        return out


@dataclass(frozen=True)
class Windows:
    """The windows one policy needs, in seconds: ``base`` is the shortest, read raw."""

    raw: tuple[float, ...]
    derived: tuple[float, ...]
    period: float

    @property
    def base(self) -> float:
        return self.raw[0]

    @property
    def all(self) -> tuple[float, ...]:
        return tuple(sorted({*self.raw, *self.derived}))


def windows_for(rules: Sequence[BurnRateRule], period_seconds: float) -> Windows:
    """Every window of the burn-rate rules; the shortest (base), and all up to 6h, read raw.

    The period is always derived (its window is far longer than the raw limit in any
    realistic policy, and a 30d raw ``increase`` loads every raw sample of the period:
    at a 15 s scrape, 300 series pass Prometheus's default ``--query.max-samples``
    of 50 million).
    """
    seconds = sorted(
        {
            durations.parse_seconds(w)
            for rule in rules
            for w in (rule.short_window, rule.long_window)
        }
    )
    if not seconds:
        raise RulesError("the policy has no burn-rate rules to derive windows from")
    base = seconds[0]
    if period_seconds <= base:
        raise RulesError("the period must be longer than the shortest burn-rate window")
    raw = tuple(
        s for s in seconds if s == base or (s <= RAW_WINDOW_LIMIT_SECONDS and s != period_seconds)
    )
    derived = tuple(sorted({s for s in seconds if s not in raw} | {period_seconds}))
    return Windows(raw=raw, derived=derived, period=period_seconds)


def _check_labels(selector_labels: Mapping[str, str], group_by: Sequence[str]) -> None:
    for name in [*selector_labels, *group_by]:
        if not _LABEL.match(name) or name.startswith("__"):
            raise RulesError(f"{name!r} is not a Prometheus label name")
        if name.startswith("roost_"):
            raise RulesError(f"{name!r}: label names starting with roost_ are Roost's own")
    for name in group_by:
        if name in selector_labels:
            raise RulesError(f"{name!r} is both a selector label and a group-by label")


def _window(seconds: float) -> str:
    return promql.window(seconds)


def _number(value: float) -> str:
    """A float as PromQL reads it back exactly (repr round-trips)."""
    return repr(float(value))


class _ObjectiveRules:
    """The rules of one objective: static labels, SLI counts, ratios, burn rates, alerts."""

    def __init__(
        self,
        *,
        policy: str,
        objective: Objective,
        selector_labels: Mapping[str, str],
        group_by: Sequence[str],
    ) -> None:
        self.objective = objective
        self.group_by = tuple(group_by)
        self.matchers = tuple(selectors.equal(k, v) for k, v in sorted(selector_labels.items()))
        self.labels: dict[str, str] = {
            LABEL_POLICY: policy,
            LABEL_OBJECTIVE: objective.name,
            **dict(sorted(selector_labels.items())),
        }
        self.budget = error_budget(objective.target)

    def series(self, record: str) -> str:
        """A recorded series of this objective, selected by all of its static labels."""
        return Selector(
            record, tuple(selectors.equal(k, v) for k, v in self.labels.items())
        ).render()

    def raw_counts(self, seconds: float) -> promql.SLIQueries:
        """Counts over one window from the raw series, by the analysis' own PromQL builders."""
        return promql.objective_queries(
            self.objective, seconds=seconds, matchers=self.matchers, group_by=self.group_by
        )

    def raw_window(self, seconds: float) -> list[RecordingRule]:
        queries = self.raw_counts(seconds)
        w = _window(seconds)
        return [
            # No error series at all means no errors: fill 0 where there is traffic.
            RecordingRule(
                f"{RECORD_BAD}{w}", f"({queries.bad}) or ({queries.total} * 0)", self.labels
            ),
            RecordingRule(f"{RECORD_TOTAL}{w}", queries.total, self.labels),
            *self.ratios(seconds),
        ]

    def derived_window(self, seconds: float, base: float) -> list[RecordingRule]:
        w, b = _window(seconds), _window(base)
        return [
            RecordingRule(
                f"{RECORD_BAD}{w}",
                f"sum_over_time({self.series(RECORD_BAD + b)}[{w}:{b}])",
                self.labels,
            ),
            RecordingRule(
                f"{RECORD_TOTAL}{w}",
                f"sum_over_time({self.series(RECORD_TOTAL + b)}[{w}:{b}])",
                self.labels,
            ),
            *self.ratios(seconds),
        ]

    def ratios(self, seconds: float) -> list[RecordingRule]:
        w = _window(seconds)
        return [
            RecordingRule(
                f"{RECORD_RATIO}{w}",
                f"{self.series(RECORD_BAD + w)} / {self.series(RECORD_TOTAL + w)}",
                self.labels,
            ),
            RecordingRule(
                f"{RECORD_BURN}{w}",
                f"{self.series(RECORD_RATIO + w)} / {_number(self.budget)}",
                self.labels,
            ),
        ]

    def constants(self) -> list[RecordingRule]:
        return [
            RecordingRule(
                RECORD_OBJECTIVE, f"vector({_number(self.objective.target)})", self.labels
            ),
            RecordingRule(RECORD_BUDGET, f"vector({_number(self.budget)})", self.labels),
        ]

    def remaining(self, period: float) -> RecordingRule:
        """R = 1 − e_T / B over the period: negative once the budget is overspent."""
        return RecordingRule(
            RECORD_REMAINING, f"1 - {self.series(RECORD_BURN + _window(period))}", self.labels
        )

    def burn_alert(self, severity: Severity, rules: Sequence[BurnRateRule]) -> AlertingRule:
        pairs = []
        for rule in rules:
            long = self.series(RECORD_BURN + _window(durations.parse_seconds(rule.long_window)))
            short = self.series(RECORD_BURN + _window(durations.parse_seconds(rule.short_window)))
            k = _number(rule.burn_rate)
            pairs.append(f"({long} > {k} and {short} > {k})")
        described = "; ".join(
            f"{r.long_window}/{r.short_window} above {r.burn_rate:g}x" for r in rules
        )
        return AlertingRule(
            alert=ALERT_BURN,
            expr=" or ".join(pairs),
            # The objective's labels too: two objectives' alerts must not look like duplicates.
            labels={"severity": severity.value, **self.labels},
            annotations={
                "summary": (
                    "SLO {{ $labels.roost_slo }}/{{ $labels.roost_objective }} burns its "
                    f"error budget too fast ({severity.value})"
                ),
                "description": (
                    f"Objective {self.objective.name} (target {self.objective.target:g}): "
                    'burn rate {{ $value | printf "%.3g" }} over the long window; '
                    f"fires when both windows of a pair burn faster than: {described}."
                ),
            },
        )

    def absent_selectors(self) -> list[str]:
        """The series whose absence means the SLI cannot be computed at all."""
        objective = self.objective
        if objective.ratio is not None:
            return [selectors.parse(objective.ratio.total).with_matchers(*self.matchers).render()]
        if objective.latency is not None:
            histogram = selectors.parse(objective.latency.histogram)
            count = histogram.with_metric(histogram.metric + "_count").with_matchers(*self.matchers)
            bucket = histogram.with_metric(histogram.metric + "_bucket").with_matchers(
                *self.matchers,
                promql.bucket_bound_matcher(objective.latency.threshold_seconds),
            )
            return [count.render(), bucket.render()]
        assert objective.quality is not None
        return [selectors.parse(objective.quality.metric).with_matchers(*self.matchers).render()]

    def no_data_alert(self, wait: float) -> AlertingRule:
        return AlertingRule(
            alert=ALERT_NO_DATA,
            expr=" or ".join(f"absent({s})" for s in self.absent_selectors()),
            for_=_window(wait),
            labels={"severity": Severity.TICKET.value, **self.labels},
            annotations={
                "summary": (
                    "SLO {{ $labels.roost_slo }}/{{ $labels.roost_objective }} has no data"
                ),
                "description": (
                    f"No series for objective {self.objective.name}: its burn rates are NaN, "
                    "so no burn-rate alert can fire and canary analysis is inconclusive."
                ),
            },
        )


def rule_groups(
    policy_name: str,
    spec: SLOPolicySpec,
    *,
    selector_labels: Mapping[str, str] | None = None,
    group_by: Sequence[str] = (),
) -> list[RuleGroup]:
    """Recording and alerting rule groups for one SLOPolicy.

    ``selector_labels`` are equality matchers added to every SLI selector (e.g. the
    model's ``metrics.labels``) and static labels on every rule; ``group_by`` keeps
    labels (e.g. ``version``) through the sums, so every version gets its own series.
    """
    labels = dict(selector_labels or {})
    _check_labels(labels, group_by)
    burn_rules = list(spec.burn_rate_rules or default_rules(spec.period))
    windows = windows_for(burn_rules, spec.period_seconds)
    objectives = [
        _ObjectiveRules(policy=policy_name, objective=o, selector_labels=labels, group_by=group_by)
        for o in spec.objectives
    ]

    short: list[RecordingRule | AlertingRule] = []
    long: list[RecordingRule | AlertingRule] = []
    alerts: list[RecordingRule | AlertingRule] = []
    for rules in objectives:
        short += rules.constants()
        for seconds in windows.raw:
            short += rules.raw_window(seconds)
        for seconds in windows.derived:
            long += rules.derived_window(seconds, windows.base)
        long.append(rules.remaining(windows.period))
        for severity in Severity:
            matching = [r for r in burn_rules if r.severity is severity]
            if matching:
                alerts.append(rules.burn_alert(severity, matching))
        alerts.append(rules.no_data_alert(windows.base))

    stem = f"roost-slo-{policy_name}"
    return [
        RuleGroup(f"{stem}-sli", tuple(short)),
        RuleGroup(
            f"{stem}-sli-long",
            tuple(long),
            interval=_window(min(DERIVED_INTERVAL_SECONDS, windows.base)),
        ),
        RuleGroup(f"{stem}-alerts", tuple(alerts)),
    ]


def rule_file(
    policy_name: str,
    spec: SLOPolicySpec,
    *,
    selector_labels: Mapping[str, str] | None = None,
    group_by: Sequence[str] = (),
) -> dict[str, Any]:
    """A Prometheus rule file (``rule_files:``) as a mapping: ``{"groups": [...]}``."""
    groups = rule_groups(policy_name, spec, selector_labels=selector_labels, group_by=group_by)
    return {"groups": [group.to_dict() for group in groups]}
