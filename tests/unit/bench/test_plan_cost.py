"""B2b: the re-plan it times is the operator's, and the page says whether the goal is met."""

from __future__ import annotations

from pathlib import Path

from bench.autoscale import plan_cost

from roost.capacity.sizing import size


def test_the_timed_re_plan_is_the_plan_the_operator_writes() -> None:
    model = plan_cost.spec(1.0, 1.0)
    floor, target = plan_cost.replan(model, 1400.0)
    sizing = size(model, canary_weight=0, observed_rate=1400.0)
    assert floor == sizing.stable_replicas
    assert 130 <= floor <= 170  # the case is named for about 150 pods
    assert target.endswith("m")


def _data(median_ms: float) -> dict[str, object]:
    row = {
        "case": "~150 pods",
        "rate": 1400.0,
        "cv": 1.0,
        "burst_factor": 1.0,
        "replicas": 148,
        "target": "1003m",
        "median_ms": median_ms,
        "min_ms": median_ms,
        "max_ms": median_ms,
    }
    return {"meta": {"repeats": 7, "git_head": "abc1234"}, "rows": [row]}


def test_the_section_says_whether_the_goal_is_met() -> None:
    met = "\n".join(plan_cost.section(_data(0.4), Path()))
    assert "meets the goal of 1 ms at 150 pods" in met
    missed = "\n".join(plan_cost.section(_data(1.5), Path()))
    assert "misses the goal of 1 ms at 150 pods" in missed
