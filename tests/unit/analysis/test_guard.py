"""The stable-budget guard holds a rollout only on evidence of an exhausted budget."""

from __future__ import annotations

from roost.analysis.guard import budget_guard
from roost.api.slopolicy import SLOPolicySpec
from roost.slo.budget import BudgetReport

MONTH = 30 * 86400.0


def _policy(minimum: float | None) -> SLOPolicySpec:
    return SLOPolicySpec.model_validate(
        {
            "objectives": [
                {"name": "availability", "target": 0.999, "ratio": {"errors": "e", "total": "t"}}
            ],
            "rolloutGuard": {"minBudgetRemaining": minimum},
        }
    )


def _report(bad: float) -> BudgetReport:
    return BudgetReport(target=0.999, total=1_000_000, bad=bad, period_seconds=MONTH)


def test_no_guard_always_allows() -> None:
    assert budget_guard(_policy(None), {"availability": _report(5000)}).allowed


def test_a_budget_below_the_minimum_holds_the_rollout() -> None:
    decision = budget_guard(_policy(0.1), {"availability": _report(950)})  # 5 % left
    assert not decision.allowed
    assert "availability has 5.0% of its budget left" in decision.message


def test_enough_budget_allows() -> None:
    assert budget_guard(_policy(0.1), {"availability": _report(400)}).allowed  # 60 % left


def test_unknown_budget_does_not_block() -> None:
    decision = budget_guard(_policy(0.1), {"availability": None})
    assert decision.allowed
    assert "budget unknown" in decision.message
