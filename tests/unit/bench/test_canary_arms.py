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
        for on_deadline in ("rollback", "pause"):
            case = cases.case(name, 10.0)
            simulation.load(arms.roost_document(case, 0, on_deadline=on_deadline))


def test_with_pause_a_canary_without_evidence_is_held_not_rolled_back() -> None:
    # At 1 req/s a canary at the promotion burn rate (0.5 % errors) often gathers neither
    # proof within 3 h: the rollback arm rolls it back at the deadline, the pause arm
    # holds it there. The first such seed of twenty is checked.
    case = cases.case("errors 0.5 %", 1.0)
    held = next(
        (
            h
            for h in (arms.run("roost-pause", case, seed) for seed in range(20))
            if h.outcome == "held"
        ),
        None,
    )
    assert held is not None
    seed = next(s for s in range(20) if arms.run("roost-pause", case, s) == held)
    rolled = arms.run("roost", case, seed)
    assert (rolled.outcome, rolled.reason) == ("rolled_back", "ProgressDeadlineExceeded")
    assert held.reason == "ProgressDeadlineExceeded"
    assert held.seconds == rolled.seconds  # the same tick, the other action


def test_pause_changes_nothing_before_the_deadline() -> None:
    # A bad canary at 100 req/s is rolled back in minutes by either arm, identically.
    case = cases.case("errors 2 %", 100.0)
    assert arms.run("roost-pause", case, 1) == arms.run("roost", case, 1)


@pytest.mark.parametrize(("arm", "setting"), [("roost", "rollback"), ("roost-pause", "pause")])
def test_each_roost_arm_sets_on_progress_deadline_itself(arm: str, setting: str) -> None:
    # The stored rows of "roost" were run when rollback was the API default; the arm
    # now writes it, so a rerun reproduces them whatever the default is.
    from roost import simulation

    assert arms.ON_PROGRESS_DEADLINE[arm] == setting
    document = arms.roost_document(cases.case("healthy", 10.0), 0, on_deadline=setting)
    rollout = document["modelDeployment"]["rollout"]
    assert rollout["onProgressDeadline"] == setting
    scenario = simulation.load(document)
    assert scenario.model_deployment.rollout.on_progress_deadline.value == setting


def test_the_harm_horizon_is_the_roost_arms_progress_deadline() -> None:
    from roost import durations

    assert durations.parse_seconds(arms.PROGRESS_DEADLINE) == cases.HARM_HORIZON_SECONDS


@pytest.mark.parametrize(
    ("name", "rps", "seed"),
    [
        ("healthy", 1.0, 0),  # held at the deadline / rolled back there
        ("healthy", 10.0, 1),  # promoted before it
        ("errors 0.5 %", 1.0, 2),
        ("errors 2 %", 100.0, 1),  # rolled back in minutes
        ("healthy, intermittent no-data", 10.0, 3),
    ],
)
def test_one_shared_simulation_gives_both_roost_arms_exactly(
    name: str, rps: float, seed: int
) -> None:
    case = cases.case(name, rps)
    pair = arms.run_roost_pair(case, seed)
    assert pair == {
        "roost": arms.run("roost", case, seed),
        "roost-pause": arms.run("roost-pause", case, seed),
    }
