"""From measurements to one verdict: pass, fail or inconclusive, with its evidence.

Per objective two sequential tests run on counts accumulated since the canary
started (docs/decisions.md, "The canary gate"):

* ``burnRate`` (Gate 1): one-sample beta-binomial mixtures on the canary's (n, x).
  It fails when the canary provably burns faster than ``maxBurnRate`` (the rollback
  test) and passes when it provably burns slower than ``promotionBurnRate`` (the
  promotion test, on the counts ``promotionEvidence`` names).
* ``comparison`` (Gate 2): is the canary worse than the stable version, or
  provably within ``maxRelativeRate`` of it (or within its own SLO)? A
  conditional-binomial mixture on per-tick increments of both versions.

Per distribution check (``policy.distributions``, compareTo stable) a third test:

* ``distribution``: do the canary's prediction-histogram bucket counts come from the
  stable's distribution? An anytime-valid multinomial e-process conditioned per window
  on the observed split (``roost.analysis.distribution``), with PSI, KS distance and
  chi-squared beside it as effect sizes. It fails when the e-process crosses its
  threshold and the chosen statistic is at or above ``threshold``; it passes once the
  canary has ``minSamples`` observations without failing; fewer is inconclusive.
  ``action: rollback`` fails the verdict (reason ``PredictionDistributionShift``),
  ``pause`` asks the state machine to pause, ``alert`` only records.

Verdict rules: any fail test crossing its threshold fails the step. A step
passes (steps up) when every objective's promotion e-process, on all the canary's
requests, reaches ``stepEvidence`` on at least ``minRequests`` of them. Promotable:
every promotion test passes at 1/α (and, with ``promotionRequiresComparison``, every
comparison), and every distribution check that acts has passed. Everything else is
inconclusive: the weight holds and nothing is promoted. The false-rollback budget
α = 1 − confidence is split over all fail tests; the false-promotion budget α is not
split, since promotion needs every promotion test to pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from roost.analysis import distribution, onesample, sequential, twosample
from roost.analysis.outcome import Outcome
from roost.api.modeldeployment import (
    ArmCounts,
    ComparisonState,
    DistributionEvidence,
    GateEvidence,
)
from roost.api.slopolicy import (
    CompareTo,
    DistributionCheck,
    DriftAction,
    Objective,
    PromotionEvidence,
    SLOPolicySpec,
)
from roost.slo.readings import Counts, Measurements, SLIReading

# Relative evidence is waived once the canary is provably within its own SLO (κ = 1).
ABSOLUTE_FLOOR_BURN = 1.0
# A burn threshold times the budget can reach 1 (e.g. 3 × a 50 % budget): the tests need
# a bad ratio below 1, and one this close to 1 makes the test what it is at 1: a canary
# cannot burn faster, so it never fails and passes on its first requests.
_HIGHEST_RATIO = 1.0 - 1e-9


@dataclass(frozen=True)
class StepVerdict:
    outcome: Outcome
    reason: str
    message: str
    at: datetime | None = None  # end of the window judged; None when nothing was read
    promotable: bool = False
    has_new_data: bool = False
    gates: tuple[GateEvidence, ...] = ()
    comparison: tuple[ComparisonState, ...] = field(default=())
    canary_burn_rate: float | None = None
    pause: bool = False  # a distribution check with action pause found a shift
    alerts: tuple[str, ...] = ()  # distribution checks with action alert that found a shift
    # For the promotion forecast (roost.rollout.forecast): the promotion test counts only
    # the last step's requests, and the objectives counting gauge samples, not requests.
    promotion_last_step: bool = False
    gauges: tuple[str, ...] = ()


def _checks(policy: SLOPolicySpec) -> list[DistributionCheck]:
    return [d for d in policy.distributions if d.compare_to is CompareTo.STABLE]


def _thresholds(policy: SLOPolicySpec) -> tuple[float, float]:
    """(ln 1/α_i, ln 1/β): α = 1 − confidence split over all fail tests; β = α.

    Two fail tests per objective, one per distribution check that acts on the rollout.
    """
    alpha = 1.0 - policy.canary.confidence
    acting = sum(1 for d in _checks(policy) if d.gates_rollout)
    alpha_i = sequential.split_alpha(alpha, 2 * len(policy.objectives) + acting)
    return sequential.ln_threshold(alpha_i), sequential.ln_threshold(alpha)


def _outcome(ln_fail: float, ln_pass: float, fail_at: float, pass_at: float) -> Outcome:
    return sequential.decide(ln_fail, ln_pass, fail_threshold=fail_at, pass_threshold=pass_at)


def _burn(counts: Counts | None, budget: float) -> float | None:
    if counts is None or counts.total <= 0:
        return None
    return counts.bad / counts.total / budget


def _arm(counts: Counts | None) -> ArmCounts | None:
    return None if counts is None else ArmCounts(total=counts.total, bad=counts.bad)


def _grid(policy: SLOPolicySpec) -> twosample.RateRatioGrid:
    return twosample.RateRatioGrid(
        fail_tolerance=1.0, pass_tolerance=policy.canary.max_relative_rate
    )


_NONE = Counts(0.0, 0.0)


@dataclass(frozen=True)
class _Evidence:
    """One objective's accumulated evidence: the canary's totals, the comparison, and the
    canary's counts in the windows of the current step (``step``) with their length."""

    canary: Counts
    comparison: twosample.TwoSampleState
    step: int | None = None
    step_canary: Counts = _NONE
    step_seconds: float = 0.0

    def at_step(self, step: int) -> _Evidence:
        """This evidence with the step's counts started anew when ``step`` is another step."""
        if self.step == step:
            return self
        return _Evidence(canary=self.canary, comparison=self.comparison, step=step)


def _previous(
    objective: str, previous: Sequence[ComparisonState], policy: SLOPolicySpec
) -> _Evidence:
    for stored in previous:
        if stored.objective == objective and stored.gate == "comparison":
            step_canary = stored.step_canary or ArmCounts(total=0.0, bad=0.0)
            return _Evidence(
                canary=Counts(stored.canary.total, stored.canary.bad),
                comparison=twosample.TwoSampleState.from_dict(stored.test),
                step=stored.step,
                step_canary=Counts(step_canary.total, step_canary.bad),
                step_seconds=stored.step_seconds,
            )
    return _Evidence(canary=Counts(0.0, 0.0), comparison=twosample.start(_grid(policy)))


def _accumulate(evidence: _Evidence, reading: SLIReading | None, seconds: float) -> _Evidence:
    """Add one window's counts (the window lasted ``seconds``).

    The canary's counts always count towards its own burn-rate test. The
    comparison needs both versions over the same window: a window missing
    either is skipped for it (its evidence is lost, never shifted to another
    window). A window without canary data adds nothing, not even its length.
    """
    canary = reading.canary if reading else None
    stable = reading.stable if reading else None
    if canary is None:
        return evidence
    totals = Counts(evidence.canary.total + canary.total, evidence.canary.bad + canary.bad)
    comparison = evidence.comparison
    if stable is not None:
        tick = twosample.Tick(
            canary_requests=canary.total,
            canary_bad=canary.bad,
            stable_requests=stable.total,
            stable_bad=stable.bad,
        )
        comparison = twosample.update(comparison, tick)
    step = Counts(evidence.step_canary.total + canary.total, evidence.step_canary.bad + canary.bad)
    return _Evidence(
        canary=totals,
        comparison=comparison,
        step=evidence.step,
        step_canary=step,
        step_seconds=evidence.step_seconds + seconds,
    )


def _to_pass(counts: Counts, p: float, threshold: float, *, ratio: float) -> float | None:
    return onesample.requests_to_pass(counts.total, counts.bad, p, threshold, bad_ratio=ratio)


def _judge_burn(
    objective: Objective, evidence: _Evidence, policy: SLOPolicySpec, *, last_step: bool
) -> GateEvidence:
    """The burnRate gate: roll back above maxBurnRate, promote below promotionBurnRate.

    Fail: ln E_F against "burn <= maxBurnRate" reaches ln(1/α_i). Pass (promotable on
    this objective): ln E_P against "burn >= promotionBurnRate" reaches ln(1/α) on the
    counts ``promotionEvidence`` names, with at least ``minRequests`` of them. The step
    rule reads the same e-process on every canary request against ln(stepEvidence).
    """
    gate = policy.canary
    fail_at, pass_at = _thresholds(policy)
    step_at = math.log(gate.step_evidence)
    budget = objective.error_budget
    counts = evidence.canary
    p_fail = min(gate.max_burn_rate * budget, _HIGHEST_RATIO)
    p_pass = min(gate.promotion_burn_rate * budget, _HIGHEST_RATIO)
    judged = counts
    if gate.promotion_evidence is PromotionEvidence.LAST_STEP:
        judged = evidence.step_canary if last_step else _NONE
    ln_fail = onesample.ln_e_fail(counts.total, counts.bad, p_fail)
    ln_pass = onesample.ln_e_pass(judged.total, judged.bad, p_pass)
    ln_step = ln_pass if judged is counts else onesample.ln_e_pass(counts.total, counts.bad, p_pass)
    outcome = _outcome(ln_fail, ln_pass, fail_at, pass_at)
    if outcome is Outcome.PASS and judged.total < gate.min_requests:
        outcome = Outcome.INCONCLUSIVE
    # Forecasts: more requests at the canary's observed bad ratio, and clean ones.
    ratio = min(counts.bad / counts.total if counts.total > 0 else 0.0, _HIGHEST_RATIO)
    needed: float | None = 0.0
    clean = to_step = 0.0
    if outcome is not Outcome.PASS:
        short = max(gate.min_requests - judged.total, 0.0)
        found = _to_pass(judged, p_pass, pass_at, ratio=ratio)
        needed = None if found is None else max(found, short)
        if ratio > 0:
            found = _to_pass(judged, p_pass, pass_at, ratio=0.0)
        clean = max(found or 0.0, short)
        if ln_step < step_at or counts.total < gate.min_requests:
            found = _to_pass(counts, p_pass, step_at, ratio=ratio)
            to_step = math.inf if found is None else found
            to_step = max(to_step, gate.min_requests - counts.total)
    state = evidence.comparison
    compared = state.stable_requests > 0
    stable = Counts(state.stable_requests, state.stable_bad)
    return GateEvidence(
        objective=objective.name,
        gate="burnRate",
        outcome=outcome.value,
        ln_e_fail=ln_fail,
        ln_e_pass=ln_pass,
        fail_threshold=fail_at,
        pass_threshold=pass_at,
        canary=_arm(counts),
        stable=_arm(stable) if compared else None,
        burn_rate=_burn(counts, budget),
        stable_burn_rate=_burn(stable, budget) if compared else None,
        p_value=sequential.sequential_p_value(ln_fail),
        ln_e_step=ln_step,
        step_threshold=step_at,
        promotion_requests=_arm(judged),
        requests_to_pass=needed,
        clean_requests_to_pass=clean,
        requests_to_step=None if math.isinf(to_step) else to_step,
    )


def _may_step(gate: GateEvidence, policy: SLOPolicySpec) -> bool:
    """The weak pass a step needs: the promotion test's e-process at stepEvidence."""
    if gate.outcome == Outcome.PASS.value:
        return True
    n = 0.0 if gate.canary is None else gate.canary.total
    return (
        gate.ln_e_step is not None
        and gate.step_threshold is not None
        and gate.ln_e_step >= gate.step_threshold
        and n >= policy.canary.min_requests
    )


def _judge_objective(
    objective: Objective, evidence: _Evidence, policy: SLOPolicySpec, *, last_step: bool
) -> tuple[GateEvidence, GateEvidence]:
    fail_at, pass_at = _thresholds(policy)
    budget = objective.error_budget
    burn_gate = _judge_burn(objective, evidence, policy, last_step=last_step)
    state = evidence.comparison

    ln_fail_2 = twosample.ln_e_fail(state)
    ln_pass_2 = twosample.ln_e_pass(state, floor_bad_ratio=ABSOLUTE_FLOOR_BURN * budget)
    compare_gate = burn_gate.model_copy(
        update={
            "gate": "comparison",
            "outcome": _outcome(ln_fail_2, ln_pass_2, fail_at, pass_at).value,
            "ln_e_fail": ln_fail_2,
            "ln_e_pass": ln_pass_2,
            "p_value": sequential.sequential_p_value(ln_fail_2),
            "ln_e_step": None,
            "step_threshold": None,
            "promotion_requests": None,
            "requests_to_pass": None,
            "clean_requests_to_pass": None,
            "requests_to_step": None,
        }
    )
    return burn_gate, compare_gate


def _describe(gate: GateEvidence) -> str:
    burn = "n/a" if gate.burn_rate is None else f"{gate.burn_rate:.2f}"
    stable = "n/a" if gate.stable_burn_rate is None else f"{gate.stable_burn_rate:.2f}"
    n = 0 if gate.canary is None else round(gate.canary.total)
    x = 0 if gate.canary is None else round(gate.canary.bad)
    text = (
        f"{gate.objective}/{gate.gate}: canary burn {burn} ({x} bad of {n}), stable burn "
        f"{stable}; ln E_fail {gate.ln_e_fail:.2f} (fails at {gate.fail_threshold:.2f}), "
        f"ln E_pass {gate.ln_e_pass:.2f} (passes at {gate.pass_threshold:.2f})"
    )
    if gate.gate != "burnRate" or gate.outcome != Outcome.INCONCLUSIVE.value:
        return text
    if gate.requests_to_pass is None:
        return f"{text}; cannot pass while its bad ratio stays at {burn} times the budget"
    return f"{text}; ~{_count(gate.requests_to_pass)} more canary requests to pass"


def _count(value: float) -> str:
    return f"{math.ceil(value):,}"


_FAIL_REASONS = {
    "burnRate": "BurnRateExceeded",
    "comparison": "WorseThanStable",
    "distribution": "PredictionDistributionShift",
}


def _previous_distribution(
    name: str, previous: Sequence[ComparisonState]
) -> distribution.DistributionState:
    for stored in previous:
        if stored.gate == "distribution" and stored.objective == name:
            return distribution.DistributionState.from_dict(stored.test)
    return distribution.DistributionState()


def _effect(check: DistributionCheck, state: distribution.DistributionState) -> float | None:
    """The statistic judged against ``threshold``: corrected for its noise at these counts."""
    return distribution.judged(check.statistic.value, state.canary, state.stable)


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else f"{value:g}"


def _shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts)
    return [round(c / total, 6) if total > 0 else 0.0 for c in counts]


def _judge_distribution(
    check: DistributionCheck, state: distribution.DistributionState, policy: SLOPolicySpec
) -> GateEvidence:
    """Fail: the e-process crossed 1/α_i and the statistic reached ``threshold``.

    Pass: ``minSamples`` canary observations and no fail. Else inconclusive.
    """
    fail_at, pass_at = _thresholds(policy)
    ln_e = state.ln_e_combined
    value = _effect(check, state)
    shifted = ln_e >= fail_at and value is not None and value >= check.fail_threshold
    if shifted:
        outcome = Outcome.FAIL
    elif (
        state.canary_total >= check.min_samples
        and state.stable_total > 0
        and len(state.bounds) > 1  # a lone +Inf bucket compares nothing
    ):
        outcome = Outcome.PASS
    else:
        outcome = Outcome.INCONCLUSIVE
    return GateEvidence(
        objective=check.name,
        gate="distribution",
        outcome=outcome.value,
        ln_e_fail=ln_e,
        ln_e_pass=0.0,
        fail_threshold=fail_at,
        pass_threshold=pass_at,
        canary=ArmCounts(total=state.canary_total, bad=0.0),
        stable=ArmCounts(total=state.stable_total, bad=0.0),
        p_value=sequential.sequential_p_value(ln_e),
        distribution=DistributionEvidence(
            statistic=check.statistic.value,
            value=value,
            threshold=check.fail_threshold,
            warn_threshold=check.warn_level,
            action=check.effective_action.value,
            min_samples=check.min_samples,
            windows=state.windows,
            psi=distribution.psi(state.canary, state.stable),
            ks=distribution.ks_distance(state.canary, state.stable),
            chi2=distribution.chi_squared(state.canary, state.stable),
            cohens_w=distribution.cohens_w(state.canary, state.stable),
            bounds=[_bound(b) for b in state.bounds],
            canary_shares=_shares(state.canary),
            stable_shares=_shares(state.stable),
        ),
    )


def _describe_distribution(gate: GateEvidence) -> str:
    d = gate.distribution
    assert d is not None
    value = "n/a" if d.value is None else f"{d.value:.3f}"
    psi = "n/a" if d.psi is None else f"{d.psi:.3f}"
    ks = "n/a" if d.ks is None else f"{d.ks:.3f}"
    chi2 = "n/a" if d.chi2 is None else f"{d.chi2:.1f}"
    n_c = 0 if gate.canary is None else round(gate.canary.total)
    n_s = 0 if gate.stable is None else round(gate.stable.total)
    if not d.bounds:
        return (
            f"{gate.objective}/distribution: no histogram buckets read for both versions yet "
            "(is <histogram>_bucket exported with the version label?)"
        )
    if len(d.bounds) == 1:
        return (
            f"{gate.objective}/distribution: the histogram has only a +Inf bucket "
            f"({n_c} canary, {n_s} stable predictions); nothing to compare"
        )
    return (
        f"{gate.objective}/distribution: {d.statistic} {value} noise-corrected (fails at "
        f"{d.threshold:g}); "
        f"PSI {psi}, KS {ks}, chi2 {chi2} on {n_c} canary vs {n_s} stable predictions "
        f"over {d.windows} windows; ln E {gate.ln_e_fail:.2f} (fails at "
        f"{gate.fail_threshold:.2f}), action {d.action}"
    )


def _describe_any(gate: GateEvidence) -> str:
    return _describe_distribution(gate) if gate.gate == "distribution" else _describe(gate)


def analyze(
    policy: SLOPolicySpec,
    measurements: Measurements,
    previous: Sequence[ComparisonState] = (),
    *,
    step: int = -1,
    last_step: bool = True,
) -> StepVerdict:
    """Judge one analysis tick. Pure: the same inputs always give the same verdict.

    ``step`` is the rollout step whose weight the window was measured at
    (``status.currentStep``): the canary's counts at the current step start anew when
    it changes (promotionEvidence lastStep, and the canary's request rate). With
    promotionEvidence lastStep, the promotion test counts nothing unless ``last_step``.
    """
    if measurements.error is not None:
        return StepVerdict(
            outcome=Outcome.INCONCLUSIVE,
            reason="MetricsUnavailable",
            message=f"Prometheus could not be asked: {measurements.error}",
            comparison=tuple(previous),
        )

    gates: list[GateEvidence] = []
    states: list[ComparisonState] = []
    new_requests = 0.0
    for objective in policy.objectives:
        reading = measurements.reading(objective.name)
        before = _previous(objective.name, previous, policy).at_step(step)
        evidence = _accumulate(before, reading, measurements.seconds)
        gates += _judge_objective(objective, evidence, policy, last_step=last_step)
        states.append(
            ComparisonState(
                objective=objective.name,
                canary=ArmCounts(total=evidence.canary.total, bad=evidence.canary.bad),
                test=dict(evidence.comparison.to_dict()),
                step=step,
                step_canary=_arm(evidence.step_canary),
                step_seconds=evidence.step_seconds,
            )
        )
        if reading is not None and reading.canary is not None:
            new_requests = max(new_requests, reading.canary.total)

    drift: list[tuple[DistributionCheck, GateEvidence]] = []
    for check in _checks(policy):
        hist = measurements.histogram(check.name)
        state = _previous_distribution(check.name, previous)
        if hist is not None:
            state = distribution.update(state, hist.canary, hist.stable)
        drift.append((check, _judge_distribution(check, state, policy)))
        states.append(
            ComparisonState(
                objective=check.name,
                gate="distribution",
                canary=ArmCounts(total=state.canary_total, bad=0.0),
                test=dict(state.to_dict()),
            )
        )
    gates += [gate for _, gate in drift]
    shifted = [(c, g) for c, g in drift if g.outcome == Outcome.FAIL.value]
    rollback = [g for c, g in shifted if c.effective_action is DriftAction.ROLLBACK]
    pause = [g for c, g in shifted if c.effective_action is DriftAction.PAUSE]
    alerts = [g for c, g in shifted if c.effective_action is DriftAction.ALERT]
    waiting_drift = [g for c, g in drift if c.gates_rollout and g.outcome != Outcome.PASS.value]

    burns = [g.burn_rate for g in gates if g.gate == "burnRate" and g.burn_rate is not None]
    common = {
        "at": measurements.at,
        "gates": tuple(gates),
        "comparison": tuple(states),
        "has_new_data": new_requests > 0,
        "canary_burn_rate": max(burns) if burns else None,
        "alerts": tuple(g.objective for g in alerts),
        "promotion_last_step": policy.canary.promotion_evidence is PromotionEvidence.LAST_STEP,
        "gauges": tuple(o.name for o in policy.objectives if o.kind == "quality"),
    }
    failed = [g for g in gates if g.outcome == Outcome.FAIL.value and g.gate != "distribution"]
    failed += rollback
    notes = [f"alert: {_describe_distribution(g)}" for g in alerts]
    if failed:
        first = failed[0]
        return StepVerdict(
            outcome=Outcome.FAIL,
            reason=_FAIL_REASONS[first.gate],
            message="; ".join([*(_describe_any(g) for g in failed), *notes]),
            **common,  # type: ignore[arg-type]
        )
    if pause:
        return StepVerdict(
            outcome=Outcome.INCONCLUSIVE,
            reason="PredictionDistributionShift",
            message="; ".join([*(_describe_distribution(g) for g in pause), *notes]),
            pause=True,
            **common,  # type: ignore[arg-type]
        )
    burn_gates = [g for g in gates if g.gate == "burnRate"]
    if new_requests <= 0:
        # A window without canary data (no traffic, no series, NaN) moves nothing, however
        # strong the evidence before it: the weight holds while Roost cannot see the canary
        # at it (docs/decisions.md, the three empty states).
        return StepVerdict(
            outcome=Outcome.INCONCLUSIVE,
            reason="NoData",
            message="; ".join(
                ["no canary requests in this window", *(_describe(g) for g in burn_gates), *notes]
            ),
            **common,  # type: ignore[arg-type]
        )
    if all(_may_step(g, policy) for g in burn_gates):
        waiting = [g for g in burn_gates if g.outcome != Outcome.PASS.value]
        if policy.canary.promotion_requires_comparison:
            waiting += [g for g in gates if g.gate == "comparison" and g.outcome != "pass"]
        waiting += waiting_drift
        promotable = not waiting
        shown = gates if promotable else waiting
        return StepVerdict(
            outcome=Outcome.PASS,
            reason="CanaryHealthy" if promotable else "CanaryWithinBudget",
            message="; ".join([*(_describe_any(g) for g in shown), *notes]),
            promotable=promotable,
            **common,  # type: ignore[arg-type]
        )
    waiting = [g for g in burn_gates if not _may_step(g, policy)]
    return StepVerdict(
        outcome=Outcome.INCONCLUSIVE,
        reason="InsufficientEvidence",
        message="; ".join([*(_describe(g) for g in waiting), *notes]),
        **common,  # type: ignore[arg-type]
    )
