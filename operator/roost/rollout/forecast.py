"""When can the canary be promoted at the traffic it sees now? (pure)

The analysis says, per objective, how many more canary requests its tests need
(``GateEvidence.requests_to_step``, ``requests_to_pass``, ``clean_requests_to_pass``);
this module turns requests into time along the rest of the rollout's steps. The
canary's request rate is measured over the windows of the current step
(``ComparisonState.step_canary`` / ``step_seconds``) and scaled with the step
weights that follow (a quality gauge's samples do not scale: they come at the
scrape rate whatever the weight).

Two numbers per objective, the forecast keeping the slowest:

* the estimate: the canary keeps its observed bad ratio and each step advances
  once its pause is over and the step rule's evidence is there;
* the lower bound: no further request is bad and each step advances at the end
  of its pause. No promotion can come sooner at this traffic, so a lower bound
  past ``progressDeadline`` means the deadline cannot be met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from roost import durations
from roost.analysis.verdict import StepVerdict
from roost.api.modeldeployment import (
    ComparisonState,
    Forecast,
    GateEvidence,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    ObjectiveForecast,
)

# The rate is too rough to warn on before this much of the step has been measured.
WARN_AFTER_SECONDS = 120.0


@dataclass(frozen=True)
class _Needs:
    """One objective's remaining requests: to its next step-up and to its promotion."""

    to_step: float | None  # None: the step rule cannot pass at the observed ratio
    to_pass: float | None
    clean: float
    rate: float  # units per second at the current weight
    scales: bool  # requests scale with the weight; gauge samples do not


def _seconds_to_promote(
    needs: _Needs,
    *,
    spec: ModelDeploymentSpec,
    step: int,
    dwell_left: float,
    last_step_only: bool,
    optimistic: bool,
) -> float | None:
    """Walk the remaining steps: each lasts max(pause left, time to its evidence)."""
    steps = spec.rollout.steps
    to_pass = needs.clean if optimistic else needs.to_pass
    if to_pass is None or needs.rate <= 0:
        return None
    to_step = 0.0 if optimistic else needs.to_step
    share = steps[step].split.canary_share  # a shadow step's canary answers its mirror
    elapsed = 0.0
    for index in range(step, len(steps)):
        scale = steps[index].split.canary_share / share if needs.scales else 1.0
        rate = needs.rate * scale
        wait = dwell_left if index == step else spec.rollout.dwell_seconds(index)
        if spec.rollout.is_last(index):
            if last_step_only and index != step:
                to_pass = needs.clean if optimistic else needs.to_pass
            return elapsed + max(wait, (to_pass or 0.0) / rate)
        if to_step is None:
            return None
        duration = max(wait, to_step / rate)
        served = duration * rate
        to_step = max(to_step - served, 0.0)
        if not last_step_only:
            to_pass = max((to_pass or 0.0) - served, 0.0)
        elapsed += duration
    return elapsed  # not reached: the loop returns at the last step


def _needs(gate: GateEvidence, state: ComparisonState | None, scales: bool) -> _Needs | None:
    """None until the step has measured windows with canary traffic: no rate, no forecast
    (no traffic at all is the no-data deadline's business)."""
    if state is None or state.step_canary is None or state.step_seconds <= 0:
        return None
    if state.step_canary.total <= 0:
        return None
    return _Needs(
        to_step=gate.requests_to_step,
        to_pass=gate.requests_to_pass,
        clean=gate.clean_requests_to_pass or 0.0,
        rate=state.step_canary.total / state.step_seconds,
        scales=scales,
    )


def forecast(
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus,
    verdict: StepVerdict,
    now: datetime,
) -> Forecast | None:
    """The promotion forecast for ``status`` once ``verdict`` is recorded in it; None
    before the canary has carried traffic for a measured window."""
    step = status.current_step
    if step < 0 or step >= len(spec.rollout.steps):
        return None
    states = {s.objective: s for s in verdict.comparison if s.gate == "comparison"}
    started = status.step_started_at or now
    dwell_left = max(spec.rollout.dwell_seconds(step) - (now - started).total_seconds(), 0.0)
    last_only = verdict.promotion_last_step
    estimate: float | None = 0.0
    bound = 0.0
    slowest, slowest_seconds, rate = "", -1.0, math.inf
    measured = math.inf
    objectives: list[ObjectiveForecast] = []
    for gate in verdict.gates:
        if gate.gate != "burnRate":
            continue
        state = states.get(gate.objective)
        needs = _needs(gate, state, gate.objective not in verdict.gauges)
        if needs is None or state is None:
            return None
        measured = min(measured, state.step_seconds)
        mine, low = (
            _seconds_to_promote(
                needs,
                spec=spec,
                step=step,
                dwell_left=dwell_left,
                last_step_only=last_only,
                optimistic=optimistic,
            )
            for optimistic in (False, True)
        )
        if low is None:  # not reached: with a rate, the optimistic walk always ends
            return None
        bound = max(bound, low)
        objectives.append(
            ObjectiveForecast(
                objective=gate.objective,
                rate=needs.rate,
                promotable_in_seconds=mine,
                at_least_seconds=low,
            )
        )
        if estimate is not None:
            estimate = None if mine is None else max(estimate, mine)
        key = math.inf if mine is None else mine
        if key > slowest_seconds:
            slowest, slowest_seconds, rate = gate.objective, key, needs.rate
    if not slowest:
        return None
    deadline = durations.parse_seconds(spec.rollout.progress_deadline)
    started_at = status.rollout_started_at or now
    left = max(deadline - (now - started_at).total_seconds(), 0.0)
    previous = status.last_analysis.forecast if status.last_analysis else None
    return Forecast(
        canary_rate=rate,
        promotable_in_seconds=estimate,
        at_least_seconds=bound,
        deadline_in_seconds=left,
        reachable=bound <= left,
        slowest=slowest,
        measured_seconds=measured,
        warned=previous.warned if previous is not None else False,
        objectives=objectives,
    )


def describe(value: Forecast) -> str:
    """One line for a person: "promotable in ~35m at 0.30 canary req/s"."""
    rate = f"{value.canary_rate:.2f} canary req/s"
    if value.promotable_in_seconds is None:
        text = (
            f"not promotable while {value.slowest} keeps its observed bad ratio "
            f"(at {rate}; no sooner than {_about(value.at_least_seconds)})"
        )
    elif value.promotable_in_seconds <= 0:
        text = "promotable now"
    else:
        text = f"promotable in ~{_about(value.promotable_in_seconds)} at {rate}"
    if not value.reachable and value.deadline_in_seconds is not None:
        text += (
            f"; progressDeadline ends in {_about(value.deadline_in_seconds)}, before the "
            f"earliest promotion ({_about(value.at_least_seconds)} with no bad request)"
        )
    return text


def about(seconds: float | None) -> str:
    """A duration for a person, to the minute: "~35m"; "never" for None."""
    return "never" if seconds is None else f"~{_about(seconds)}"


def _about(seconds: float) -> str:
    if math.isinf(seconds):
        return "never"
    return durations.format_seconds(max(60.0 * round(seconds / 60.0), 60.0))


def should_warn(value: Forecast) -> bool:
    """Warn once per rollout, when the deadline cannot be met and the rate is measured."""
    return not value.reachable and not value.warned and value.measured_seconds >= WARN_AFTER_SECONDS
