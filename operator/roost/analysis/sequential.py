"""Anytime-valid decisions from e-values: thresholds, outcomes and test results.

Each sequential test of Roost's canary gate yields two e-processes: E_F (evidence
that the canary is bad) and E_P (evidence that it is good). By Ville's inequality
P_H0(exists t: E_t >= 1/alpha) <= alpha, so the rule

    FAIL when ln E_F >= ln(1/alpha_i);  PASS when ln E_P >= ln(1/beta);  FAIL wins ties

may be applied at every tick, however often and whenever one looks
(Ville 1939; Ramdas, Grunwald, Vovk & Shafer 2023). With m
fail tests the false-rollback budget alpha is split alpha_i = alpha/m (union bound);
the pass bound beta is not split, since promotion needs every pass (an
intersection-union test, Berger 1982; docs/decisions.md, "Two errors, two budgets").

The e-values themselves live in ``onesample`` (Gate 1, and Gate 3 one-sample on
slow counts) and ``twosample`` (Gate 2, and Gate 3 two-sample on slow counts).
"""

import math
from dataclasses import dataclass

from roost.analysis import onesample, twosample
from roost.analysis.outcome import Outcome


def split_alpha(alpha: float, fail_tests: int) -> float:
    """alpha_i = alpha/m: each of m fail tests gets an equal share (0.01/4 = 0.0025)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if fail_tests < 1:
        raise ValueError(f"need at least one fail test, got {fail_tests}")
    return alpha / fail_tests


def ln_threshold(level: float) -> float:
    """ln(1/level): the e-value threshold for a test at that level (ln 400 = 5.9915)."""
    if not 0 < level < 1:
        raise ValueError(f"a level must lie in (0, 1), got {level}")
    return -math.log(level)


def decide(
    ln_e_fail: float, ln_e_pass: float, *, fail_threshold: float, pass_threshold: float
) -> Outcome:
    """FAIL if ln E_F >= fail_threshold, else PASS if ln E_P >= pass_threshold."""
    if ln_e_fail >= fail_threshold:
        return Outcome.FAIL
    if ln_e_pass >= pass_threshold:
        return Outcome.PASS
    return Outcome.INCONCLUSIVE


def sequential_p_value(ln_e: float, *, previous: float = 1.0) -> float:
    """p_t = min(p_{t-1}, 1/E_t), i.e. min(1, 1/max_{u<=t} E_u) (Johari et al. 2022).

    Pass the previous p-value kept in status to carry the running maximum of E
    across ticks; p_t <= alpha exactly when the test has crossed 1/alpha.
    """
    return min(previous, 1.0, math.exp(-ln_e))


@dataclass(frozen=True)
class TestResult:
    """One sequential test's evidence and outcome, inputs beside outputs.

    ``n`` and ``x`` are the canary's cumulative requests and bad (or slow) requests.
    Two-sample tests also carry the stable arm's counts, the last canary share and
    both parts of the pass e-value (ln E_P = ln(E_P,rel/2 + E_P,abs/2)).
    """

    __test__ = False  # not a pytest test class, despite its name

    name: str
    ln_e_fail: float
    ln_e_pass: float
    fail_threshold: float
    pass_threshold: float
    n: float
    x: float
    outcome: Outcome
    stable_n: float | None = None
    stable_x: float | None = None
    canary_share: float | None = None
    ln_e_pass_relative: float | None = None
    ln_e_pass_absolute: float | None = None

    @property
    def fail_p_value(self) -> float:
        """min(1, 1/E_F) at this tick; see ``sequential_p_value`` for the running minimum."""
        return sequential_p_value(self.ln_e_fail)

    @property
    def pass_p_value(self) -> float:
        """min(1, 1/E_P) at this tick; see ``sequential_p_value`` for the running minimum."""
        return sequential_p_value(self.ln_e_pass)


def one_sample_test(
    name: str,
    n: float,
    x: float,
    *,
    fail_bad_ratio: float,
    pass_bad_ratio: float,
    alpha_i: float,
    beta: float,
    a0: float = onesample.DEFAULT_PRIOR_BAD,
) -> TestResult:
    """Gate 1 (or Gate 3 one-sample on slow counts) on the canary's cumulative (n, x).

    ``fail_bad_ratio`` is p_F = k_F*eps and ``pass_bad_ratio`` p_P = k_P*eps.
    """
    ln_e_fail = onesample.ln_e_fail(n, x, fail_bad_ratio, a0=a0)
    ln_e_pass = onesample.ln_e_pass(n, x, pass_bad_ratio, a0=a0)
    fail_threshold, pass_threshold = ln_threshold(alpha_i), ln_threshold(beta)
    return TestResult(
        name=name,
        ln_e_fail=ln_e_fail,
        ln_e_pass=ln_e_pass,
        fail_threshold=fail_threshold,
        pass_threshold=pass_threshold,
        n=n,
        x=x,
        outcome=decide(
            ln_e_fail, ln_e_pass, fail_threshold=fail_threshold, pass_threshold=pass_threshold
        ),
    )


def two_sample_test(
    name: str,
    state: twosample.TwoSampleState,
    *,
    floor_bad_ratio: float,
    alpha_i: float,
    beta: float,
    a0: float = onesample.DEFAULT_PRIOR_BAD,
) -> TestResult:
    """Gate 2 (or Gate 3 two-sample on slow counts) from the accumulated state.

    ``floor_bad_ratio`` is kappa*eps, the absolute floor of the pass test.
    """
    ln_e_fail = twosample.ln_e_fail(state)
    relative = twosample.ln_e_pass_relative(state)
    absolute = twosample.ln_e_pass_absolute(state, floor_bad_ratio=floor_bad_ratio, a0=a0)
    ln_e_pass = twosample.ln_e_pass(state, floor_bad_ratio=floor_bad_ratio, a0=a0)
    fail_threshold, pass_threshold = ln_threshold(alpha_i), ln_threshold(beta)
    return TestResult(
        name=name,
        ln_e_fail=ln_e_fail,
        ln_e_pass=ln_e_pass,
        fail_threshold=fail_threshold,
        pass_threshold=pass_threshold,
        n=state.canary_requests,
        x=state.canary_bad,
        outcome=decide(
            ln_e_fail, ln_e_pass, fail_threshold=fail_threshold, pass_threshold=pass_threshold
        ),
        stable_n=state.stable_requests,
        stable_x=state.stable_bad,
        canary_share=state.last_canary_share,
        ln_e_pass_relative=relative,
        ln_e_pass_absolute=absolute,
    )
