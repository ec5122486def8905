"""Aligned analysis windows: a span is read one interval at a time."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from roost.rollout import schedule

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_span_on_the_grid_is_cut_at_every_boundary() -> None:
    assert schedule.split(_s(0), _s(30), 10) == [
        (_s(0), _s(10)),
        (_s(10), _s(20)),
        (_s(20), _s(30)),
    ]


def test_a_start_off_the_grid_gives_a_short_first_window_then_shared_ones() -> None:
    assert schedule.split(_s(5), _s(30), 10) == [
        (_s(5), _s(10)),
        (_s(10), _s(20)),
        (_s(20), _s(30)),
    ]


def test_a_long_span_reads_its_older_part_as_one_window() -> None:
    windows = schedule.split(_s(0), _s(70), 10, max_windows=4)
    assert windows == [(_s(0), _s(40)), (_s(40), _s(50)), (_s(50), _s(60)), (_s(60), _s(70))]
    assert schedule.split(_s(0), _s(70), 10, max_windows=1) == [(_s(0), _s(70))]


def test_an_empty_span_has_no_window() -> None:
    assert schedule.split(_s(10), _s(10), 10) == []


@given(
    start=st.floats(0, 1000),
    length=st.floats(0.001, 1000),
    interval=st.sampled_from([1.0, 7.5, 10.0, 30.0, 60.0]),
    most=st.integers(1, 6),
)
def test_windows_cover_the_span_exactly_once_in_order(
    start: float, length: float, interval: float, most: int
) -> None:
    windows = schedule.split(_s(start), _s(start + length), interval, max_windows=most)
    assert 1 <= len(windows) <= most
    assert windows[0][0] == _s(start)
    assert windows[-1][1] == _s(start + length)
    for (_, end), (begin, _) in itertools.pairwise(windows):
        assert end == begin
    assert all(a < b for a, b in windows)
    # every inner edge is a boundary of the grid
    for _, end in windows[:-1]:
        assert (end.timestamp() / interval) == round(end.timestamp() / interval)
