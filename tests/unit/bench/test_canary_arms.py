"""The three arms run on one case and report the fields the report needs (no numbers asserted)."""

from __future__ import annotations

import pytest
from bench.canary import arms, cases


@pytest.mark.parametrize("arm", ["flagger", "argo"])
def test_the_same_seed_replays_the_same_rollout(arm: str) -> None:
    case = cases.case("errors 2 %", 100.0)
    assert arms.run(arm, case, 3) == arms.run(arm, case, 3)


def test_the_roost_arm_builds_a_valid_scenario_for_every_case() -> None:
    from roost import simulation

    for name in cases.SCENARIOS:
        simulation.load(arms.roost_document(cases.case(name, 10.0), 0))
