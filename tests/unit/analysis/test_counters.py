"""Per-tick increments from cumulative counters (vector V10, docs/references.md)."""

import math

import pytest

from roost.analysis.counters import increments


# Vector V10: the drop to 40 is a counter reset
def test_counter_reset_counts_the_new_value_as_the_increment() -> None:
    assert increments([0, 120, 250, 40, 160]) == [120, 130, 40, 120]


def test_increments_are_never_negative() -> None:
    assert all(step >= 0 for step in increments([10, 5, -3, 7, 7, 2.5]))


def test_a_reset_to_a_negative_glitch_is_clamped_at_zero() -> None:
    assert increments([100, -1, 20]) == [0, 21]


def test_extrapolation_noise_is_clamped_when_resets_are_already_handled() -> None:
    # sum(increase(...)) is reset-safe but may wobble downwards by a fraction.
    assert increments([100.0, 99.5, 150.0], reset_on_decrease=False) == [0.0, 50.0]


def test_extrapolation_noise_is_not_mistaken_for_a_reset() -> None:
    # As a raw counter this would add the whole 99.5 again: evidence inflated.
    assert sum(increments([100.0, 99.5, 150.0], reset_on_decrease=False)) == 50.0


def test_a_missed_scrape_carries_its_counts_to_the_next_tick() -> None:
    assert increments([0, 120, math.nan, 250]) == [120, 0, 130]


def test_a_missing_baseline_gives_nothing_until_a_value_is_present() -> None:
    assert increments([math.nan, 100, 130]) == [0, 30]


def test_real_valued_counts_keep_their_fractions() -> None:
    assert increments([0.0, 10.25, 20.75]) == [10.25, 10.5]


def test_fewer_than_two_values_give_no_increments() -> None:
    assert increments([]) == []
    assert increments([5]) == []


def test_an_infinite_counter_value_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        increments([0, math.inf])
