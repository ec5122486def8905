"""The stable-budget guard: may a rollout start while the stable version burns its budget?

A rollout is a risk taken against the error budget. When
``rolloutGuard.minBudgetRemaining`` is set and any objective of the stable
version has less budget left over the period than that, the rollout waits
(phase Pending) until the budget recovers or a person resumes it. Missing data
does not block: a guard that cannot see the budget says so and lets the
canary gates do their job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from roost.api.slopolicy import SLOPolicySpec
from roost.slo.budget import BudgetReport


@dataclass(frozen=True)
class GuardDecision:
    allowed: bool
    message: str


def budget_guard(
    policy: SLOPolicySpec, stable_budgets: Mapping[str, BudgetReport | None]
) -> GuardDecision:
    """Allowed unless some objective's remaining budget is below the policy's minimum."""
    minimum = policy.rollout_guard.min_budget_remaining
    if minimum is None:
        return GuardDecision(True, "no rollout guard configured")
    short: list[str] = []
    unknown: list[str] = []
    for objective in policy.objectives:
        report = stable_budgets.get(objective.name)
        remaining = math.nan if report is None else report.budget_remaining
        if math.isnan(remaining):
            unknown.append(objective.name)
        elif remaining < minimum:
            short.append(f"{objective.name} has {remaining:.1%} of its budget left")
    if short:
        return GuardDecision(
            False,
            f"stable version: {'; '.join(short)} (rolloutGuard.minBudgetRemaining "
            f"{minimum:.0%}); the rollout waits, or resume it to override",
        )
    if unknown:
        return GuardDecision(True, f"budget unknown for {', '.join(unknown)}; not blocking")
    return GuardDecision(True, f"every objective has at least {minimum:.0%} of its budget left")
