"""The Flagger re-implementation follows Flagger's scheduler (advanceCanary) on hand-made ticks."""

from __future__ import annotations

from bench.canary import flagger

S = flagger.FlaggerSettings()
GOOD = flagger.Check(success_rate_percent=100.0, p99_seconds=0.1)
BAD = flagger.Check(success_rate_percent=90.0, p99_seconds=0.1)
EMPTY = flagger.Check(success_rate_percent=None)


def _run(checks: list[flagger.Check]) -> list[flagger.Action]:
    state = flagger.FlaggerState(weight=S.step_weight)
    actions = []
    for check in checks:
        state, action = flagger.tick(state, check, S)
        actions.append(action)
    return actions


def test_passing_checks_advance_by_step_weight_and_promote_at_max_weight() -> None:
    action = flagger.Action
    assert _run([GOOD] * 5) == [action.ADVANCE] * 4 + [action.PROMOTE]


def test_rollback_comes_on_the_tick_after_threshold_failed_checks() -> None:
    actions = _run([BAD] * 6)
    assert actions[:5] == [flagger.Action.HOLD] * 5
    assert actions[5] is flagger.Action.ROLLBACK


def test_failed_checks_are_cumulative_and_never_reset_by_a_pass() -> None:
    ticks = [BAD, GOOD, BAD, GOOD, BAD, GOOD, BAD, BAD, GOOD]
    actions = _run(ticks)
    assert actions[-1] is flagger.Action.ROLLBACK


def test_no_data_counts_as_a_failed_check() -> None:
    state, action = flagger.tick(flagger.FlaggerState(weight=10), EMPTY, S)
    assert action is flagger.Action.HOLD
    assert state.failed_checks == 1
    assert state.weight == 10


def test_success_rate_at_the_threshold_passes_and_below_fails() -> None:
    assert flagger.check_passes(flagger.Check(99.0, 0.1), S)
    assert not flagger.check_passes(flagger.Check(98.99, 0.1), S)


def test_p99_over_the_latency_threshold_fails() -> None:
    assert not flagger.check_passes(flagger.Check(100.0, 0.3), S)
