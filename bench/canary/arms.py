"""The arms of B1: one seeded rollout each, same scenario and traffic model.

Roost runs through ``roost.simulation.simulate``, the driver ``roost simulate``
uses, which calls the real ``analyze`` and ``decide`` every analysis tick.
Flagger and Argo Rollouts are re-implementations of documented behaviour
(``bench.canary.flagger``, ``bench.canary.argo``). Harmed requests are the
canary's requests times the probability that one is bad on the regressed
objective (the expectation given the realised canary traffic), for every arm,
up to the decision; ``bench.canary.report.horizon_harm`` extends them to a common
horizon.

Both Roost arms write ``rollout.onProgressDeadline`` explicitly, so neither depends
on the API default (``pause`` since the default changed; the stored rows of the arm
"roost" were run with the old default, ``rollback``, which it now sets itself).

The arm "roost-shadow" is the default arm ("roost-pause") with one shadow step first,
``{mirror: 100}`` with the first weighted step's pause, behind the Gateway API provider
(the replicas provider cannot mirror). The canary answers a copy of every request and
users get the stable's answers, so only the weighted steps after it count as the
canary's requests (``SimulationResult.canary_requests``) and harm users. It runs its
own simulation: mirroring draws the copies from the same generator, so its traffic is
not the default arm's after the first tick.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bench.canary import argo, flagger
from bench.canary.cases import (
    HEALTHY_P99_SECONDS,
    HORIZON_SECONDS,
    LATENCY_THRESHOLD_SECONDS,
    MEDIAN_SECONDS,
    STABLE_ERROR_RATE,
    Case,
)
from bench.canary.traffic import Bins
from roost import durations, simulation
from roost.rollout.machine import PROGRESS_DEADLINE as DEADLINE_REASON

ARMS = ("roost", "roost-pause", "roost-shadow", "flagger", "argo")
# The key of each Roost arm (kept as stored in bench/results/canary.json) and the
# onProgressDeadline it sets.
ON_PROGRESS_DEADLINE = {"roost": "rollback", "roost-pause": "pause"}
PROGRESS_DEADLINE = "3h"  # = cases.HARM_HORIZON_SECONDS (a unit test checks it)
# With onProgressDeadline: pause the rollout is held at the first tick after the
# deadline; one more minute of simulated time is enough to see it. Harm is counted to
# where the simulation stops: the hold when ``simulate`` reports the outcome "held",
# else this horizon, up to 30 s past the hold (as in the stored rows).
PAUSE_HORIZON_SECONDS = 3 * 3600.0 + 60.0
SHADOW_ARM = "roost-shadow"
SHADOW_MIRROR = 100  # percent of the requests copied to the canary in the shadow step
# The Gateway API provider: the one a shadow step needs (an HTTPRoute's RequestMirror).
SHADOW_TRAFFIC = {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "bench"}}


@dataclass(frozen=True)
class Outcome:
    outcome: str  # promoted | rolled_back | held (paused for a person) | timed_out
    reason: str
    seconds: float  # from the new revision to the decision (or promotion complete)
    harmed: float
    canary_requests: int


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:g}ms"


def roost_document(
    case: Case, seed: int, *, on_deadline: str, shadow: bool = False
) -> dict[str, Any]:
    """The shipped healthy-canary scenario's rollout (steps 10/25/50, 2 m pauses, 30 s
    analysis; ``examples/scenarios/healthy-canary.yaml``) with a 3 h progressDeadline.

    ``on_deadline`` is ``rollout.onProgressDeadline``, always written: ``rollback``,
    or ``pause`` (the API default), which holds the traffic for a person instead.
    ``shadow`` puts one shadow step first (``{mirror: SHADOW_MIRROR}``, the first
    step's pause) and the Gateway API provider in the spec; nothing else changes.
    """
    horizon = HORIZON_SECONDS if on_deadline == "rollback" else PAUSE_HORIZON_SECONDS
    latency = {"median": _ms(MEDIAN_SECONDS), "p99": _ms(HEALTHY_P99_SECONDS)}
    canary_latency = {"median": _ms(MEDIAN_SECONDS), "p99": _ms(case.canary_p99_seconds)}
    steps: list[dict[str, Any]] = [
        {"weight": 10, "pause": "2m"},
        {"weight": 25, "pause": "2m"},
        {"weight": 50, "pause": "2m"},
    ]
    model_deployment: dict[str, Any] = {
        "model": {"name": "bench", "version": "v2"},
        "sloPolicyRef": {"name": "bench"},
        "template": {"spec": {"containers": [{"name": "server", "image": "bench:v2"}]}},
    }
    if shadow:
        steps.insert(0, {"mirror": SHADOW_MIRROR, "pause": steps[0]["pause"]})
        model_deployment["traffic"] = SHADOW_TRAFFIC
    model_deployment["rollout"] = {
        "steps": steps,
        "analysisInterval": "30s",
        "progressDeadline": PROGRESS_DEADLINE,
        "onProgressDeadline": on_deadline,
    }
    return {
        "seed": seed,
        "duration": f"{int(horizon)}s",
        "traffic": {"rps": case.rps},
        "stable": {"errorRate": STABLE_ERROR_RATE, "latency": latency},
        "canary": {"errorRate": case.canary_error_rate, "latency": canary_latency},
        "metricGaps": [
            {"from": f"{int(a)}s", "to": f"{int(b)}s", "kind": "absent"} for a, b in case.gaps
        ],
        "sloPolicy": {
            "period": "30d",
            "objectives": [
                {
                    "name": "availability",
                    "target": 0.999,
                    "ratio": {
                        "errors": 'model_predictions_total{status="error"}',
                        "total": "model_predictions_total",
                    },
                },
                {
                    "name": "latency",
                    "target": 0.99,
                    "latency": {
                        "histogram": "model_request_duration_seconds",
                        "threshold": _ms(LATENCY_THRESHOLD_SECONDS),
                    },
                },
            ],
        },
        "modelDeployment": model_deployment,
    }


def run_roost(case: Case, seed: int) -> Outcome:
    """The real core with ``onProgressDeadline: rollback`` set explicitly (the arm "roost")."""
    document = roost_document(case, seed, on_deadline=ON_PROGRESS_DEADLINE["roost"])
    result = simulation.simulate(simulation.load(document))
    return Outcome(
        outcome=result.outcome,
        reason=result.reason,
        seconds=result.duration_seconds,
        harmed=result.canary_requests * case.harm_probability,
        canary_requests=result.canary_requests,
    )


def run_roost_pause(case: Case, seed: int) -> Outcome:
    """The real core with ``onProgressDeadline: pause`` set explicitly (the arm
    "roost-pause", the API default): a rollout still undecided at the deadline is
    *held* (paused with its traffic) for a person, not rolled back."""
    return _run_pause(
        case, roost_document(case, seed, on_deadline=ON_PROGRESS_DEADLINE["roost-pause"])
    )


def run_roost_shadow(case: Case, seed: int) -> Outcome:
    """The default arm's spec (``onProgressDeadline: pause``) with a 100 % shadow step
    first (the arm "roost-shadow"), in its own simulation. ``canary_requests`` and so
    ``harmed`` count only users' requests the canary answered: none during the shadow
    step, so a bad canary rolled back there harms no one."""
    on_deadline = ON_PROGRESS_DEADLINE["roost-pause"]
    document = roost_document(case, seed, on_deadline=on_deadline, shadow=True)
    return _run_pause(case, document)


def _run_pause(case: Case, document: dict[str, Any]) -> Outcome:
    """One simulation of a document with ``onProgressDeadline: pause``; a rollout held at
    the deadline is the outcome "held" at the hold."""
    result = simulation.simulate(simulation.load(document))
    harmed = result.canary_requests * case.harm_probability
    if result.outcome != "timed_out":
        return Outcome(
            result.outcome, result.reason, result.duration_seconds, harmed, result.canary_requests
        )
    # The pause is an event "RolloutPaused" whose message names the deadline (the
    # condition's reason, ProgressDeadlineExceeded, is not in the timeline).
    held = next(
        (
            e
            for e in result.timeline
            if e.kind == "RolloutPaused" and "progressDeadline" in e.message
        ),
        None,
    )
    if held is None:
        return Outcome("timed_out", result.reason, result.duration_seconds, harmed, 0)
    return Outcome("held", DEADLINE_REASON, held.at_seconds, harmed, result.canary_requests)


def run_roost_pair(case: Case, seed: int) -> dict[str, Outcome]:
    """Both Roost arms from one simulation where they cannot differ.

    The two documents differ only in ``onProgressDeadline`` (and how long the
    simulation may run past it), so up to the deadline the same seed draws the same
    traffic and reaches the same decisions. A rollout decided before the deadline is
    therefore the same outcome in both arms; one held at the deadline by the pause arm
    is rolled back at that same tick, with the same canary requests, by the other
    (``tests/unit/bench/test_canary_arms.py`` checks both against separate runs).
    Anything else, a promotion finishing past the deadline say, runs both arms.
    """
    paused = run_roost_pause(case, seed)
    deadline = durations.parse_seconds(PROGRESS_DEADLINE)
    if paused.outcome == "held":
        rolled = replace(paused, outcome="rolled_back")
    elif paused.outcome in ("promoted", "rolled_back") and paused.seconds < deadline:
        rolled = paused
    else:
        rolled = run_roost(case, seed)
    return {"roost": rolled, "roost-pause": paused}


def run_flagger(case: Case, seed: int, settings: flagger.FlaggerSettings | None = None) -> Outcome:
    """Tick 0 notices the revision; tick 1 sets ``stepWeight``; checks from tick 2 on."""
    s = settings or flagger.FlaggerSettings()
    rng = np.random.default_rng(seed)
    bins = Bins(case, rng)
    dt = s.interval_seconds
    t = dt
    bins.advance(t, 0)
    state = flagger.FlaggerState(weight=s.step_weight)
    while t < HORIZON_SECONDS:
        t += dt
        bins.advance(t, state.weight)
        if case.in_gap(t):
            check = flagger.Check(success_rate_percent=None)
        else:
            n, errors = bins.window(t, dt)
            rate = None if n == 0 else 100.0 * (n - errors) / n
            check = flagger.Check(success_rate_percent=rate, p99_seconds=bins.p99(n))
        state, action = flagger.tick(state, check, s)
        harmed = bins.canary_requests * case.harm_probability
        if action is flagger.Action.ROLLBACK:
            return Outcome("rolled_back", "FailedChecks", t, harmed, bins.canary_requests)
        if action is flagger.Action.PROMOTE:
            done = t + s.promotion_ticks * dt
            return Outcome("promoted", "Promoted", done, harmed, bins.canary_requests)
    return Outcome("timed_out", "", t, bins.canary_requests * case.harm_probability, 0)


def run_argo(case: Case, seed: int, settings: argo.ArgoSettings | None = None) -> Outcome:
    """Background analysis from ``startingStep``; an abort sends the weight to 0 at once."""
    s = settings or argo.ArgoSettings()
    rng = np.random.default_rng(seed)
    bins = Bins(case, rng)
    metrics = {"success-rate": argo.MetricState(), "latency": argo.MetricState()}
    t = argo.analysis_start(s)
    end = argo.rollout_end(s)
    while t < end:
        bins.advance(t - t % 10.0, lambda at: argo.weight_at(at, s))
        n, errors = bins.window(t - t % 10.0, s.interval_seconds)
        results: dict[str, bool | None]
        if case.in_gap(t) or n == 0:
            results = {"success-rate": None, "latency": None}
        else:
            p99 = bins.p99(n)
            results = {
                "success-rate": (n - errors) / n >= s.min_success_ratio,
                "latency": s.max_p99_seconds is None
                or (p99 is not None and p99 <= s.max_p99_seconds),
            }
        delay = s.interval_seconds
        for name, passed in results.items():
            metrics[name], next_delay = argo.measure(metrics[name], passed, s)
            delay = min(delay, next_delay)
        failed = [m for m in metrics.values() if m.phase is not argo.Phase.RUNNING]
        if failed:
            harmed = bins.canary_requests * case.harm_probability
            return Outcome("rolled_back", failed[0].phase.value, t, harmed, bins.canary_requests)
        t += delay
    bins.advance(end, lambda at: argo.weight_at(at, s))
    harmed = bins.canary_requests * case.harm_probability
    return Outcome("promoted", "Completed", end, harmed, bins.canary_requests)


def run(arm: str, case: Case, seed: int) -> Outcome:
    if arm == "roost":
        return run_roost(case, seed)
    if arm == "roost-pause":
        return run_roost_pause(case, seed)
    if arm == SHADOW_ARM:
        return run_roost_shadow(case, seed)
    if arm == "flagger":
        return run_flagger(case, seed)
    if arm == "argo":
        return run_argo(case, seed)
    raise ValueError(f"unknown arm {arm!r}")
