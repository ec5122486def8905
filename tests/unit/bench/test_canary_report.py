"""B1 harm within the common 3 h horizon, and the harm goals judged on it (rows built here)."""

from __future__ import annotations

from typing import Any

import pytest
from bench.canary import cases, report

H = cases.HARM_HORIZON_SECONDS


def row(
    arm: str, scenario: str, rps: float, outcome: str, seconds: float, harmed: float
) -> dict[str, Any]:
    reason = {"promoted": "Promoted", "rolled_back": "FailedChecks", "held": "Held"}[outcome]
    return {
        "arm": arm,
        "scenario": scenario,
        "rps": rps,
        "seed": 0,
        "outcome": outcome,
        "reason": reason,
        "seconds": seconds,
        "harmed": harmed,
        "canary_requests": 0,
    }


def test_the_horizon_is_three_hours() -> None:
    assert H == 3 * 3600.0
    assert report.HORIZON == "3 h"


def test_a_promoted_bad_canary_harms_all_traffic_until_the_horizon() -> None:
    promoted = row("flagger", "errors 2 %", 10.0, "promoted", 2400.0, 48.0)
    # 48 to the promotion, then 10 req/s × 8,400 s × 2 % on the new version.
    assert report.horizon_harm(promoted) == pytest.approx(48.0 + 10.0 * 8400.0 * 0.02)


def test_a_promoted_latency_regression_counts_slow_requests_after_promotion() -> None:
    promoted = row("flagger", "latency p99 200→400 ms", 1.0, "promoted", 480.0, 6.5)
    slow = cases.case("latency p99 200→400 ms", 1.0).slow_probability
    assert 0.0 < slow < 1.0
    assert report.horizon_harm(promoted) == pytest.approx(6.5 + 1.0 * (H - 480.0) * slow)


def test_a_rolled_back_or_held_canary_harms_nothing_after_its_decision() -> None:
    rolled = row("roost", "errors 0.5 %", 1.0, "rolled_back", 10830.0, 5.0)
    held = row("roost-pause", "errors 0.5 %", 1.0, "held", 10830.0, 5.0)
    early = row("argo", "errors 10 %", 100.0, "rolled_back", 600.0, 30.2)
    assert report.horizon_harm(rolled) == 5.0
    assert report.horizon_harm(held) == 5.0
    assert report.horizon_harm(early) == 30.2


def test_a_promotion_after_the_horizon_adds_nothing() -> None:
    late = row("roost", "errors 2 %", 10.0, "promoted", H + 30.0, 7.0)
    assert report.horizon_harm(late) == 7.0


def test_horizon_harm_is_not_defined_for_healthy_canaries() -> None:
    # A healthy canary's harm probability is the stable error rate: the stable
    # version would have served those errors too, so nothing is added after promotion.
    assert report.horizon_harm(row("flagger", "healthy", 100.0, "promoted", 480.0, 3.6)) is None
    gaps = row("argo", "healthy, intermittent no-data", 10.0, "promoted", 2400.0, 4.8)
    assert report.horizon_harm(gaps) is None


def _early_promoters() -> list[dict[str, Any]]:
    # Roost holds a bad canary at the deadline; both peers promote it early with less
    # harm to the decision, and far more within the horizon.
    return [
        row("roost-pause", "errors 0.5 %", 1.0, "held", 10830.0, 5.0),
        row("roost", "errors 0.5 %", 1.0, "rolled_back", 10830.0, 5.0),
        row("flagger", "errors 0.5 %", 1.0, "promoted", 480.0, 0.5),
        row("argo", "errors 0.5 %", 1.0, "promoted", 2400.0, 6.0),
    ]


def test_the_harm_goals_are_judged_within_the_horizon() -> None:
    rows = _early_promoters()
    for arm in ("roost-pause", "roost"):
        counts = report.harm_comparisons(rows, arm)
        assert counts["decision"] == (0, 2, {1.0: 2})
        assert counts["horizon"] == (2, 2, {})
    harm_rows = [line for line in report.goals(rows).splitlines() if "harmed ≤" in line]
    assert len(harm_rows) == 2  # the default arm's
    assert all(line.endswith("| yes |") and "pause (default)" in line for line in harm_rows)
    assert all("to the decision" in line and "missed" in line for line in harm_rows)


def test_the_summary_leads_with_the_default_and_gives_both_harm_counts() -> None:
    lines = report.summary(_early_promoters()).splitlines()[:2]
    assert lines[0].startswith("- **`onProgressDeadline: pause (default)`:**")
    assert lines[1].startswith("- **`onProgressDeadline: rollback`:**")
    for line in lines:
        assert "counted to the decision: met in 0 of 2 (missed 2 at 1 req/s)" in line
        assert "within 3 h: met in 2 of 2." in line


def test_the_tables_show_both_measures_for_bad_scenarios_only() -> None:
    rows = [*_early_promoters(), row("flagger", "healthy", 1.0, "promoted", 480.0, 0.0)]
    text = report.tables(rows)
    healthy = text.split("#### healthy\n")[1].split("####")[0]
    bad = text.split("#### errors 0.5 %\n")[1].split("####")[0]
    assert "within 3 h" not in healthy
    assert "harmed within 3 h" in bad
    flagger = next(line for line in bad.splitlines() if "Flagger" in line)
    assert flagger.endswith(f"| 0.5 ± nan | {0.5 + (H - 480.0) * 0.005:.1f} ± nan |")


def _promotion_rows(promoted_at_1: int, median_at_10: float) -> list[dict[str, Any]]:
    rows = []
    for i in range(100):
        outcome = "promoted" if i < promoted_at_1 else "held"
        rows.append(row("roost-pause", "healthy", 1.0, outcome, 4000.0, 0.0))
        rows.append(row("roost-pause", "healthy", 10.0, "promoted", median_at_10 * 60, 0.0))
    for rps in (100.0, 1000.0):
        rows.append(row("roost-pause", "healthy", rps, "promoted", 510.0, 0.0))
        rows.append(row("flagger", "healthy", rps, "promoted", 480.0, 0.0))
    rows.append(row("roost-pause", "errors 0.5 %", 1.0, "promoted", 4000.0, 1.0))
    rows += [row("roost-pause", "errors 0.5 %", 10.0, "rolled_back", 600.0, 1.0)] * 99
    return rows


def test_promotion_goals_judge_low_traffic_speed_and_bad_canaries() -> None:
    text = report.promotion_goals(_promotion_rows(96, 12.0), interval_minutes=0.5)
    assert "| ≥ 95% promoted within 3 h | healthy | 1 | 96/100 promoted" in text
    assert "median 12.0 min | yes |" in text
    assert "| median within 0.5 min of Flagger's | healthy | 100 | 8.5 vs 8.0 min" in text
    assert "| ≤ 1 % promoted | errors 0.5 % | 1 | 1/1 (100.0 %" in text
    assert "| false promotions at k_P ≤ α = 1 % | errors 0.5 % (at k_P = 5) | all | 1/100" in text
    assert text.count("**no**") == 2  # the lone bad canary at 1 req/s, and the harm line


def test_promotion_goals_report_misses() -> None:
    text = report.promotion_goals(_promotion_rows(94, 16.0), interval_minutes=0.5)
    assert "96/100" not in text
    assert "| ≥ 95% promoted within 3 h | healthy | 1 | 94/100 promoted" in text
    assert "median 16.0 min | **no** |" in text


def _shadow_rows() -> list[dict[str, Any]]:
    rows = []
    for seed in range(3):
        shadow = row(report.SHADOW_ARM, "errors 2 %", 10.0, "rolled_back", 60.0 + seed, 0.0)
        default = row("roost-pause", "errors 2 %", 10.0, "rolled_back", 240.0 + seed, 5.0)
        default["canary_requests"] = 250
        rows += [shadow, default]
        rows.append(row(report.SHADOW_ARM, "healthy", 10.0, "promoted", 480.0 + seed, 0.1))
        rows.append(row("roost-pause", "healthy", 10.0, "promoted", 600.0 + seed, 0.2))
    return rows


def test_the_shadow_table_sets_the_shadow_arm_beside_the_default() -> None:
    table = report.shadow_table(_shadow_rows()).splitlines()
    assert len(table) == 4  # header, rule, one bad and one healthy case
    bad = next(line for line in table if line.startswith("| errors 2 %"))
    cells = [c.strip() for c in bad.strip("|").split("|")]
    assert cells[2] == "3 / 3"
    assert cells[3] == "rollback"
    assert cells[8].startswith("-3.0 ± ")  # one minute against four
    assert cells[9].startswith("0.0 ± ")
    assert cells[10].startswith("5.0 ± ")
    assert cells[12].startswith("100.0 % (")  # rolled back before any user was served
    healthy = next(line for line in table if line.startswith("| healthy"))
    assert "promotion" in healthy


def test_the_shadow_summary_counts_bad_canaries_no_user_was_served() -> None:
    text = report.shadow_summary(_shadow_rows())
    assert text.startswith("Bad canaries: 3/3 (100.0 %, 95 % CI ")
    assert "in 1 of 1 (scenario, traffic level) cases every run was." in text
    assert "Bad canaries promoted: 0 (shadow) vs 0 (default)" in text
    assert "8.0 vs 10.0 at 10 req/s" in text
    assert report.shadow_summary([r for r in _shadow_rows() if r["arm"] != report.SHADOW_ARM]) == ""
