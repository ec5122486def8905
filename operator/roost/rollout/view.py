"""``roost status``: a rollout as a tree, read from a ModelDeployment body (pure)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from roost.api.modeldeployment import (
    Forecast,
    GateEvidence,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    ServiceTimeStatus,
)
from roost.rollout import forecast

_MARKS = {"done": "✔", "current": "▶", "next": " "}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _needs(gate: GateEvidence, outlook: Forecast | None) -> str:
    """While a burnRate gate's promotion test waits: how many more requests it needs,
    and, from the forecast, how long that takes at the canary's current traffic."""
    if gate.gate != "burnRate" or gate.outcome != "inconclusive":
        return ""
    if gate.requests_to_pass is None:
        return "; cannot pass at its observed bad ratio"
    text = f"; ~{math.ceil(gate.requests_to_pass):,} more requests to pass"
    mine = next(
        (o for o in (outlook.objectives if outlook else []) if o.objective == gate.objective),
        None,
    )
    if mine is not None and mine.promotable_in_seconds is not None:
        text += f" ({forecast.about(mine.promotable_in_seconds)})"
    return text


def _service_time(service: ServiceTimeStatus) -> str:
    """ "44 ms learned from 12,345 requests in 1h, CV 0.33 learned (fit 0.31, 95 % 0.29-0.33,
    gamma)"; a note says why nothing was learned."""
    seconds = f"{service.seconds * 1000:.3g} ms {service.seconds_from}"
    if service.seconds_from == "learned" and service.requests is not None:
        seconds += f" from {service.requests:,.0f} requests in {service.window}"
    cv = f"CV {service.cv:.2g} {service.cv_from}"
    if service.learned_cv is not None and service.learned_cv_interval is not None:
        low, high = service.learned_cv_interval
        cv += f" (fit {service.learned_cv:.2f}, 95 % {low:.2f}-{high:.2f}, {service.family})"
    note = f"; {service.note}" if service.note else ""
    return f"{seconds}, {cv}{note}"


def render_tree(body: dict[str, Any]) -> str:
    meta = body.get("metadata", {})
    lines = [f"Name:        {meta.get('name')}", f"Namespace:   {meta.get('namespace')}"]
    try:
        spec = ModelDeploymentSpec.model_validate(body.get("spec", {}))
    except ValidationError as error:
        lines.append(f"Spec:        invalid ({error.errors()[0]['msg']})")
        return "\n".join(lines)
    fields = ModelDeploymentStatus.model_fields
    known = {info.alias or n for n, info in fields.items()}
    raw_status = {k: v for k, v in (body.get("status") or {}).items() if k in known}
    status = ModelDeploymentStatus.model_validate(raw_status)
    phase = status.phase.value if status.phase else "Unknown"
    lines.append(f"Phase:       {phase}  {status.message[:160]}")
    lines.append(
        f"Stable:      {status.stable_version or '-'} (revision {status.stable_revision or '-'})"
    )
    lines.append(
        f"Canary:      {status.canary_version or '-'} (revision {status.canary_revision or '-'})"
    )
    weight = status.canary_weight
    effective = "" if weight.effective is None else f", effective {weight.effective}%"
    lines.append(f"Weight:      desired {weight.desired}%, applied {weight.applied}%{effective}")
    if weight.desired_mirror or weight.applied_mirror:
        lines.append(
            f"Mirror:      desired {weight.desired_mirror}%, applied {weight.applied_mirror}% "
            "of requests copied to the canary (answers discarded)"
        )
    lines.append("Steps:")
    for index, step in enumerate(spec.rollout.steps):
        if status.canary_revision is None:
            state = "next"
        elif index < status.current_step:
            state = "done"
        elif index == status.current_step:
            state = "current"
        else:
            state = "next"
        pause = f"  pause {step.pause}" if step.pause else ""
        if step.match is not None:
            what = "match " + ", ".join(f"{h.name}: {h.value}" for h in step.match.headers)
        elif step.mirror:
            what = f"mirror {step.mirror}%"
        else:
            what = f"weight {step.weight}%"
        lines.append(f"  {_MARKS[state]} {index + 1}. {what}{pause}")
    analysis = status.last_analysis
    if analysis is not None:
        lines.append(
            f"Analysis:    {analysis.verdict} ({analysis.reason}) at "
            f"{analysis.at.isoformat(timespec='seconds')}, step {analysis.step + 1}, "
            f"weight {analysis.canary_weight}%"
        )
        for gate in analysis.gates:
            if gate.distribution is not None:
                d = gate.distribution
                lines.append(
                    f"  {gate.objective + '/' + gate.gate:<28} {gate.outcome:<12} "
                    f"{d.statistic} {_fmt(d.value)} (fails at {_fmt(d.threshold)}), "
                    f"PSI {_fmt(d.psi)}, KS {_fmt(d.ks)}; "
                    f"{round(gate.canary.total) if gate.canary else 0} canary predictions; "
                    f"ln E fail {_fmt(gate.ln_e_fail)}/{_fmt(gate.fail_threshold)}"
                )
                continue
            counts = (
                f"{round(gate.canary.bad)}/{round(gate.canary.total)}" if gate.canary else "0/0"
            )
            stepping = ""
            if gate.ln_e_step is not None and gate.step_threshold is not None:
                stepping = f", step {_fmt(gate.ln_e_step)}/{_fmt(gate.step_threshold)}"
            lines.append(
                f"  {gate.objective + '/' + gate.gate:<28} {gate.outcome:<12} canary burn "
                f"{_fmt(gate.burn_rate)} ({counts} bad), "
                f"stable burn {_fmt(gate.stable_burn_rate)}; "
                f"ln E fail {_fmt(gate.ln_e_fail)}/{_fmt(gate.fail_threshold)}, "
                f"pass {_fmt(gate.ln_e_pass)}/{_fmt(gate.pass_threshold)}{stepping}"
                + _needs(gate, analysis.forecast)
            )
        if analysis.forecast is not None:
            lines.append(f"Forecast:    {forecast.describe(analysis.forecast)}")
    if status.capacity is not None:
        cap = status.capacity
        lines.append(
            f"Capacity:    {cap.arrival_rate:.1f} req/s -> stable {cap.stable_replicas}, canary "
            f"{cap.canary_replicas} replicas (P(wait) {cap.p_wait:.3f})"
        )
        if cap.service_time is not None:
            lines.append(f"Service time: {_service_time(cap.service_time)}")
    if status.drift:
        lines.append("Drift watch:")
        for watch in status.drift:
            lines.append(f"  {watch.name:<20} {watch.stage:<20} {watch.version}: {watch.message}")
    conditions = ", ".join(f"{c.type}={c.status.value} ({c.reason})" for c in status.conditions)
    lines.append(f"Conditions:  {conditions or '-'}")
    return "\n".join(lines)
