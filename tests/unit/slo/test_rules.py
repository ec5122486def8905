"""Default multiwindow rules scaled to the period (SRE Workbook ch. 5; SLO vectors 3, 4, 14)."""

from __future__ import annotations

import pytest

from roost.api.slopolicy import BurnAction, Severity
from roost.slo import rules
from roost.slo.readings import Counts


def test_default_rules_for_30_days_are_the_workbook_ladder() -> None:
    ladder = rules.default_rules("30d")
    assert [(r.long_window, r.short_window, r.burn_rate) for r in ladder] == [
        ("1h", "5m", 14.4),
        ("6h", "30m", 6.0),
        ("1d", "2h", 3.0),
        ("3d", "6h", 1.0),
    ]
    assert [r.severity for r in ladder] == [Severity.PAGE] * 2 + [Severity.TICKET] * 2
    assert ladder[0].action is BurnAction.ROLLBACK


def test_default_rules_scale_with_a_28_day_period() -> None:
    rates = [r.burn_rate for r in rules.default_rules("28d")]
    assert rates == pytest.approx([13.44, 5.6, 2.8, 0.933333], rel=1e-5)


def test_rules_longer_than_a_short_period_are_left_out() -> None:
    assert [r.long_window for r in rules.default_rules("2d")] == ["1h", "6h", "1d"]


def test_a_14_4_rule_is_unreachable_at_a_93_percent_target() -> None:
    ladder = rules.default_rules("30d")
    assert rules.unreachable_rules(ladder, 0.93) == [(0, pytest.approx(14.2857, rel=1e-4))]
    assert rules.unreachable_rules(ladder, 0.999) == []


def test_a_rule_fires_only_when_both_windows_burn_above_it() -> None:
    page = rules.default_rules("30d")[0]
    hot = Counts(total=1000, bad=20)  # burn 20
    cool = Counts(total=1000, bad=1)  # burn 1
    assert rules.evaluate(page, long=hot, short=hot, error_budget=0.001).firing
    assert not rules.evaluate(page, long=hot, short=cool, error_budget=0.001).firing
    assert not rules.evaluate(page, long=cool, short=hot, error_budget=0.001).firing


def test_no_traffic_never_fires() -> None:
    page = rules.default_rules("30d")[0]
    empty = Counts(total=0, bad=0)
    assert not rules.evaluate(page, long=empty, short=empty, error_budget=0.001).firing


def test_policy_warnings_name_the_rule_that_can_never_fire() -> None:
    from roost.api.slopolicy import SLOPolicySpec

    policy = SLOPolicySpec.model_validate(
        {"objectives": [{"name": "a", "target": 0.93, "ratio": {"errors": "e", "total": "t"}}]}
    )
    warnings = rules.policy_warnings(policy)
    assert warnings == [
        "objectives[a]: default rule 1h/5m at burn 14.4 can never fire: at target 0.93 the "
        "highest possible burn rate is 14.29"
    ]
    fine = SLOPolicySpec.model_validate(
        {"objectives": [{"name": "a", "target": 0.999, "ratio": {"errors": "e", "total": "t"}}]}
    )
    assert rules.policy_warnings(fine) == []
