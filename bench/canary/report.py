"""Tables, goal checks and plots for B1 from ``bench/results/canary.json``."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.canary import arms, cases

Rows = list[dict[str, Any]]
LOW_TRAFFIC = (1.0, 10.0)
ARM_LABEL = {
    "roost": "Roost (real core)",
    "flagger": "Flagger (re-impl.)",
    "argo": "Argo Rollouts (re-impl.)",
}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its normal-approximation 95 % interval."""
    if not values:
        return math.nan, math.nan
    if len(values) == 1:
        return values[0], math.nan
    return statistics.fmean(values), 1.96 * statistics.stdev(values) / math.sqrt(len(values))


def _median(values: list[float]) -> str:
    return f"{statistics.median(values) / 60:.1f}" if values else "–"


def _group(rows: Rows) -> dict[tuple[str, float, str], Rows]:
    groups: dict[tuple[str, float, str], Rows] = defaultdict(list)
    for row in rows:
        groups[(row["scenario"], row["rps"], row["arm"])].append(row)
    return groups


def tables(rows: Rows) -> str:
    groups = _group(rows)
    out: list[str] = []
    for name in cases.SCENARIOS:
        out.append(f"#### {name}\n")
        out.append(
            "| req/s | arm | runs | promoted | rolled back (of which no-evidence deadline) "
            "| median min to promote | median min to rollback | harmed requests, mean ± 95 % CI |"
        )
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|")
        for rps in cases.TRAFFIC_LEVELS:
            for arm in arms.ARMS:
                group = groups.get((name, rps, arm), [])
                n = len(group)
                if n == 0:
                    continue
                promoted = [r for r in group if r["outcome"] == "promoted"]
                rolled = [r for r in group if r["outcome"] == "rolled_back"]
                deadline = [
                    r
                    for r in rolled
                    if r["reason"] in {"ProgressDeadlineExceeded", "NoDataDeadline"}
                ]
                harm, half = mean_ci([r["harmed"] for r in group])
                out.append(
                    f"| {rps:g} | {ARM_LABEL[arm]} | {n} | {100 * len(promoted) / n:.1f} % "
                    f"| {100 * len(rolled) / n:.1f} % ({len(deadline)}) "
                    f"| {_median([r['seconds'] for r in promoted])} "
                    f"| {_median([r['seconds'] for r in rolled])} "
                    f"| {harm:.1f} ± {half:.1f} |"
                )
        out.append("")
    return "\n".join(out)


def goals(rows: Rows) -> str:
    groups = _group(rows)
    out = ["| goal | scenario | req/s | measured | met |", "|---|---|---:|---|---|"]
    for name, spec in cases.SCENARIOS.items():
        for rps in cases.TRAFFIC_LEVELS:
            roost = groups.get((name, rps, "roost"), [])
            if not roost:
                continue
            if not spec["bad"]:
                k = sum(r["outcome"] == "rolled_back" for r in roost)
                deadline = sum(
                    r["reason"] in {"ProgressDeadlineExceeded", "NoDataDeadline"} for r in roost
                )
                low, high = wilson(k, len(roost))
                rate = k / len(roost)
                out.append(
                    f"| ≤ 1 % false rollbacks | {name} | {rps:g} | {100 * rate:.1f} % "
                    f"({k}/{len(roost)}, 95 % CI {100 * low:.1f}–{100 * high:.1f} %; "
                    f"{deadline} at the no-evidence deadline) "
                    f"| {'yes' if rate <= 0.01 else '**no**'} |"
                )
                continue
            r_harm = statistics.fmean(r["harmed"] for r in roost)
            for arm, factor in (("flagger", 5), ("argo", 3)):
                base = groups.get((name, rps, arm), [])
                b_harm = statistics.fmean(r["harmed"] for r in base)
                ratio = r_harm / b_harm if b_harm > 0 else math.inf
                promoted = sum(r["outcome"] == "promoted" for r in base)
                out.append(
                    f"| harmed ≤ 1/{factor} of {arm} | {name} | {rps:g} | "
                    f"{r_harm:.1f} vs {b_harm:.1f} (ratio {ratio:.2f}; {arm} promoted "
                    f"{promoted}/{len(base)}, harm counted to promotion) "
                    f"| {'yes' if ratio <= 1 / factor else '**no**'} |"
                )
            if rps in LOW_TRAFFIC:
                k = sum(r["outcome"] == "promoted" for r in roost)
                out.append(
                    f"| no bad canary promoted at low traffic | {name} | {rps:g} "
                    f"| {k}/{len(roost)} promoted | {'yes' if k == 0 else '**no**'} |"
                )
    return "\n".join(out)


def plot(rows: Rows, img_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _group(rows)
    bad = [name for name, spec in cases.SCENARIOS.items() if spec["bad"]]
    fig, axes = plt.subplots(1, len(bad), figsize=(4 * len(bad), 3.6), sharey=True)
    for ax, name in zip(axes, bad, strict=True):
        for arm in arms.ARMS:
            xs, ys, es = [], [], []
            for rps in cases.TRAFFIC_LEVELS:
                group = groups.get((name, rps, arm), [])
                if group:
                    m, h = mean_ci([r["harmed"] for r in group])
                    xs.append(rps)
                    ys.append(max(m, 0.1))
                    es.append(0.0 if math.isnan(h) else h)
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=ARM_LABEL[arm])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("req/s")
    axes[0].set_ylabel("harmed requests (mean, 95 % CI)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    img_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(img_dir / "canary-harm.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.6))
    width = 0.25
    for i, arm in enumerate(arms.ARMS):
        rates = []
        for rps in cases.TRAFFIC_LEVELS:
            group = groups.get(("healthy", rps, arm), [])
            rates.append(
                100 * sum(r["outcome"] == "rolled_back" for r in group) / max(len(group), 1)
            )
        xs = [j + (i - 1) * width for j in range(len(cases.TRAFFIC_LEVELS))]
        ax.bar(xs, rates, width, label=ARM_LABEL[arm])
    ax.set_xticks(range(len(cases.TRAFFIC_LEVELS)), [f"{r:g}" for r in cases.TRAFFIC_LEVELS])
    ax.set_xlabel("req/s")
    ax.set_ylabel("healthy canaries rolled back (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(img_dir / "canary-false-rollbacks.png", dpi=110)
    plt.close(fig)
    return ["img/canary-harm.png", "img/canary-false-rollbacks.png"]
