"""Error budgets and burn rates (Google SRE Workbook, ch. 5 "Alerting on SLOs").

Notation: target S, error budget B = 1 − S (a share of events), period T,
error ratio e over a window, burn rate b = e / B. At b = 1 the budget lasts
exactly the period; at b = k it lasts T / k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal


def error_budget(target: float) -> float:
    """B = 1 − S, computed in decimal so 0.999 gives exactly 0.001 (not 0.0010000000000000009)."""
    if not 0 < target < 1:
        raise ValueError(f"target must lie in (0, 1), got {target}")
    return float(Decimal(1) - Decimal(repr(target)))


def burn_rate(*, bad: float, total: float, target: float) -> float:
    """b = (bad / total) / (1 − S); NaN when there was no traffic (no evidence, not health)."""
    if total <= 0:
        return math.nan
    return (bad / total) / error_budget(target)


def max_burn_rate(target: float) -> float:
    """The largest burn rate an SLI can show, 1 / B (every request bad).

    A rule with a higher threshold can never fire: at 93 % the ceiling is 14.29,
    so the workbook's 14.4x page is dead.
    """
    return 1.0 / error_budget(target)


def burn_rate_for_budget_share(
    *, share: float, window_seconds: float, period_seconds: float
) -> float:
    """k = p · T / L: the burn rate that spends ``share`` of the budget within window L."""
    return share * period_seconds / window_seconds


def budget_spent(*, burn: float, window_seconds: float, period_seconds: float) -> float:
    """Share of the period's budget spent by burning at ``burn`` for ``window`` (b · L / T)."""
    return burn * window_seconds / period_seconds


def detection_seconds(
    *, burn_threshold: float, target: float, error_ratio: float, window_seconds: float
) -> float:
    """Time for a step to ``error_ratio`` to cross k·B over window L: (k·B / e) · L."""
    if error_ratio <= 0:
        return math.inf
    return burn_threshold * error_budget(target) / error_ratio * window_seconds


@dataclass(frozen=True)
class BudgetReport:
    """The budget of one SLO over its period, with the inputs it came from."""

    target: float
    total: float
    bad: float
    period_seconds: float
    current_burn_rate: float | None = None  # over a recent window; defaults to the period's

    @property
    def error_ratio(self) -> float:
        return math.nan if self.total <= 0 else self.bad / self.total

    @property
    def burn_rate(self) -> float:
        """Average burn over the period, e_T / B."""
        return burn_rate(bad=self.bad, total=self.total, target=self.target)

    @property
    def allowed_bad(self) -> float:
        """Bad events the budget allows for the traffic seen: B · Σtotal."""
        return error_budget(self.target) * self.total

    @property
    def budget_remaining(self) -> float:
        """R = 1 − e_T / B; negative once the budget is overspent; NaN with no traffic."""
        return 1.0 - self.burn_rate

    @property
    def time_to_exhaustion_seconds(self) -> float:
        """R · T / b_now: ∞ when nothing burns, 0 when already exhausted, NaN without data."""
        remaining = self.budget_remaining
        now = self.burn_rate if self.current_burn_rate is None else self.current_burn_rate
        if math.isnan(remaining) or math.isnan(now):
            return math.nan
        if remaining <= 0:
            return 0.0
        if now <= 0:
            return math.inf
        return remaining * self.period_seconds / now

    def to_dict(self) -> dict[str, float | None]:
        return {
            "target": self.target,
            "total": self.total,
            "bad": self.bad,
            "period_seconds": self.period_seconds,
            "error_ratio": _finite(self.error_ratio),
            "burn_rate": _finite(self.burn_rate),
            "allowed_bad": self.allowed_bad,
            "budget_remaining": _finite(self.budget_remaining),
            "time_to_exhaustion_seconds": _finite(self.time_to_exhaustion_seconds),
        }


def _finite(value: float) -> float | None:
    """JSON has no NaN or ∞: NaN becomes null; ∞ stays a float (printed as Infinity is avoided)."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return None
    return value
