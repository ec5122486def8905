"""The always-valid burn-rate interval shown in status (Howard et al. 2021)."""

import math

import pytest

from roost.analysis import onesample
from roost.analysis.intervals import burn_rate_interval

EPS = 0.001


def test_no_data_gives_the_whole_range() -> None:
    interval = burn_rate_interval(0, 0, allowed_bad_ratio=EPS)
    assert (interval.lower, interval.upper) == (0.0, 1 / EPS)


@pytest.mark.parametrize(("n", "x"), [(200, 6), (3_000, 20), (20_000, 40), (1_000_000, 1_000)])
def test_interval_contains_the_observed_burn_rate(n: int, x: int) -> None:
    interval = burn_rate_interval(n, x, allowed_bad_ratio=EPS)
    assert interval.lower < x / n / EPS < interval.upper


@pytest.mark.parametrize(("n", "x"), [(200, 6), (3_000, 20), (20_000, 40)])
def test_interval_ends_are_where_the_two_sided_mixture_reaches_one_over_alpha(
    n: int, x: int
) -> None:
    interval = burn_rate_interval(n, x, allowed_bad_ratio=EPS, alpha=0.01)
    for end in (interval.lower, interval.upper):
        ln_m = onesample.ln_e_two_sided(n, x, end * EPS)
        assert ln_m == pytest.approx(math.log(100), abs=1e-6)


def test_interval_narrows_as_requests_accumulate_at_the_same_ratio() -> None:
    widths = [
        burn_rate_interval(n, n * 0.002, allowed_bad_ratio=EPS).upper
        - burn_rate_interval(n, n * 0.002, allowed_bad_ratio=EPS).lower
        for n in (1_000, 10_000, 100_000, 1_000_000)
    ]
    assert widths == sorted(widths, reverse=True)


def test_clean_traffic_bounds_the_burn_rate_from_above_only() -> None:
    interval = burn_rate_interval(10_000, 0, allowed_bad_ratio=EPS)
    assert interval.lower == 0.0
    assert interval.upper < 1.0


def test_a_few_bad_requests_cannot_exclude_a_tiny_rate() -> None:
    # With a0 = 0.5 the evidence of x bad requests against a vanishing rate tends to
    # Gamma(a0 + x) / (Gamma(a0) * a0^x): 15 for x = 3, below 1/alpha = 100.
    assert burn_rate_interval(100, 3, allowed_bad_ratio=EPS).lower == 0.0


def test_interval_keeps_its_inputs() -> None:
    interval = burn_rate_interval(200, 6, allowed_bad_ratio=EPS, alpha=0.05)
    assert (interval.n, interval.x, interval.allowed_bad_ratio, interval.alpha) == (
        200,
        6,
        EPS,
        0.05,
    )


def test_impossible_allowance_is_refused() -> None:
    with pytest.raises(ValueError, match="allowed_bad_ratio"):
        burn_rate_interval(10, 1, allowed_bad_ratio=0.0)
