"""Traces read from CSV for `roost capacity replay`: both shapes, and bad input named."""

from __future__ import annotations

import re

import numpy as np
import pytest

from roost.replay.trace import TraceError, read


def test_time_rate_rows_hold_until_the_next_row() -> None:
    trace = read("time,rate\n0,10\n60,20\n# a comment\n\n120,5\n")
    assert trace.rate is not None
    assert trace.seconds == 180  # the last row lasts as long as the one before it
    assert list(trace.rate[[0, 59, 60, 119, 120, 179]]) == [10, 10, 20, 20, 5, 5]
    draws = trace.arrivals(np.random.default_rng(0))
    assert abs(len(draws) - 60 * (10 + 20 + 5)) < 4 * np.sqrt(60 * 35)  # Poisson
    assert list(draws) == sorted(draws)


def test_timestamps_are_replayed_as_they_are_from_zero() -> None:
    trace = read("1000.5\n1000.0\n1001.25\n1003.0\n")
    assert list(trace.arrivals(np.random.default_rng(0))) == [0.0, 0.5, 1.25, 3.0]
    assert list(trace.per_second()) == [2.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no data lines"),
        ("time,rate\n0,10\nten,20\n", "line 3: 'ten,20' is not numbers; write time,rate"),
        ("0,10\n60\n", "line 2: 1 columns where the lines before have 2"),
        ("0,10,3\n", "line 1: 3 columns; write time,rate or one timestamp"),
        ("0,10\n0,20\n", "line 2: time 0 is not after 0"),
        ("0,-1\n", "line 1: '0,-1': values must be finite and >= 0"),
        ("0,1\n700000,1\n", "the trace spans 1400000 s; at most 604800 s"),
    ],
)
def test_a_trace_that_cannot_be_read_says_which_line_and_what_to_write(
    text: str, message: str
) -> None:
    with pytest.raises(TraceError, match="^" + re.escape(message)):
        read(text)
