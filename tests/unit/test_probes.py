"""The harness's polling helper: the value once a condition holds, or a failure naming it."""

from __future__ import annotations

import itertools

import pytest

from harness.probes import eventually


def test_eventually_returns_the_first_value_that_satisfies_the_condition() -> None:
    counter = itertools.count()
    assert eventually(lambda: next(counter), lambda n: n >= 3, 5, "three reads", every_s=0) == 3


def test_eventually_fails_naming_what_it_waited_for_and_the_last_value() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"ready not reached within 0 s; last seen: 7"):
        eventually(lambda: 7, lambda n: n == 8, 0, "ready", every_s=0)
