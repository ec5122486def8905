"""The frontier: requests a test of "burn >= k" needs, and their time along B1's steps."""

from __future__ import annotations

import math

import pytest
from bench.canary import frontier

from roost.analysis import onesample


def test_without_errors_the_known_rate_test_needs_threshold_over_the_clean_step() -> None:
    p0, p1, threshold = 0.005, 0.0004, math.log(100)
    expected = math.ceil(threshold / math.log((1 - p1) / (1 - p0)))
    assert frontier._sprt_requests([10**6], p0, p1, threshold) == expected


def test_each_error_costs_the_known_rate_test_its_log_ratio_in_clean_requests() -> None:
    p0, p1, threshold = 0.005, 0.0004, math.log(100)
    clean, bad = math.log((1 - p1) / (1 - p0)), math.log(p1 / p0)
    first = frontier._sprt_requests([10**6], p0, p1, threshold)
    after_one = frontier._sprt_requests([10, 10**6], p0, p1, threshold)
    assert after_one == pytest.approx(first + 1 + math.ceil(-bad / clean), abs=1)


def test_the_mixture_without_errors_needs_what_requests_to_pass_says() -> None:
    needed = onesample.requests_to_pass(0, 0, 0.005, math.log(100), bad_ratio=0.0)
    assert frontier._mixture_requests([10**6], 0.005, math.log(100)) == needed


def test_the_frontier_orders_wald_known_rate_and_the_mixture() -> None:
    f = frontier.frontier(5.0, runs=200)
    assert f.wald_bound == pytest.approx(math.log(100) / frontier._kl(0.0004, 0.005))
    assert f.known_rate_median < f.roost_median < 1.5 * f.known_rate_median


def test_time_along_the_steps_waits_for_every_pause() -> None:
    assert frontier.seconds_to_collect(10.0, 1000.0) == 360.0  # 3 pauses of 2 m
    # 1 req/s: 12 + 30 requests in the first two pauses, then 0.5 req/s at 50 %.
    assert frontier.seconds_to_collect(1042.0, 1.0) == pytest.approx(240 + 1000 / 0.5)
