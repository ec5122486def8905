"""B5 section of docs/benchmarks.md from ``bench/results/live.json`` (no I/O)."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from bench.live import runs

Row = dict[str, Any]
Key = tuple[str, float, str]  # case, rps, arm
OUTCOMES = (runs.PROMOTED, runs.ROLLED_BACK, runs.HELD, runs.UNDECIDED)
WORDS = {
    runs.PROMOTED: "promoted",
    runs.ROLLED_BACK: "rolled back",
    runs.HELD: "held",
    runs.UNDECIDED: "undecided at the cap",
}

METHOD = """\
`bench/run --only live` (`bench/live/`, about an hour, not part of the default
`bench/run` nor of CI) runs the **real Flagger** and the **real Roost operator** on the
local control plane of the e2e tests (etcd, kube-apiserver, controller manager,
scheduler, kwok fake nodes, the Gateway API CRDs; `tests/harness`) with the harness's
Prometheus (scraping every 1 s). Flagger is built from the Go module proxy on first
use (`go install github.com/fluxcd/flagger/cmd/flagger@VERSION`, the pin in
`bench/live/versions.env`, into the tools cache) and runs out of cluster with
`-mesh-provider=gatewayapi:v1`, its CRDs from the module's `artifacts/flagger/crd.yaml`;
Roost runs as `roost run --all-namespaces`. Every run is one rollout of v1 → v2 in a
namespace of its own, with its own pair of simulated model servers (the e2e data plane,
`tests/harness/dataplane.py`: errors and log-normal latency drawn per request, counted
in the simulators' own counters and histograms) and its own load generator, which
sends Poisson traffic and splits it every second by the weights of the run's HTTPRoute
as the arm wrote them (Flagger's `NAME-primary` / `NAME-canary` backends, Roost's
`NAME-stable` / `NAME-canary`). All runs go at once in one cluster, the arms side by
side; the n-th run of either arm draws its requests from the same seed. Versions
behave as in B1: stable 0.04 % errors, latency median 60 ms and p99 200 ms; the canary
as the case says.

- **Flagger** ([how it works][flagger-how]): `analysis.interval` 30 s, `threshold` 5,
  `stepWeight` 10, `maxWeight` 50. With no mesh, its two checks are
  [MetricTemplates][flagger-metrics] of the Prometheus provider on the simulators'
  series: the canary version's success rate in percent (`thresholdRange.min` 99) and
  its p99 latency from the histogram with `histogram_quantile` (`thresholdRange.max`
  250 ms), both over `[30s]`. No traffic in the window makes both queries NaN, which
  Flagger counts as a failed check ("Halt advancement no values found",
  [scheduler_metrics.go][flagger-nan]).
- **Roost**: steps 10/20/30/40/50 % with 30 s pauses, `analysisInterval` 30 s,
  `progressDeadline` 3 h (never reached before the cap), the SLOPolicy's canary gate
  at its defaults (`maxBurnRate` 2, `promotionBurnRate` 5, `stepEvidence` 3,
  `minRequests` 100, `confidence` 0.99), operator tick 5 s. The SLO both arms judge
  by: 99.9 % availability and 99 % of requests under 250 ms.

**Minutes to the decision** run from the moment the new version is applied to the
first status that shows the decision, read every second: Flagger's phase `Promoting`
(its last check passed at `maxWeight`; promotion completes at `Succeeded`, shown
apart) or `Failed`; Roost's `stableVersion` = v2 (promotion) or phase `RolledBack`.
Flagger notices a new revision only at its next 30 s tick, up to one interval after
the change. **Canary requests** and **bad canary requests** are the v2 simulator's
own counts up to that moment (bad: errors; for the latency case, requests slower
than 250 ms). A rollout still undecided `CAP` minutes after its new version is
stopped and counted **undecided at the cap**, its requests counted to the cap.

**Predicted** is what the re-implementations say for the same settings and rates
(`bench/live/predict.py`): `bench/canary/flagger.py` through `bench.canary.arms.run_flagger`
(Flagger's documented analysis, not its code) and Roost's real decision core through
`roost.simulation` (the driver of `roost simulate`), on B1's traffic model with the
same case parameters, capped the same way. Their clocks start at the revision's
detection (Flagger's tick 0, Roost's first canary tick), their bad requests are the
canary's requests times the probability that one is bad (B1's estimator).

**What the predictions leave out**, by construction: the re-implemented Flagger starts
at the tick that notices the revision, counts each check's requests in exact 10 s bins,
and takes the p99 as an order statistic of the window's latencies; the real one notices
a revision at its next tick, reads `rate()` over a 30 s range whose first seconds may
hold the previous weight, and interpolates the p99 within the histogram's buckets
(100–250 ms, 250–500 ms). Roost's simulation moves only on its 30 s analysis ticks, so
its canary gets the first weight at the first tick (30 s) and each step starts on a
tick; the operator reconciles every 5 s, sets the first weight within seconds and reads
each window from Prometheus after its scrapes land. Neither models pod start-up or the
apiserver; the kwok pods here are Ready within a second or two.

[flagger-how]:
  https://github.com/fluxcd/flagger/blob/VERSION/docs/gitbook/usage/how-it-works.md
[flagger-metrics]:
  https://github.com/fluxcd/flagger/blob/VERSION/docs/gitbook/usage/metrics.md
[flagger-nan]:
  https://github.com/fluxcd/flagger/blob/VERSION/pkg/controller/scheduler_metrics.go
"""


def _outcomes(rows: Sequence[Row]) -> str:
    counts = {o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES}
    parts = [f"{WORDS[o]} {counts[o]}/{len(rows)}" for o in OUTCOMES if counts[o]]
    return ", ".join(parts) or "none"


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    at = q * (len(ordered) - 1)
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _spread(values: Sequence[float], digits: int = 1) -> str:
    """median (p10–p90)."""
    if not values:
        return "–"
    median = statistics.median(values)
    low, high = _quantile(values, 0.1), _quantile(values, 0.9)
    return f"{median:,.{digits}f} ({low:,.{digits}f}–{high:,.{digits}f})"


def _each(values: Iterable[float], digits: int = 0) -> str:
    """One value per run, in run order."""
    return " · ".join(f"{v:,.{digits}f}" for v in values) or "–"


def group(rows: Iterable[Row]) -> dict[Key, list[Row]]:
    out: dict[Key, list[Row]] = {}
    for row in rows:
        out.setdefault((row["case"], float(row["rps"]), row["arm"]), []).append(row)
    for key in out:
        out[key].sort(key=lambda r: (r.get("run", 0), r.get("seed", 0)))
    return out


def summarise(rows: Iterable[Row]) -> dict[str, Row]:
    """Per case, rate and arm (key "case|rps|arm"): counts by outcome and medians."""
    out: dict[str, Row] = {}
    for (case, rps, arm), members in group(rows).items():
        minutes = [r["decision_seconds"] / 60 for r in members]
        out[f"{case}|{rps:g}|{arm}"] = {
            "case": case,
            "rps": rps,
            "arm": arm,
            "runs": len(members),
            **{o: sum(r["outcome"] == o for r in members) for o in OUTCOMES},
            "minutes": {
                "median": statistics.median(minutes),
                "p10": _quantile(minutes, 0.1),
                "p90": _quantile(minutes, 0.9),
            },
            "canary_requests_median": statistics.median(r["canary_requests"] for r in members),
            "canary_requests_p10": _quantile([r["canary_requests"] for r in members], 0.1),
            "canary_requests_p90": _quantile([r["canary_requests"] for r in members], 0.9),
            "bad_requests_median": statistics.median(r["bad_requests"] for r in members),
        }
    return out


def _predicted(summary: Row) -> tuple[str, str, str, str]:
    runs_ = summary["runs"]
    shares = ", ".join(
        f"{WORDS[o]} {100 * summary[o] / runs_:.0f} %" for o in OUTCOMES if summary[o]
    )
    m = summary["minutes"]
    return (
        shares,
        f"{m['median']:.1f} ({m['p10']:.1f}–{m['p90']:.1f})",
        f"{summary['canary_requests_median']:,.0f} ({summary['canary_requests_p10']:,.0f}–"
        f"{summary['canary_requests_p90']:,.0f})",
        f"{summary['bad_requests_median']:,.1f}",
    )


def table(rows: Sequence[Row], predicted: dict[str, Row]) -> str:
    """One line per case, rate and arm: the live runs beside the prediction."""
    head = (
        "| case | req/s | arm | live outcome | live minutes to decision | live canary requests "
        "| live bad canary requests | predicted outcome | predicted minutes, median (p10–p90) "
        "| predicted canary requests, median (p10–p90) | predicted bad, median |"
    )
    lines = [head, "|---|---:|---|---|---|---|---|---|---|---:|---:|"]
    for (case, rps, arm), members in sorted(
        group(rows).items(), key=lambda kv: (_case_order(kv[0][0]), kv[0][1], kv[0][2])
    ):
        summary = predicted.get(f"{case}|{rps:g}|{arm}")
        cells = _predicted(summary) if summary else ("–", "–", "–", "–")
        lines.append(
            f"| {case} | {rps:g} | {arm} | {_outcomes(members)} "
            f"| {_each((r['decision_seconds'] / 60 for r in members), 1)} "
            f"| {_each(r['canary_requests'] for r in members)} "
            f"| {_each(r['bad_requests'] for r in members)} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def _case_order(case: str) -> int:
    order = list(runs.CASES.values())
    return order.index(case) if case in order else len(order)


def detection_seconds(row: Row) -> float | None:
    """When the arm's status first showed that it noticed the new version (recorded, or
    for rows without the record the first ``Progressing`` in their timeline)."""
    if "detected_seconds" in row:
        return float(row["detected_seconds"])
    for at, phase, _weight in row.get("timeline", []):
        if phase == "Progressing":
            return float(at)
    return None


def detection(rows: Sequence[Row]) -> str:
    """How long each arm took to notice the new version."""
    parts = []
    for arm in sorted({r["arm"] for r in rows}):
        seen = [d for r in rows if r["arm"] == arm and (d := detection_seconds(r)) is not None]
        if seen:
            parts.append(
                f"{arm.capitalize()} after {statistics.median(seen):.0f} s (median; "
                f"{min(seen):.0f}–{max(seen):.0f} s over {len(seen)} runs)"
            )
    if not parts:
        return ""
    return (
        "**Noticing the new version** (the status first showing the rollout): "
        + ", ".join(parts)
        + ". Flagger looks at its next 30 s analysis tick; Roost reacts to the watch "
        "event of the change. The predictions' clocks start there, so the comparison below "
        "counts the live minutes of decided runs from it."
    )


# Tolerances of the agreement check: the simulations decide on 30 s ticks, and a live
# outcome the prediction gives at least this often is not a disagreement.
TICK_MINUTES = 0.5
RARE = 0.05


def agreement(rows: Sequence[Row], predicted: dict[str, Row]) -> str:
    """Which live rows the prediction accounts for, and how the others differ."""
    agree: list[str] = []
    differ: list[str] = []
    for (case, rps, arm), members in sorted(
        group(rows).items(), key=lambda kv: (_case_order(kv[0][0]), kv[0][1], kv[0][2])
    ):
        summary = predicted.get(f"{case}|{rps:g}|{arm}")
        if summary is None:
            continue
        label = f"{case} at {rps:g} req/s, {arm}"
        reasons = []
        rare = sorted(
            {r["outcome"] for r in members if summary[r["outcome"]] < RARE * summary["runs"]}
        )
        for outcome in rare:
            share = 100 * summary[outcome] / summary["runs"]
            count = sum(r["outcome"] == outcome for r in members)
            reasons.append(f"{WORDS[outcome]} {count}/{len(members)} live, {share:.1f} % predicted")
        # Decided runs from detection; an undecided one stopped at the cap, as predicted.
        minutes = [
            r["decision_seconds"] / 60
            if r["outcome"] == runs.UNDECIDED
            else (r["decision_seconds"] - (detection_seconds(r) or 0.0)) / 60
            for r in members
        ]
        live = statistics.median(minutes)
        m = summary["minutes"]
        if not m["p10"] - TICK_MINUTES <= live <= m["p90"] + TICK_MINUTES:
            reasons.append(
                f"{live:.1f} min from detection live (median) vs {m['p10']:.1f}–{m['p90']:.1f} "
                "predicted"
            )
        (differ if reasons else agree).append(
            f"{label}: " + "; ".join(reasons) if reasons else label
        )
    total = len(agree) + len(differ)
    if not total:
        return ""
    lines = [
        f"**Live against predicted.** In {len(agree)} of {total} rows every live outcome is "
        f"one the prediction gives at least {100 * RARE:.0f} % of the time and the live "
        "median minutes from detection lie within the predicted 10th–90th percentiles "
        f"(± one {60 * TICK_MINUTES:.0f} s tick)."
    ]
    if differ:
        lines[0] += " The others:"
        lines.append("")
        lines += [f"- {line}" for line in differ]
    return "\n".join(lines)


def step_seconds(row: Row) -> list[float]:
    """Seconds between successive raises of the canary weight, from the timeline."""
    raises: list[float] = []
    top = 0
    for at, _phase, weight in row.get("timeline", []):
        if weight > top:
            raises.append(float(at))
            top = weight
    return [later - earlier for earlier, later in itertools.pairwise(raises)]


def stepping(rows: Sequence[Row]) -> str:
    """How often each arm raised the weight (both are set to a step every 30 s)."""
    parts = []
    for arm in sorted({r["arm"] for r in rows}):
        gaps = [g for r in rows if r["arm"] == arm for g in step_seconds(r)]
        if gaps:
            parts.append(
                f"{arm.capitalize()} every {statistics.median(gaps):.0f} s (median of "
                f"{len(gaps)} raises; p10–p90 {_quantile(gaps, 0.1):.0f}–"
                f"{_quantile(gaps, 0.9):.0f} s)"
            )
    if not parts:
        return ""
    return (
        "**Weight raises** (from one step's weight to the next, in the runs' timelines): "
        + ", ".join(parts)
        + ". Flagger raises at each passing 30 s check; Roost once a step's 30 s pause is "
        "over and an analysis verdict at or after its end allows the next step."
    )


def flagger_completion(rows: Sequence[Row]) -> str:
    """How long Flagger's promotions took from the decision to ``Succeeded``."""
    gaps = [
        (r["complete_seconds"] - r["decision_seconds"]) / 60
        for r in rows
        if r["arm"] == "flagger" and r["outcome"] == runs.PROMOTED and "complete_seconds" in r
    ]
    if not gaps:
        return ""
    return (
        f"Flagger's promotions reached `Succeeded` {_spread(gaps)} min (median, p10–p90 "
        f"of {len(gaps)}) after `Promoting`: the primary is rolled to the canary's spec, "
        "then takes all traffic, then the canary is scaled to zero."
    )


def section(data: dict[str, Any]) -> list[str]:
    meta, rows = data["meta"], data["rows"]
    prediction = data.get("predicted") or {}
    cap = meta["cap_minutes"]
    rates = ", ".join(f"{rate} req/s: {count}" for rate, count in meta["rates"].items())
    cpu = ", ".join(
        f"{name} {seconds:,.0f} s"
        for name, seconds in sorted(meta["cpu_seconds"].items(), key=lambda kv: -kv[1])
    )
    method = METHOD.replace("VERSION", meta["flagger_version"]).replace("`CAP`", f"{cap:g}")
    return [
        "## B5 live: the real Flagger beside Roost",
        "",
        method,
        f"Runs per arm, case and rate: {rates} (all concurrently); cap {cap:g} min; "
        f"Flagger {meta['flagger_version']}; wall time {meta['wall_seconds'] / 60:.1f} min "
        f"on {meta['machine_cpus']} cores shared with other jobs; operator code at "
        f"{meta['git_head']}"
        + (" with uncommitted edits under operator/" if meta["tree_dirty_outside_bench"] else "")
        + f". CPU time over the run by process (ours only): {cpu}. Predicted: "
        f"{prediction.get('seeds', 0)} seeds per arm, case and rate.",
        "",
        "Live values are one per run, in run order (the n-th minutes, requests and bad "
        "requests belong to the same run); predicted ones are medians with the 10th and "
        "90th percentiles over the seeds.",
        "",
        table(rows, prediction.get("summary", {})),
        "",
        detection(rows),
        "",
        stepping(rows),
        "",
        agreement(rows, prediction.get("summary", {})),
        "",
        flagger_completion(rows),
    ]
