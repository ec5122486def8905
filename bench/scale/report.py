"""B3 section of docs/benchmarks.md from ``bench/results/scale.json``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

Row = dict[str, Any]
GOAL_N = 1000
GOAL_TICK_P99_S = 2.0
GOAL_QUERIES_PER_SLI = 1.0
GOAL_RSS_MB = 300.0
GOAL_FIRST_WEIGHT_S = 2.0
PHASES = ("idle", "rollout", "analysing")

METHOD = """\
`bench/scale/driver.py` on the local control plane of the e2e tests (etcd,
kube-apiserver, controller manager, scheduler, kwok; `tests/harness`), Prometheus
from the same harness, and the operator as a real process (`roost run --tick 5s
--standalone`, INFO logging, one replica, the code of the commit named below).
For each N, a fresh namespace holds one SLOPolicy (availability ratio and latency
histogram objectives, `rolloutGuard.minBudgetRemaining: 0.1`) and N
ModelDeployments with the **replicas traffic provider** (no Gateway or HTTPRoute
needed) and `replicas: 0` (the operator's work is the same; N × 2 kwok pods would not
fit the two fake nodes), `analysisInterval: 10s`, steps 10 % and 50 % with 1 h
pauses. **One** synthetic exporter process (`bench/scale/exporter.py`) serves
`model_predictions_total` and `model_request_duration_seconds` (the e2e data
plane's names and buckets) for all N models × 2 versions, scraped every 5 s as one
target. Phases: *idle* (every ModelDeployment stable at v1), *rollout*
(all N patched to v2 at once, until every one has `canaryWeight.applied > 0`),
*analysing* (every canary at step 1, analysed every window), then *one at a time*:
10 of the N, spread over the namespace, patched to v3 one every 3 s while the others
go on analysing (a new version replaces the running canary), the latency a user sees
when one model changes.

Measured from counter deltas: **tick** = `roost_tick_duration_seconds` (one
ModelDeployment's reconcile in the handler, quantiles interpolated from the
histogram's buckets as `histogram_quantile` does), and the achieved **tick
period** = N × phase seconds / ticks (5 s when the operator keeps up);
**operator CPU** from `/proc/<pid>/stat` (user + system, all threads);
**Prometheus queries** from Prometheus's own `prometheus_http_requests_total
{handler=~"/api/v1/query.*"}` (the operator is its only client), and of those the
analysis windows' from the operator's `roost_prometheus_queries_total` (the rest is
its spec check, one bucket-bounds query per SLOPolicy a minute), per SLI per
10 s window; **apiserver requests** counted in the operator process itself (an
HTTP-client hook loaded only by the benchmark, `bench/scale/hook/`: kopf's
aiohttp and the kubernetes client's urllib3), per tick; **RSS** from
`/proc/<pid>/status` every second; **new version → first weight** from each
object's PATCH to the first watch event with `canaryWeight.applied > 0`.
The machine has 2 cores shared with other jobs during the run, so times carry
noise; counts do not.
"""


# The top finite bucket of roost_tick_duration_seconds and roost_analysis_duration_seconds:
# a quantile there means "at least this long".
TOP_BUCKET_S = 30.0


def _s(value: Any, digits: int = 2) -> str:
    """A duration quantile from a histogram; one in the +Inf bucket is shown as ≥ 30."""
    if isinstance(value, float) and not math.isnan(value) and value >= TOP_BUCKET_S:
        return f"≥ {TOP_BUCKET_S:g}"
    return _f(value, digits)


def _f(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def rss_mb(row: Row) -> float | None:
    samples = row.get("rss_bytes") or []
    return max(samples) / 2**20 if samples else None


def _row(rows: list[Row], n: int) -> Row | None:
    return next((r for r in rows if r["n"] == n), None)


def goals(data: dict[str, Any]) -> str:
    rows: list[Row] = data["rows"]
    complete = [r for r in rows if "analysing" in r]
    if not complete:
        return "No size completed."
    largest = max(complete, key=lambda r: r["n"])
    n = largest["n"]
    analysing = largest["analysing"]
    weight = largest.get("first_weight_seconds") or {}
    single = largest.get("single_first_weight_seconds") or {}
    rss = rss_mb(largest)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    tick = analysing["tick_p99_s"]
    queries = analysing["queries_per_sli_per_window"]
    first = weight.get("p99")
    single_max = single.get("max") if single.get("weighted") == single.get("patched") else None
    period = analysing.get("mean_tick_period_s") or math.inf
    idle_period = (largest.get("idle") or {}).get("mean_tick_period_s") or math.inf
    tick_s = data["meta"].get("tick_seconds", 5.0)
    # One replica carries N if it keeps the tick while analysing every canary.
    keeps_up = n >= GOAL_N and period <= 1.2 * tick_s
    return "\n".join(
        [
            f"- 1,000 ModelDeployments on one replica: {verdict(keeps_up)} (largest N "
            f"measured: {n:,}; every one stable "
            f"{_f(largest.get('all_stable_seconds'), 0)} s after start and every canary "
            f"weighted {_f(weight.get('all_weighted_seconds'), 0)} s after the patch; the "
            f"achieved tick period is {_f(idle_period, 1)} s idle and {_f(period, 1)} s "
            f"while analysing, for a {tick_s:g} s `--tick`)",
            f"- analysis tick p99 < {GOAL_TICK_P99_S:g} s at N = {n:,}: "
            f"{verdict(tick < GOAL_TICK_P99_S)} (p99 {_s(tick)} s, p50 "
            f"{_s(analysing['tick_p50_s'], 3)} s; window read p99 "
            f"{_s(analysing.get('analysis_p99_s'))} s; during the rollout burst of {n:,} new "
            f"versions p99 {_s((largest.get('rollout') or {}).get('tick_p99_s'))} s)",
            f"- ≤ {GOAL_QUERIES_PER_SLI:g} Prometheus query per SLI per analysis window: "
            f"{verdict(queries <= GOAL_QUERIES_PER_SLI + 0.05)} ({_f(queries)} per SLI per "
            f"window while analysing; {_f(analysing['queries_per_tick'], 3)} per tick; "
            f"all queries {_f(analysing['prometheus_queries'], 0)}, window reads "
            f"{_f(analysing.get('window_queries'), 0)})",
            f"- operator RSS < {GOAL_RSS_MB:g} MB: "
            f"{verdict(rss is not None and rss < GOAL_RSS_MB)} (peak {_f(rss, 0)} MB)",
            f"- new version → first canary weight < {GOAL_FIRST_WEIGHT_S:g} s, one new "
            f"version at a time while the other {n - 1:,} analyse: "
            f"{verdict(single_max is not None and single_max < GOAL_FIRST_WEIGHT_S)} "
            f"({single.get('weighted', 0)} of {single.get('patched', 0)} weighted, "
            f"{_f(data['meta'].get('single_spacing'), 0)} s apart: p50 "
            f"{_f(single.get('p50'), 2)} s, max {_f(single.get('max'), 2)} s)",
            f"- the same with all {n:,} patched at once (a throughput test: every object "
            f"needs two ticks): "
            f"{verdict(first is not None and first < GOAL_FIRST_WEIGHT_S)} (p50 "
            f"{_f(weight.get('p50'), 1)} s, p99 {_f(first, 1)} s)",
        ]
    )


def table(row: Row) -> str:
    lines = [
        f"#### N = {row['n']:,}",
        "",
        "| | " + " | ".join(p for p in PHASES) + " |",
        "|---|" + "---|" * len(PHASES),
    ]
    metrics = [
        ("phase length (s)", "seconds", 0),
        ("ticks per s (N / 5 s if keeping up)", "ticks_per_s", 1),
        ("achieved tick period (s)", "mean_tick_period_s", 2),
        ("operator CPU (cores)", "operator_cpu_cores", 2),
        ("operator CPU per tick (ms)", "cpu_ms_per_tick", 1),
        ("tick p50 (s)", "tick_p50_s", -3),
        ("tick p99 (s)", "tick_p99_s", -3),
        ("analysis reads / window read p99 (s)", None, 0),
        ("status patches sent / held / skipped", None, 0),
        ("Prometheus queries: all / window reads", None, 0),
        ("queries per SLI per 10 s window", "queries_per_sli_per_window", 2),
        ("apiserver requests per tick (operator)", "apiserver_per_tick", 2),
        ("apiserver requests per s (operator)", "apiserver_per_s", 1),
    ]
    for label, key, digits in metrics:
        cells = []
        for phase in PHASES:
            p = row.get(phase) or {}
            if label.startswith("analysis reads"):
                cells.append(f"{_f(p.get('analysis_reads'), 0)} / {_s(p.get('analysis_p99_s'), 3)}")
            elif label.startswith("Prometheus queries"):
                cells.append(
                    f"{_f(p.get('prometheus_queries'), 0)} / {_f(p.get('window_queries'), 0)}"
                )
            elif label.startswith("status patches"):
                held = p.get("patches_held")  # runs before the checkpoint: none
                cells.append(
                    f"{_f(p.get('patches_sent'), 0)} / {_f(held, 0) if held is not None else '-'}"
                    f" / {_f(p.get('patches_skipped'), 0)}"
                )
            else:
                assert key is not None
                # negative digits: a histogram quantile (capped at the top bucket)
                cells.append(_s(p.get(key), -digits) if digits < 0 else _f(p.get(key), digits))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    weight = row.get("first_weight_seconds") or {}
    single = row.get("single_first_weight_seconds") or {}
    rss = rss_mb(row)
    lines += [
        "",
        f"Start-up: {row['n']:,} created in {_f(row.get('create_seconds'), 1)} s; every one "
        f"stable {_f(row.get('all_stable_seconds'), 0)} s after the operator started. "
        f"New version → first weight: p50 {_f(weight.get('p50'), 2)} s, p99 "
        f"{_f(weight.get('p99'), 2)} s, max {_f(weight.get('max'), 2)} s "
        f"({weight.get('weighted', 0)} of {weight.get('patched', 0)} weighted); one at a "
        f"time while the others analyse: p50 {_f(single.get('p50'), 2)} s, max "
        f"{_f(single.get('max'), 2)} s ({single.get('weighted', 0)} of "
        f"{single.get('patched', 0)} weighted). "
        f"Operator RSS peak {_f(rss, 0)} MB. Operator's apiserver requests while analysing: "
        + ", ".join(
            f"{k} {v:.0f}"
            for k, v in ((row.get("analysing") or {}).get("operator_api_by_client") or {}).items()
        )
        + ".",
    ]
    for phase in ("rollout", "analysing"):
        if text := _machine((row.get(phase) or {}).get("machine_cpu_cores")):
            lines += ["", f"CPU of the machine's processes during {phase} (cores of 2): {text}."]
    for label, measured in (("All at once", weight), ("One at a time", single)):
        if text := _stages(measured.get("stages")):
            lines += ["", f"{label}, where the time went (p50 / max): {text}."]
    if row.get("error"):
        lines += ["", f"**Incomplete:** {row['error']}."]
    return "\n".join(lines)


def _machine(cores: dict[str, float] | None, top: int = 8) -> str:
    """The busiest processes and the total, e.g. "kube-apiserver 0.61, etcd 0.20, ..."."""
    if not cores:
        return ""
    ranked = sorted(cores.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{name} {value:.2f}" for name, value in ranked[:top])
    return f"{shown}; all {sum(cores.values()):.2f}"


def _summary(rows: list[Row]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        a = row.get("analysing") or {}
        i = row.get("idle") or {}
        w = row.get("first_weight_seconds") or {}
        out[row["n"]] = {
            "idle tick period": i.get("mean_tick_period_s"),
            "idle api/tick": i.get("apiserver_per_tick"),
            "idle CPU ms/tick": i.get("cpu_ms_per_tick"),
            "analysing CPU ms/tick": a.get("cpu_ms_per_tick"),
            "analysing api/tick": a.get("apiserver_per_tick"),
            "analysing tick p99": a.get("tick_p99_s"),
            "analysing tick period": a.get("mean_tick_period_s"),
            "analysing queries/SLI/window": a.get("queries_per_sli_per_window"),
            "first weight p50": w.get("p50"),
            "first weight p99": w.get("p99"),
            "one at a time: first weight max": (row.get("single_first_weight_seconds") or {}).get(
                "max"
            ),
            "RSS MB": rss_mb(row),
        }
    return out


def _run_name(meta: dict[str, Any]) -> str:
    label = meta.get("label")
    return (
        f"{label} ({meta.get('git_head')})"
        if label
        else f"this run, code at {meta.get('git_head')}"
    )


def history(data: dict[str, Any]) -> str:
    runs = [*data.get("history", []), {"meta": data["meta"], "rows": data["rows"]}]
    if len(runs) < 2:
        return ""
    keys = list(next(iter(_summary(runs[-1]["rows"]).values()), {}).keys())
    lines = [
        "| run (code) | N | " + " | ".join(keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for run in runs:
        meta = run["meta"]
        for n, summary in sorted(_summary(run["rows"]).items()):
            lines.append(
                f"| {_run_name(meta)} "
                f"| {n:,} | "
                + " | ".join((_s if "tick p99" in k else _f)(summary[k], 2) for k in keys)
                + " |"
            )
    for run in runs:
        for row in run["rows"]:
            if row.get("error"):
                label = run["meta"].get("label") or "this run"
                lines.append(f"\n{label}, N = {row['n']:,}, stopped: {row['error']}.")
    return "\n".join(lines)


def plot(data: dict[str, Any], img_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [*data.get("history", []), {"meta": data["meta"], "rows": data["rows"]}]
    panels = [
        ("analysing: tick p99 (s)", lambda r: (r.get("analysing") or {}).get("tick_p99_s")),
        (
            "analysing: apiserver req. per tick",
            lambda r: (r.get("analysing") or {}).get("apiserver_per_tick"),
        ),
        (
            "one new version at a time: first weight max (s)",
            lambda r: (r.get("single_first_weight_seconds") or {}).get("max"),
        ),
        (
            "all N at once: first weight p99 (s)",
            lambda r: (r.get("first_weight_seconds") or {}).get("p99"),
        ),
        ("operator RSS peak (MB)", rss_mb),
    ]
    goals = [GOAL_TICK_P99_S, None, GOAL_FIRST_WEIGHT_S, None, GOAL_RSS_MB]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.8))
    for ax, (title, value), goal in zip(axes, panels, goals, strict=True):
        for run in runs:
            points = [(r["n"], value(r)) for r in run["rows"]]
            points = [(n, v) for n, v in points if v is not None and not math.isnan(v)]
            if points:
                xs, ys = zip(*sorted(points), strict=True)
                ax.plot(xs, ys, marker="o", label=run["meta"].get("label") or "this run")
        if goal is not None:
            ax.axhline(goal, color="grey", linestyle="--", linewidth=1, label="goal")
        ax.set_xscale("log")
        ax.set_xlabel("ModelDeployments")
        ax.set_title(title, fontsize=9)
    # One legend under the panels: the runs' labels are long.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    img_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(img_dir / "scale.png", dpi=110)
    plt.close(fig)
    return ["img/scale.png"]


def section(data: dict[str, Any], img: Path) -> list[str]:
    meta, rows = data["meta"], data["rows"]
    imgs = plot(data, img)
    compared = history(data)
    if compared:
        compared = (
            "Earlier rows are runs kept in `bench/results/scale-history/` from before a "
            "fix, named by what their code did and its commit (same driver, same machine); "
            "the last rows are this run.\n\n" + compared
        )
    return [
        "## B3 operator scale",
        "",
        METHOD,
        "Sizes: " + ", ".join(f"{r['n']:,}" for r in rows) + "; wall time "
        f"{meta['wall_seconds'] / 60:.1f} min; operator code at {meta.get('git_head', '?')}"
        + (f" ({meta['label']})" if meta.get("label") else "")
        + ".",
        "",
        "### Goals",
        "",
        goals(data),
        "",
        *[f"![{Path(i).stem}]({i})" for i in imgs],
        "",
        *(["### Before and after the fixes", "", compared, ""] if compared else []),
        "### Per size",
        "",
        *[table(r) + "\n" for r in rows],
    ]


STAGES = (
    ("to_start", "spec patch → the operator's tick started the rollout"),
    ("to_weight", "→ first weight applied (canary Deployment created and ready)"),
    ("to_seen", "→ the status with it seen by the driver's watch"),
)


def _stages(stages: dict[str, list[float | None]] | None) -> str:
    """Seconds per stage of the rollouts (runs before the stages were recorded: none)."""
    if not stages:
        return ""
    parts = []
    for key, label in STAGES:
        values = sorted(v for v in stages.get(key) or [] if v is not None)
        if values:
            median = values[(len(values) - 1) // 2]
            parts.append(f"{label} {_f(median, 2)} / {_f(values[-1], 2)} s")
    return "; ".join(parts)
