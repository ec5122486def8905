"""The one-sample e-values' cached prior tail is the computed one, per (p, a, b, side)."""

from __future__ import annotations

import math

import pytest
from scipy import special

from roost.analysis import onesample


def _by_hand(z: float, a: float, b: float, *, upper: bool) -> float:
    """ln I_z / ln Q_z as before the shortcut: both tails computed, the complement used near 1."""
    lower, upper_tail = float(special.betainc(a, b, z)), float(special.betaincc(a, b, z))
    value, complement = (upper_tail, lower) if upper else (lower, upper_tail)
    return math.log1p(-complement) if value > 0.5 else math.log(value)


@pytest.mark.parametrize("p", [0.002, 0.01, 0.05, 0.3])
@pytest.mark.parametrize("upper", [True, False])
def test_the_prior_tail_is_the_computed_one_for_each_threshold(p: float, upper: bool) -> None:
    a, b = onesample._prior(p, onesample.DEFAULT_PRIOR_BAD)
    expected = _by_hand(p, a, b, upper=upper)
    assert onesample.ln_regularized_beta(p, a, b, upper=upper) == expected
    assert onesample._prior_tail(p, a, b, upper) == expected
    assert onesample._prior_tail(p, a, b, upper) == expected  # from the cache


def test_a_changed_threshold_gets_its_own_prior_tail() -> None:
    a0 = onesample.DEFAULT_PRIOR_BAD
    tails = {p: onesample._prior_tail(p, *onesample._prior(p, a0), True) for p in (0.002, 0.004)}
    assert tails[0.002] != tails[0.004]
    for p, tail in tails.items():
        assert tail == _by_hand(p, *onesample._prior(p, a0), upper=True)


def test_the_e_values_use_the_same_tails_as_before() -> None:
    for n, x, p in [(1000.0, 0.0, 0.002), (50000.0, 300.0, 0.002), (200.0, 30.0, 0.05)]:
        a, b = onesample._prior(p, onesample.DEFAULT_PRIOR_BAD)
        mixture = onesample._ln_mixture_likelihood_ratio(n, x, p, a, b)
        for upper, e_value in ((True, onesample.ln_e_fail), (False, onesample.ln_e_pass)):
            posterior = _by_hand(p, a + x, b + n - x, upper=upper)
            assert e_value(n, x, p) == mixture + posterior - _by_hand(p, a, b, upper=upper)
