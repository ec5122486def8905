"""Gate 1: one-sample beta-binomial mixture e-values (Howard et al. 2021).

Vectors V1 and V2 and the low-count table were computed independently of this code
(docs/references.md, "Test vectors").
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.analysis import onesample

FAIL_THRESHOLD = math.log(400)  # alpha_i = 0.01 / 4 fail tests
PASS_THRESHOLD = math.log(100)  # beta = 0.01

# Vector V1: availability, eps = 0.001, k_F = k_P = 2 (p = 0.002), a0 = 0.5
V1 = [
    # n, x, ln E_F, ln E_P
    (0, 0, 0.0000, 0.0000),
    (1_000, 0, -1.3338, 1.5529),
    (2_730, 0, -2.1294, 4.6069),
    (3_000, 0, -2.2110, 5.1043),
    (5, 4, 5.7600, -2.4458),
    (5, 5, 7.9577, -2.6615),
    (200, 4, 3.5681, -2.3681),
    (200, 6, 7.0160, -2.7835),
    (3_000, 20, 8.7194, -3.7056),
    (5_000, 3, -2.3828, 2.4349),
    (10_000, 38, 5.1037, -3.9811),
    (20_000, 40, -1.9380, -2.6185),
]

# Vector V2: latency, eps_lat = 0.01, k = 2 (p = 0.02), a0 = 0.5
V2 = [
    # n, slow, ln E_F, ln E_P
    (100, 0, -1.3510, 1.5669),
    (300, 0, -2.2315, 5.1529),
    (1_000, 5, -3.0829, 6.9194),
    (500, 25, 6.8782, -3.7876),
    (60, 8, 6.7804, -2.9868),
]


@pytest.mark.parametrize(("n", "x", "ln_e_fail", "ln_e_pass"), V1)
def test_availability_e_values_match_reference_vectors(
    n: int, x: int, ln_e_fail: float, ln_e_pass: float
) -> None:
    assert onesample.ln_e_fail(n, x, 0.002) == pytest.approx(ln_e_fail, abs=1e-4)
    assert onesample.ln_e_pass(n, x, 0.002) == pytest.approx(ln_e_pass, abs=1e-4)


@pytest.mark.parametrize(("n", "slow", "ln_e_fail", "ln_e_pass"), V2)
def test_latency_e_values_on_slow_counts_match_reference_vectors(
    n: int, slow: int, ln_e_fail: float, ln_e_pass: float
) -> None:
    assert onesample.ln_e_fail(n, slow, 0.02) == pytest.approx(ln_e_fail, abs=1e-4)
    assert onesample.ln_e_pass(n, slow, 0.02) == pytest.approx(ln_e_pass, abs=1e-4)


# Vector V1, intermediate values
def test_prior_tail_masses_match_reference() -> None:
    a, b = 0.5, 249.5
    assert math.exp(onesample.ln_regularized_beta(0.002, a, b, upper=False)) == pytest.approx(
        0.682205, abs=1e-6
    )
    assert math.exp(onesample.ln_regularized_beta(0.002, a, b, upper=True)) == pytest.approx(
        0.317795, abs=1e-6
    )


# Vector V1, intermediate values for (n = 200, x = 6)
def test_fail_e_value_decomposes_into_the_reference_terms() -> None:
    ln_q_posterior = onesample.ln_regularized_beta(0.002, 6.5, 443.5, upper=True)
    ln_q_prior = onesample.ln_regularized_beta(0.002, 0.5, 249.5, upper=True)
    assert ln_q_posterior == pytest.approx(-0.000119, abs=1e-6)
    assert ln_q_prior == pytest.approx(-1.146348, abs=1e-6)
    ln_beta_ratio = -33.993098 - (-2.186864)
    ln_null_likelihood = -37.676037
    expected = ln_beta_ratio + ln_q_posterior - ln_q_prior - ln_null_likelihood
    assert expected == pytest.approx(7.016032, abs=1e-5)
    assert onesample.ln_e_fail(200, 6, 0.002) == pytest.approx(expected, abs=1e-5)


# Vector V1: two-sided identity at (1,000, 0), E_two = 3.3071
def test_one_sided_e_values_recombine_into_the_two_sided_mixture() -> None:
    q_prior = math.exp(onesample.ln_regularized_beta(0.002, 0.5, 249.5, upper=True))
    e_two = math.exp(onesample.ln_e_fail(1_000, 0, 0.002)) * q_prior + math.exp(
        onesample.ln_e_pass(1_000, 0, 0.002)
    ) * (1 - q_prior)
    assert e_two == pytest.approx(3.3071, abs=1e-4)
    assert onesample.ln_e_two_sided(1_000, 0, 0.002) == pytest.approx(math.log(e_two), abs=1e-12)


@given(
    n=st.floats(min_value=0, max_value=1e6),
    bad_fraction=st.floats(min_value=0, max_value=1),
    p=st.floats(min_value=1e-4, max_value=0.5),
)
def test_check_identity_holds_for_any_counts(n: float, bad_fraction: float, p: float) -> None:
    # E_F*Q_p(a, b) + E_P*I_p(a, b) = the untruncated mixture, when p_F = p_P = p.
    x = n * bad_fraction
    a, b = 0.5, 0.5 * (1 - p) / p
    ln_q = onesample.ln_regularized_beta(p, a, b, upper=True)
    ln_i = onesample.ln_regularized_beta(p, a, b, upper=False)
    recombined = np.logaddexp(
        onesample.ln_e_fail(n, x, p) + ln_q, onesample.ln_e_pass(n, x, p) + ln_i
    )
    assert recombined == pytest.approx(onesample.ln_e_two_sided(n, x, p), abs=1e-7, rel=1e-9)


def test_first_clean_request_count_that_passes_is_2730() -> None:
    # Low counts: at p = 0.002, 2,730 clean requests pass, 2,729 do not.
    assert onesample.ln_e_pass(2_729, 0, 0.002) < PASS_THRESHOLD
    assert onesample.ln_e_pass(2_730, 0, 0.002) >= PASS_THRESHOLD


@pytest.mark.parametrize("n", [5, 10, 100, 1_000, 10_000, 1_000_000])
def test_four_bad_requests_never_fail_the_gate(n: int) -> None:
    # Fewer than 5 bad requests can never fail, whatever n.
    assert onesample.ln_e_fail(n, 4, 0.002) < FAIL_THRESHOLD


def test_five_bad_requests_out_of_five_fail_the_gate() -> None:
    assert onesample.ln_e_fail(5, 5, 0.002) >= FAIL_THRESHOLD


@pytest.mark.parametrize(
    ("n", "fewest_bad_to_fail"), [(10, 5), (100, 5), (1_000, 10), (10_000, 40)]
)
def test_bad_requests_needed_to_fail_match_low_count_table(n: int, fewest_bad_to_fail: int) -> None:
    # The low-count table, row eps = 0.1 %, k = 2 (p = 0.002)
    assert onesample.ln_e_fail(n, fewest_bad_to_fail - 1, 0.002) < FAIL_THRESHOLD
    assert onesample.ln_e_fail(n, fewest_bad_to_fail, 0.002) >= FAIL_THRESHOLD


def test_no_data_is_exactly_no_evidence() -> None:
    assert onesample.ln_e_fail(0, 0, 0.002) == 0.0
    assert onesample.ln_e_pass(0, 0, 0.002) == 0.0
    assert onesample.ln_e_two_sided(0, 0, 0.002) == 0.0


def test_real_valued_counts_interpolate_between_integer_counts() -> None:
    # increase() extrapolation gives non-integers; the e-value is continuous in them.
    low, high = onesample.ln_e_fail(200, 6, 0.002), onesample.ln_e_fail(200, 7, 0.002)
    middle = onesample.ln_e_fail(200.0, 6.5, 0.002)
    assert low < middle < high


# Far tails that scipy's betainc underflows to 0; reference values computed for this
# test with mpmath 1.3 at 30 digits (hypergeometric form of the incomplete beta).
@pytest.mark.parametrize(
    ("n", "x", "side", "reference"),
    [
        (400_000, 0, "fail", -6.95944967291262),
        (1_000_000, 0, "fail", -7.87499320912242),
        (1_000_000, 100, "fail", -7.82375373656347),
        (100_000, 4_000, "pass", -9.28028506347039),
        (1_000_000, 40_000, "pass", -11.5828576858797),
    ],
)
def test_long_runs_keep_finite_accurate_evidence_where_the_tail_underflows(
    n: int, x: int, side: str, reference: float
) -> None:
    ln_e = onesample.ln_e_fail if side == "fail" else onesample.ln_e_pass
    assert ln_e(n, x, 0.002) == pytest.approx(reference, abs=1e-8)


def test_healthy_canary_evidence_against_it_keeps_shrinking_smoothly() -> None:
    ln_e_values = [onesample.ln_e_fail(n, 0, 0.002) for n in (1e5, 3e5, 1e6, 1e7, 1e8)]
    assert all(math.isfinite(v) for v in ln_e_values)
    assert ln_e_values == sorted(ln_e_values, reverse=True)


@given(
    n=st.floats(min_value=1, max_value=1e5),
    bad_fraction=st.floats(min_value=0, max_value=0.99),
)
def test_more_bad_requests_mean_more_evidence_to_fail_and_less_to_pass(
    n: float, bad_fraction: float
) -> None:
    x = n * bad_fraction
    more = min(n, x + 1)
    assert onesample.ln_e_fail(n, more, 0.002) >= onesample.ln_e_fail(n, x, 0.002) - 1e-9
    assert onesample.ln_e_pass(n, more, 0.002) <= onesample.ln_e_pass(n, x, 0.002) + 1e-9


@pytest.mark.parametrize(
    ("n", "x", "p", "a0"),
    [
        (-1, 0, 0.002, 0.5),
        (10, 11, 0.002, 0.5),
        (10, -1, 0.002, 0.5),
        (math.nan, 0, 0.002, 0.5),
        (math.inf, 0, 0.002, 0.5),
        (10, 1, 0.0, 0.5),
        (10, 1, 1.0, 0.5),
        (10, 1, 0.002, 0.0),
    ],
)
def test_impossible_inputs_are_refused(n: float, x: float, p: float, a0: float) -> None:
    with pytest.raises(ValueError, match=r"."):
        onesample.ln_e_fail(n, x, p, a0=a0)


# requests_to_pass: a forecast of the requests the pass test still needs.


def test_requests_to_pass_matches_the_first_clean_n_that_passes() -> None:
    # V1 above: at p = 0.002 the first clean n with E_P >= 100 is 2,730.
    needed = onesample.requests_to_pass(0, 0, 0.002, math.log(100), bad_ratio=0.0)
    assert needed == pytest.approx(2730, rel=0.01)


@pytest.mark.parametrize(("n", "x", "ratio"), [(0, 0, 0.0), (500, 1, 0.0004), (40, 2, 0.001)])
def test_requests_to_pass_lands_where_the_test_passes(n: float, x: float, ratio: float) -> None:
    threshold = math.log(100)
    needed = onesample.requests_to_pass(n, x, 0.005, threshold, bad_ratio=ratio)
    assert needed is not None
    after = onesample.ln_e_pass(n + needed * 1.02, x + needed * 1.02 * ratio, 0.005)
    before = onesample.ln_e_pass(n + needed * 0.98, x + needed * 0.98 * ratio, 0.005)
    assert before < threshold <= after


def test_requests_to_pass_is_zero_once_passed_and_none_at_or_above_the_threshold() -> None:
    assert onesample.requests_to_pass(5000, 0, 0.005, math.log(100), bad_ratio=0.0) == 0.0
    assert onesample.requests_to_pass(100, 1, 0.005, math.log(100), bad_ratio=0.005) is None
    assert onesample.requests_to_pass(100, 1, 0.005, math.log(100), bad_ratio=0.01) is None
