"""Rewrite docs/benchmarks.md from the JSON results of every benchmark in SECTIONS."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import common
from bench.autoscale import demand, plan_cost, scaled
from bench.autoscale import report as autoscale_report
from bench.canary import cases as canary_cases
from bench.canary import frontier as canary_frontier
from bench.canary import report as canary_report
from bench.drift import report as drift_report
from bench.scale import report as scale_report

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"

B1_METHOD = """\
Every run is one rollout of a new version, from the moment the new revision is seen
to a decision, fed by one seeded traffic model (`bench/canary/cases.py`): Poisson
arrivals at a constant rate, a binomial split by the canary weight each arm has
applied, each request independently an error with the version's probability, latency
log-normal (median 60 ms). Stable errors 0.04 %, p99 200 ms. The SLO is 99.9 %
availability and 99 % of requests under 250 ms.

- **Roost, default (`onProgressDeadline: pause`) (real core):**
  `roost.simulation.simulate` (the `roost simulate` driver, unchanged), which calls
  `roost.analysis.verdict.analyze` and `roost.rollout.machine.decide` every 30 s
  analysis tick. Spec: the shipped `healthy-canary` scenario's rollout (steps
  10/25/50 % with 2 m pauses, analysis every 30 s, progress deadline 3 h) with
  `rollout.onProgressDeadline: pause` written explicitly (the API default): a
  rollout still without evidence at 3 h is *held* (paused, traffic kept) for a
  person, reported as "held", never as a false rollback or a promotion. The
  SLOPolicy's `canary` block is the API default (docs/decisions.md): roll back
  above `maxBurnRate` 2, promote below `promotionBurnRate` 5 (evidence from all
  steps), step up at E ≥ 3 (`stepEvidence`), the comparison rolls back only,
  confidence 0.99. The "errors 0.5 %" canary burns exactly 5 times its budget: it
  is the canary at `promotionBurnRate`, run with as many seeds as the healthy one,
  and its promotions are the achieved false-promotion rate.
- **Roost, `onProgressDeadline: rollback` (real core):** the same spec and seeds
  with `rollout.onProgressDeadline: rollback` written explicitly (the default before
  it became `pause`). Until the deadline it decides exactly as the default arm; at the
  deadline it rolls back instead of holding. So one simulation per seed serves both
  arms (`bench.canary.arms.run_roost_pair`): a rollout decided before the deadline is
  the same outcome in both, one held at the deadline is rolled back at that tick with
  the same canary requests; a unit test checks this against separate runs.
- **Roost, default with a 100 % shadow step first (real core):** the default arm's
  spec and driver with one shadow step before the weighted ones, `{mirror: 100,
  pause: 2m}` (the first weighted step's pause), behind the Gateway API provider
  (`traffic: {provider: gatewayAPI}`; the replicas provider refuses mirror steps).
  During the shadow step every request is copied to the canary and its answers are
  discarded: users get the stable's answers, and the canary's answers count as
  evidence for every gate (docs/decisions.md, Shadow steps). Its own simulation per
  seed (`bench.canary.arms.run_roost_shadow`; the mirrored copies are drawn from the
  same generator, so its traffic is not the default arm's after the first tick).
  Its canary requests, and so its harmed requests, are only the users' requests the
  canary answered in the weighted steps.
- **Flagger (re-implementation of documented behaviour, `bench/canary/flagger.py`,
  not Flagger's code):** tutorial settings interval 1m, threshold 5, stepWeight 10,
  maxWeight 50; request-success-rate ≥ 99 %; a p99 request-duration check at the
  SLO's 250 ms; a NaN / empty result (no canary requests in the minute, or a metrics
  gap) is a failed check; failedChecks cumulative; promotion complete two ticks after
  the last passing check.
- **Argo Rollouts (re-implementation of documented AnalysisRun semantics,
  `bench/canary/argo.py`, not Argo's code):** the docs' background-analysis example
  (setWeight 20/40/60/80 with 10 m pauses, analysis from startingStep 2,
  `interval: 5m`, `successCondition: result[0] >= 0.95`, `failureLimit: 3`) plus a
  p99 ≤ 250 ms metric with the same interval and limit; an empty result is a
  measurement error, retried after 10 s, and the 5th consecutive error errors the run
  (consecutiveErrorLimit 4); Failed or Error aborts at once.

The peers re-draw the same traffic model with the same seeds, but their weights
differ, so the request streams are not bit-identical across arms. **Harmed requests**
are, for every arm, the canary's realised requests until the decision times the
probability that a canary request is bad on the regressed objective (errors, or
slower than 250 ms for the latency scenario): an expectation given the realised
traffic, the same estimator for all arms. It is reported two ways. **To the
decision**: up to the promotion, rollback or hold. **Within 3 h** (the horizon H =
3 h, Roost's progressDeadline in this spec), the measure the harm goals are judged
on: a bad canary that is *promoted* at time t harms all traffic after it, so it
scores its harm to the decision + rps × (H − t) × that probability (until a person
notices; beyond H is not counted); a rolled-back one scores its harm to the decision
(the stable version serves everything after); one held for a person at the deadline
(the pause arm) scores its harm to the hold (its decision is at H). Counted to the
decision only, a peer that promotes a bad canary early would score less harm than an
arm that rolls it back. The canary traffic of Flagger's two promotion ticks (after
its last check) is in neither measure (in its favour). Horizon harm is defined only
for bad scenarios: a healthy canary's "harm" is the stable error rate, which the
stable version would cause too.
"No-evidence deadline" rollbacks are Roost's `ProgressDeadlineExceeded` /
`NoDataDeadline`: it refuses to promote without enough evidence. The intermittent
no-data scenario removes all metrics for 2 minutes in every 15 (from minute 5).
"""

B2_METHOD = """\
A request-level discrete-event simulator (`roost.replay.sim`): replicas with
K = 4 slots and a local FIFO queue each, service times log-normal with mean 100 ms
and CV 0.3, least-request or random routing in front, pod start-up uniform in
45–75 s (cost from creation), scale-down drains. Metrics pipeline: Prometheus scrape
every 15 s (in-flight gauge; request counter for `rate[2m]`), CPU as metrics-server
15 s window averages (`cpu = 10 % + 90 % × busy slots / K`, capped at the request);
the HPA syncs every 15 s at a random phase. SLO: a request is good at ≤ 300 ms; a
violation minute is a minute (by arrival) whose p99 exceeds 300 ms. Traces
(`bench/autoscale/traces.py`, 45 min each, seeded): diurnal cycle compressed, with 3×
bursts; steady 15 req/s with 4× bursts; flash crowd 10 → 50 req/s within 30 s for
15 min; ramp 5 → 60 req/s. Each (trace, routing, policy) is run with seeds 0..N−1.

Policies (`roost.replay.policies`): **Roost** re-plans every 60 s with
`roost.capacity.plan_capacity` (λ = scraped `rate[2m]`, S = 100 ms, K = 4, wait budget
= SLO − 2·S at p99) and writes `build_hpa_spec` (minReplicas = plan, Roost's
behavior: scale up by +100 % or +4 pods per 60 s, about one pod start-up), run by the
restated HPA, in both of the spec's metric shapes: the default in-flight-per-pod Pods
target (L_max(N*)/N*, the in-flight count per pod at the highest rate the planned
replicas carry within the wait budget) and the recommended-replicas External metric;
the in-flight variant twice, with the API's default `serviceTimeCv: 1` (M/M/c) and
with `serviceTimeCv: 0.3` declared (the simulator's CV, as a user who measured the
service times would, or as the operator learns it from the latency histogram;
Allen–Cunneen), and with a surge reserve, `burstFactor` 2 and 4 (the plan for 2×
and 4× the measured rate), and with both, CV 0.3 and `burstFactor` 2;
**CPU HPA** at 50–90 % (default behavior); **KEDA-style** External AverageValue on
`rate[2m]` with ρ·K/S req/s per pod, ρ ∈ {0.5, 0.7, 0.9}; **KPA-like** concurrency
target K·TU with 60 s stable / 6 s panic windows and scale-down rate 2; **static**
at the plan for the trace's peak rate at the model's true CV 0.3 (a bound, not a
baseline). The HPA is
`roost.replay.hpa`, tested against the reference's vectors V1–V9
(`tests/unit/replay/test_hpa_vectors.py`). Simplifications: no CPU initialisation
period nuance (a pod that is not Ready is unready, a Ready pod without a sample is
missing), no KEDA polling cache, no forecast in Roost's re-plan.
"""


def _wall(*paths: Path | None) -> float:
    total = 0.0
    for path in paths:
        if path is not None and path.exists():
            total += float(json.loads(path.read_text())["meta"]["wall_seconds"])
    return total


def _canary_section(data: dict[str, Any], img: Path) -> list[str]:
    meta, rows = data["meta"], data["rows"]
    imgs = canary_report.plot(rows, img)
    return [
        "## B1 canary decision quality",
        "",
        B1_METHOD,
        f"Runs: {meta['healthy_runs']} seeds (0..{meta['healthy_runs'] - 1}) per traffic "
        f"level for the healthy scenario and the canary at promotionBurnRate "
        f"({canary_report.AT_PROMOTION_BURN_RATE}), {meta['bad_runs']} per level for the "
        "others; "
        f"wall time {meta['wall_seconds'] / 60:.1f} min on {meta['workers']} workers; "
        + common.provenance_text(meta)
        + "; "
        "CPU per run: "
        + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in meta["cpu_seconds_per_run"].items())
        + "."
        + _merged_text(meta),
        "",
        "### Goals",
        "",
        "Promotion at low traffic, speed at high traffic, and bad canaries kept out "
        "(issue 21), for the default arm:",
        "",
        canary_report.promotion_goals(rows, interval_minutes=0.5),
        "",
        "False rollbacks and harm, with each `onProgressDeadline`:",
        "",
        canary_report.summary(rows),
        "",
        canary_report.goals(rows),
        "",
        *[f"![{Path(i).stem}]({i})" for i in imgs],
        "",
        *_shadow_section(rows),
        *_frontier_section(rows, img),
        "### Per scenario and traffic level",
        "",
        canary_report.tables(rows),
    ]


SHADOW_TEXT = """\
A shadow step first trades load for evidence. While it lasts the canary answers a copy
of every request and no user sees its answers, so a bad canary rolled back in it harms
no one by construction. It also gathers evidence ten times as fast as the 10 % first
weighted step, and the evidence carries on into the weighted steps: that, not anything
particular to mirroring, is why decisions come sooner at low traffic (a first weighted
step at 100 % would decide as fast, on users). At 100 req/s and above the default
arm's evidence too is there within the pauses, and the extra 2 m step makes a healthy
canary's promotion slightly slower (net of the quicker first weighted step; see the
table). What the table does not charge: a 100 % shadow step doubles the load the model
serves (the canary is sized for all requests while the stable keeps its whole plan),
which the simulator treats as free as it does every canary (no start-up time, no
dropped copies), and a server with side effects performs them twice. The simulator
draws the canary's answers to the copies independently of the stable's answers to the
same requests; real versions tend to fail together on hard inputs, which these numbers
do not show in either direction: the comparison with the stable, which treats the two
as independent, stays valid but is weaker than a test that used the pairing would be
(docs/decisions.md; reasoned, not measured). Nothing that depends on users receiving
the canary's answers (feedback, retries, downstream effects) is modelled; a weighted
step after the shadow step is where that shows, and every canary in this arm that is
promoted went through all three weighted steps. Times to the decision are among the
runs that reached it; the two arms' runs share seed numbers, not draws, so the
differences are of independent samples. In the harm plot a mean of 0 is drawn at 0.1
(log scale). The frontier below is for the default arm's steps (10 / 25 / 50 %); the
shadow arm sees all requests in its first step, so those lines are not its limit."""

FRONTIER_TEXT = """\
How close is Roost to the limit? For the binding objective (availability, 99.9 %, a
healthy canary at the stable's 0.04 % errors, burn 0.4), the canary requests until
H0 "the canary burns at least k times its budget" is rejected at α = 1 %: Wald's
lower bound on any sequential test's mean, the median of Wald's SPRT knowing the
canary's true rate (the best possible with that knowledge), and the median of the
mixture Roost runs without knowing it (`bench/canary/frontier.py`, 2,000 seeded
request streams per row, the same streams for both medians). The default is
k = 5."""


def _merged_text(meta: dict[str, Any]) -> str:
    """The arms run apart and merged into the stored rows (``replay --merge``)."""
    out = ""
    for kind, run in meta.get("merged", {}).items():
        cpu = run["cpu_seconds_per_run"][kind]
        out += (
            f" The arm {kind} was run apart and merged into these rows, the others' kept: "
            f"{run['healthy_runs']} / {run['bad_runs']} seeds per level (the same seed "
            f"numbers), wall time {run['wall_seconds'] / 60:.1f} min on {run['workers']} "
            f"worker{'s' if run['workers'] != 1 else ''}; {common.provenance_text(run)}; "
            f"CPU per run {cpu * 1000:.1f} ms."
        )
    return out


def _shadow_section(rows: list[dict[str, Any]]) -> list[str]:
    if not any(r["arm"] == canary_report.SHADOW_ARM for r in rows):
        return []
    return [
        "### A shadow step first",
        "",
        SHADOW_TEXT,
        "",
        canary_report.shadow_summary(rows),
        "",
        canary_report.shadow_table(rows),
        "",
    ]


def _frontier_section(rows: list[dict[str, Any]], img: Path) -> list[str]:
    results = [canary_frontier.frontier(k) for k in canary_frontier.NULLS]
    default = next(f for f in results if f.burn_rate == 5.0)
    lines = {
        "limit: known-rate test, steps on their pauses (k = 5)": [
            canary_frontier.seconds_to_collect(default.known_rate_median, rps) / 60
            for rps in canary_cases.TRAFFIC_LEVELS
        ],
        "Roost's mixture, steps on their pauses (k = 5)": [
            canary_frontier.seconds_to_collect(default.roost_median, rps) / 60
            for rps in canary_cases.TRAFFIC_LEVELS
        ],
    }
    image = canary_report.plot_promotion_time(rows, img, lines)
    minutes = ", ".join(
        f"{m:.1f} at {rps:g} req/s"
        for rps, m in zip(canary_cases.TRAFFIC_LEVELS, lines[next(iter(lines))], strict=True)
    )
    return [
        "### The frontier",
        "",
        FRONTIER_TEXT,
        "",
        canary_frontier.table(results),
        "",
        "In time, for B1's steps (10 / 25 / 50 %, 2 m pauses, the last pause included): "
        "a rule that stepped at the end of each pause and promoted on the known-rate test's "
        f"median evidence would promote after {minutes} minutes. Roost also waits for its "
        "step evidence (E ≥ 3) at each step, which at 1 req/s is most of its time at "
        "10 %; the plot shows both.",
        "",
        f"![{Path(image).stem}]({image})",
        "",
    ]


def _autoscale_section(data: dict[str, Any], img: Path) -> list[str]:
    meta, rows = data["meta"], data["rows"]
    imgs = autoscale_report.plot(rows, img)
    return [
        "## B2 autoscaling",
        "",
        B2_METHOD,
        f"Runs: {meta['runs']} ({meta['seeds']} seeds per point, 95 % Student-t "
        f"intervals); wall time {meta['wall_seconds'] / 60:.1f} min on "
        f"{meta['workers']} workers; " + common.provenance_text(meta) + ".",
        "",
        "### Goals",
        "",
        autoscale_report.goals(rows),
        "",
        "### Pareto fronts (x: replica-hours, y: SLO-violation minutes)",
        "",
        *[f"![{Path(i).stem}]({i})" for i in imgs],
        "",
        "### Per trace and routing",
        "",
        autoscale_report.tables(rows),
    ]


def _live_section(data: dict[str, Any], img: Path) -> list[str]:
    """B5, the real Flagger beside Roost (``bench/run --only live``; no plots)."""
    from bench.live import report as live_report

    return live_report.section(data)


# One entry per benchmark: its results file (under bench/results/) and the function
# that turns the parsed JSON into Markdown lines (writing plots under `img`). A
# benchmark whose file is missing is left out of the page. Add new benchmarks here.
Section = Callable[[dict[str, Any], Path], list[str]]
SECTIONS: list[tuple[str, Section]] = [
    ("canary.json", _canary_section),
    ("autoscale.json", _autoscale_section),
    ("plancost.json", plan_cost.section),
    ("autoscale-scaled.json", scaled.section),
    ("autoscale-demand.json", demand.section),
    ("scale.json", scale_report.section),
    ("drift.json", drift_report.section),
    ("live.json", _live_section),
]


def write(
    results: Path,
    total_seconds: float | None,
    *,
    doc: Path = DOC,
    img: Path = IMG,
) -> None:
    present = [(results / name, section) for name, section in SECTIONS if (results / name).exists()]
    missing = [name.removesuffix(".json") for name, _ in SECTIONS if not (results / name).exists()]
    trio = [results / name for name in ("canary.json", "autoscale.json", "scale.json")]
    drift = results / "drift.json"
    parts = [
        "# Benchmarks",
        "",
        "Generated by `bench/run` (issue 7); do not edit by hand. "
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {common.git_head()} on "
        f"{platform.machine()}, Python {platform.python_version()}"
        + f"; wall time of the B1-B3 runs on record: {_wall(*trio) / 60:.1f} min"
        + (f" (this invocation: {total_seconds / 60:.1f} min)" if total_seconds else "")
        + (
            f"; B4: {_wall(drift) / 60:.1f} min (rerun with `--with-drift`)."
            if drift.exists()
            else "."
        ),
        "",
        "Outcomes are measured, never asserted in tests."
        + (f" No results on record for: {', '.join(missing)}." if missing else ""),
        "",
    ]
    for path, section in present:
        parts += section(json.loads(path.read_text()), img)
        parts.append("")
    doc.write_text("\n".join(parts).rstrip() + "\n")
