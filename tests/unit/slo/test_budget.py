"""Error budget and burn-rate math against the published vectors.

Vectors: SLO vectors 1-25, arithmetic from the formulas of the SRE Workbook, ch. 5
(docs/references.md, "Test vectors").
"""

from __future__ import annotations

import math

import pytest

from roost.slo.budget import (
    BudgetReport,
    budget_spent,
    burn_rate,
    burn_rate_for_budget_share,
    detection_seconds,
    error_budget,
    max_burn_rate,
)

DAY = 86400.0
HOUR = 3600.0


# SLO vector 1: SLO 99.9 % with 1.44 % errors is burn 14.4
def test_burn_rate_of_1_44_percent_errors_at_three_nines_is_14_4() -> None:
    assert burn_rate(bad=144, total=10_000, target=0.999) == pytest.approx(14.4)


# SLO vector 2
@pytest.mark.parametrize(("ratio", "burn"), [(0.006, 6), (0.003, 3), (0.001, 1)])
def test_burn_rate_ladder_error_ratios(ratio: float, burn: float) -> None:
    assert burn_rate(bad=ratio * 1e6, total=1e6, target=0.999) == pytest.approx(burn)


# SLO vectors 3 and 4: factors from budget share and window, 30 d and 28 d
@pytest.mark.parametrize(
    ("period_days", "expected"),
    [(30, [14.4, 6, 3, 1]), (28, [13.44, 5.6, 2.8, 0.9333333])],
)
def test_burn_rate_thresholds_from_budget_share(period_days: int, expected: list[float]) -> None:
    pairs = [(0.02, HOUR), (0.05, 6 * HOUR), (0.10, DAY), (0.10, 3 * DAY)]
    got = [
        burn_rate_for_budget_share(share=p, window_seconds=w, period_seconds=period_days * DAY)
        for p, w in pairs
    ]
    assert got == pytest.approx(expected, rel=1e-6)


# SRE Workbook ch. 5: burn rate 14.4 for 1 h spends 2 % of a 30-day budget
def test_burn_rate_14_4_for_an_hour_spends_2_percent_of_30_days() -> None:
    assert budget_spent(burn=14.4, window_seconds=HOUR, period_seconds=30 * DAY) == pytest.approx(
        0.02
    )


# SLO vectors 7 and 8: detection times
def test_detection_time_of_the_page_rule_at_full_outage_is_52_seconds() -> None:
    seconds = detection_seconds(
        burn_threshold=14.4, target=0.999, error_ratio=1.0, window_seconds=HOUR
    )
    assert seconds / 60 == pytest.approx(0.864)


def test_detection_time_at_ten_percent_errors_is_8_64_minutes() -> None:
    seconds = detection_seconds(
        burn_threshold=14.4, target=0.999, error_ratio=0.1, window_seconds=HOUR
    )
    assert seconds / 60 == pytest.approx(8.64)


# SLO vector 14: the highest burn an SLI can show; 14.4x can never fire at 93 %
@pytest.mark.parametrize(("target", "ceiling"), [(0.93, 14.2857), (0.90, 10), (0.99, 100)])
def test_max_burn_rate_is_one_over_the_budget(target: float, ceiling: float) -> None:
    assert max_burn_rate(target) == pytest.approx(ceiling, rel=1e-4)
    assert (max_burn_rate(0.93) < 14.4) is True


# SLO vector 15: 10 M requests, 4,000 bad, 99.9 %: burn 0.4, 60 % left, 10,000 allowed
def test_ten_million_requests_with_4000_bad_leave_60_percent_of_the_budget() -> None:
    report = BudgetReport(target=0.999, total=10_000_000, bad=4_000, period_seconds=30 * DAY)
    assert report.error_ratio == pytest.approx(0.0004)
    assert report.burn_rate == pytest.approx(0.4)
    assert report.budget_remaining == pytest.approx(0.6)
    assert report.allowed_bad == pytest.approx(10_000)


# SLO vector 16: TTE with R = 0.6, T = 720 h, b_now = 14.4 is 30 h
def test_time_to_exhaustion_at_14_4_with_60_percent_left_is_30_hours() -> None:
    report = BudgetReport(
        target=0.999,
        total=10_000_000,
        bad=4_000,
        period_seconds=30 * DAY,
        current_burn_rate=14.4,
    )
    assert report.time_to_exhaustion_seconds == pytest.approx(30 * HOUR)


def test_time_to_exhaustion_is_zero_when_overspent_and_infinite_without_burn() -> None:
    overspent = BudgetReport(target=0.999, total=1000, bad=5, period_seconds=30 * DAY)
    clean = BudgetReport(target=0.999, total=1000, bad=0, period_seconds=30 * DAY)
    assert overspent.budget_remaining < 0
    assert overspent.time_to_exhaustion_seconds == 0
    assert clean.time_to_exhaustion_seconds == math.inf


# SLO vector 17: latency: count 100/s, bucket{le=0.5} 98.5/s, S = 99 % -> e = 1.5 %, b = 1.5
def test_latency_burn_from_bucket_counts() -> None:
    assert burn_rate(bad=100 - 98.5, total=100, target=0.99) == pytest.approx(1.5)


# SLO vector 18: no traffic is NaN (inconclusive), never healthy
def test_no_traffic_gives_nan_burn_not_zero() -> None:
    assert math.isnan(burn_rate(bad=0, total=0, target=0.999))
    report = BudgetReport(target=0.999, total=0, bad=0, period_seconds=30 * DAY)
    assert math.isnan(report.budget_remaining)
    assert report.to_dict()["budget_remaining"] is None


# SLO vector 23: decimal arithmetic makes thresholds exact
def test_error_budget_of_three_nines_is_exactly_one_per_mille() -> None:
    assert error_budget(0.999) == 0.001
    assert error_budget(0.9995) == 0.0005
    assert 1 - 0.999 != 0.001  # the float artefact decimal arithmetic avoids


# SLO vector 24: objective 100 % leaves no budget and is rejected
@pytest.mark.parametrize("target", [1.0, 0.0, 1.5, -0.1])
def test_targets_outside_the_open_unit_interval_are_rejected(target: float) -> None:
    with pytest.raises(ValueError, match="target must lie in"):
        error_budget(target)


# SLO vector 25: a canary step's spend
def test_canary_step_spend_is_weight_times_duration_times_ratio_over_budget() -> None:
    spend = 0.1 * HOUR * 0.02 / (error_budget(0.999) * 720 * HOUR)
    assert spend == pytest.approx(0.00278, rel=1e-2)
