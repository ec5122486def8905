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


def test_the_shadow_arm_is_the_default_spec_with_one_mirror_step_first() -> None:
    from roost import simulation

    case = cases.case("errors 2 %", 100.0)
    default = arms.roost_document(case, 4, on_deadline="pause")
    shadow = arms.roost_document(case, 4, on_deadline="pause", shadow=True)
    spec, base = shadow["modelDeployment"], default["modelDeployment"]
    first, *weighted = spec["rollout"]["steps"]
    assert first == {"mirror": 100, "pause": base["rollout"]["steps"][0]["pause"]}
    assert weighted == base["rollout"]["steps"]
    assert spec["traffic"] == {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "bench"}}
    assert "traffic" not in base
    # Nothing else differs: the steps and the provider are the whole change.
    assert {k: v for k, v in spec.items() if k not in ("traffic", "rollout")} == {
        k: v for k, v in base.items() if k != "rollout"
    }
    assert {k: v for k, v in spec["rollout"].items() if k != "steps"} == {
        k: v for k, v in base["rollout"].items() if k != "steps"
    }
    assert {k: v for k, v in shadow.items() if k != "modelDeployment"} == {
        k: v for k, v in default.items() if k != "modelDeployment"
    }
    scenario = simulation.load(shadow)
    rollout = scenario.model_deployment.rollout
    assert rollout.steps[0].mirror == 100
    assert rollout.on_progress_deadline.value == "pause"
    assert scenario.model_deployment.traffic.provider.value == "gatewayAPI"


def test_the_shadow_arm_builds_a_valid_scenario_for_every_case() -> None:
    from roost import simulation

    for name in cases.SCENARIOS:
        document = arms.roost_document(cases.case(name, 10.0), 0, on_deadline="pause", shadow=True)
        simulation.load(document)


@pytest.mark.parametrize(
    ("name", "rps", "seed"), [("errors 10 %", 100.0, 0), ("latency p99 200→400 ms", 10.0, 1)]
)
def test_a_bad_canary_caught_in_the_shadow_step_harms_no_one(
    name: str, rps: float, seed: int
) -> None:
    case = cases.case(name, rps)
    shadow = arms.run(arms.SHADOW_ARM, case, seed)
    assert shadow.outcome == "rolled_back"
    assert shadow.canary_requests == 0  # every request it answered was a mirrored copy
    assert shadow.harmed == 0.0
    # The default arm, same case and seed, rolls it back after serving users.
    default = arms.run("roost-pause", case, seed)
    assert default.outcome == "rolled_back"
    assert default.harmed > 0.0


def test_a_healthy_canary_passes_the_shadow_step_and_is_promoted() -> None:
    shadow = arms.run(arms.SHADOW_ARM, cases.case("healthy", 100.0), 0)
    assert shadow.outcome == "promoted"
    assert shadow.canary_requests > 0  # the weighted steps after the shadow step


def test_the_shadow_arm_is_replayed_by_its_seed() -> None:
    case = cases.case("errors 0.5 %", 10.0)
    assert arms.run(arms.SHADOW_ARM, case, 2) == arms.run(arms.SHADOW_ARM, case, 2)


def test_replay_runs_only_the_arms_asked_for_and_merges_their_rows() -> None:
    from bench.canary import replay

    only = replay.tasks(4, 2, (arms.SHADOW_ARM,))
    assert {t[0] for t in only} == {arms.SHADOW_ARM}
    assert {t[0] for t in replay.tasks(4, 2, ("roost-pause",))} == {replay.ROOST_PAIR}
    everything = replay.tasks(4, 2)
    assert {t[0] for t in everything} == {replay.ROOST_PAIR, arms.SHADOW_ARM, "flagger", "argo"}
    # The other arms' tasks are those a run without the shadow arm would make.
    others = [t for t in everything if t[0] != arms.SHADOW_ARM]
    assert sorted(others) == sorted(replay.tasks(4, 2, ("roost", "flagger", "argo")))

    stored = {
        "meta": {"git_head": "a", "runs": {"flagger": 1}},
        "rows": [{"arm": "flagger", "x": 1}, {"arm": arms.SHADOW_ARM, "x": 2}],
    }
    new = [{"arm": arms.SHADOW_ARM, "x": 3}]
    meta = {
        "git_head": "b",
        "runs": {arms.SHADOW_ARM: 1},
        "cpu_seconds_per_run": {arms.SHADOW_ARM: 0.1},
    }
    merged = replay.merge(stored, new, meta)
    assert merged["rows"] == [{"arm": "flagger", "x": 1}, {"arm": arms.SHADOW_ARM, "x": 3}]
    assert merged["meta"]["git_head"] == "a"
    assert merged["meta"]["merged"][arms.SHADOW_ARM]["git_head"] == "b"
