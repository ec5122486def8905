"""Multiwindow, multi-burn-rate rules (SRE Workbook ch. 5, table 5-8 and its ticket rows).

A rule fires when the error ratio over *both* its long and its short window
exceeds ``burnRate × B``: the long window keeps precision (a real share of the
budget is gone), the short one makes the alert stop soon after the incident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from roost import durations
from roost.api.slopolicy import BurnAction, BurnRateRule, Severity, SLOPolicySpec
from roost.slo.budget import burn_rate_for_budget_share, max_burn_rate
from roost.slo.readings import Counts

# (budget share spent, long window, short window, severity, action): the workbook's
# 2 % in 1 h and 5 % in 6 h pages, 10 % in 1 d and 10 % in 3 d tickets; short = long / 12.
WORKBOOK_LADDER: tuple[tuple[float, str, str, Severity, BurnAction], ...] = (
    (0.02, "1h", "5m", Severity.PAGE, BurnAction.ROLLBACK),
    (0.05, "6h", "30m", Severity.PAGE, BurnAction.ROLLBACK),
    (0.10, "1d", "2h", Severity.TICKET, BurnAction.PAUSE),
    (0.10, "3d", "6h", Severity.TICKET, BurnAction.PAUSE),
)


def default_rules(period: str) -> list[BurnRateRule]:
    """The workbook ladder with burn rates scaled to the period: k = share · T / L.

    30d gives 14.4 / 6 / 3 / 1; 28d gives 13.44 / 5.6 / 2.8 / 0.933. Windows longer
    than the period are left out.
    """
    period_seconds = durations.parse_seconds(period)
    rules = []
    for share, long_window, short_window, severity, action in WORKBOOK_LADDER:
        long_seconds = durations.parse_seconds(long_window)
        if long_seconds > period_seconds:
            continue
        rate = burn_rate_for_budget_share(
            share=share, window_seconds=long_seconds, period_seconds=period_seconds
        )
        rules.append(
            BurnRateRule(
                long_window=long_window,
                short_window=short_window,
                burn_rate=round(rate, 6),
                severity=severity,
                action=action,
            )
        )
    return rules


def unreachable_rules(rules: list[BurnRateRule], target: float) -> list[tuple[int, float]]:
    """Rules whose burn rate exceeds 1 / B and so can never fire: (index, ceiling)."""
    ceiling = max_burn_rate(target)
    return [(i, ceiling) for i, rule in enumerate(rules) if rule.burn_rate > ceiling]


@dataclass(frozen=True)
class RuleEvaluation:
    rule: BurnRateRule
    long_burn: float  # NaN without traffic
    short_burn: float

    @property
    def firing(self) -> bool:
        """Both windows above the threshold; NaN (no traffic) never fires."""
        if math.isnan(self.long_burn) or math.isnan(self.short_burn):
            return False
        return self.long_burn > self.rule.burn_rate and self.short_burn > self.rule.burn_rate


def evaluate(
    rule: BurnRateRule, *, long: Counts, short: Counts, error_budget: float
) -> RuleEvaluation:
    return RuleEvaluation(
        rule=rule,
        long_burn=long.ratio / error_budget,
        short_burn=short.ratio / error_budget,
    )


def policy_warnings(policy: SLOPolicySpec) -> list[str]:
    """Legal settings that are probably not what was meant, one sentence each."""
    rules = policy.burn_rate_rules or default_rules(policy.period)
    found = []
    for objective in policy.objectives:
        for index, ceiling in unreachable_rules(rules, objective.target):
            rule = rules[index]
            origin = f"burnRateRules[{index}]" if policy.burn_rate_rules else "default rule"
            found.append(
                f"objectives[{objective.name}]: {origin} {rule.long_window}/{rule.short_window} "
                f"at burn {rule.burn_rate:g} can never fire: at target {objective.target:g} the "
                f"highest possible burn rate is {ceiling:.4g}"
            )
        if policy.canary.max_burn_rate > max_burn_rate(objective.target):
            found.append(
                f"objectives[{objective.name}]: canary.maxBurnRate {policy.canary.max_burn_rate:g} "
                f"exceeds the highest possible burn rate {max_burn_rate(objective.target):.4g}: "
                "the canary's burn-rate test can never fail"
            )
    return found
