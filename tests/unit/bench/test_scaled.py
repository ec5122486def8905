"""B2c: the scaled traces and the time-at-maxReplicas measure, and the verdicts it prints."""

from __future__ import annotations

import numpy as np
from bench.autoscale import scaled


def test_a_surge_rises_in_its_rise_time_and_holds() -> None:
    for rise in scaled.RISES:
        rate = scaled.surge(rise)(np.random.default_rng(1))
        held = int(np.argmax(rate == 50.0))  # the first second at the surge's height
        rising = rate[held - rise : held]
        assert (rising < 50.0).all()
        assert (np.diff(rising) > 0).all()
        assert rate[held - rise - 1] == 10.0
        assert (rate[held : held + scaled.SURGE_HOLD_SECONDS] == 50.0).all()
        assert rate[-1] == 10.0


def test_time_at_max_replicas_counts_only_the_time_held_there() -> None:
    trajectory = [(0.0, 5), (100.0, 60), (400.0, 30)]
    assert scaled.at_max(trajectory, 60, 1000.0) == 0.3
    assert scaled.at_max([(0.0, 1)], 60, 1000.0) == 0.0


def _point(name: str, hours: float, attainment: float, at_max: float = 0.0) -> dict[str, object]:
    return {"name": name, "replica_hours": hours, "attainment": attainment, "at_max": at_max}


def test_the_verdicts_say_plainly_where_roost_misses() -> None:
    pts = {
        "roost": _point("Roost", 20.0, 0.95, 0.1),
        "cpu:50": _point("CPU 50 %", 15.0, 0.995),
        "static": _point("static", 18.0, 0.9999),
    }
    said = scaled.verdicts(pts)  # type: ignore[arg-type]
    assert said[0] == "95.00 % attainment: **missed** (goal ≥ 99 %)"
    assert said[1].startswith("-33 % replica-hours against CPU 50 % (15.00 h): **missed**")
    assert said[2] == "-11 % against static peak: **missed** (goal ≥ 15 % fewer)"
    assert said[3] == "at maxReplicas 10.0 % of the run: **missed**"
