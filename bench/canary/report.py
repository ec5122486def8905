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
ROOST_ARMS = ("roost", "roost-pause")
DEADLINE_REASONS = {"ProgressDeadlineExceeded", "NoDataDeadline"}
ARM_LABEL = {
    "roost": "Roost (real core)",
    "roost-pause": "Roost, onProgressDeadline: pause (real core)",
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
            "| held for a person at the deadline "
            "| median min to promote | median min to rollback | harmed requests, mean ± 95 % CI |"
        )
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for rps in cases.TRAFFIC_LEVELS:
            for arm in arms.ARMS:
                group = groups.get((name, rps, arm), [])
                n = len(group)
                if n == 0:
                    continue
                promoted = [r for r in group if r["outcome"] == "promoted"]
                rolled = [r for r in group if r["outcome"] == "rolled_back"]
                deadline = [r for r in rolled if r["reason"] in DEADLINE_REASONS]
                held = [r for r in group if r["outcome"] == "held"]
                harm, half = mean_ci([r["harmed"] for r in group])
                out.append(
                    f"| {rps:g} | {ARM_LABEL[arm]} | {n} | {100 * len(promoted) / n:.1f} % "
                    f"| {100 * len(rolled) / n:.1f} % ({len(deadline)}) "
                    f"| {100 * len(held) / n:.1f} % "
                    f"| {_median([r['seconds'] for r in promoted])} "
                    f"| {_median([r['seconds'] for r in rolled])} "
                    f"| {harm:.1f} ± {half:.1f} |"
                )
        out.append("")
    return "\n".join(out)


def goals(rows: Rows) -> str:
    """The issue's B1 goals for Roost with each ``onProgressDeadline``.

    False rollbacks count only rollbacks; a healthy canary *held* at the deadline
    (``pause``) is reported beside them, since it is neither promoted nor rolled
    back and waits for a person. Harm ratios are Roost's default arm: both arms
    decide identically until the deadline.
    """
    groups = _group(rows)
    out = ["| goal | scenario | req/s | arm | measured | met |", "|---|---|---:|---|---|---|"]
    for name, spec in cases.SCENARIOS.items():
        for rps in cases.TRAFFIC_LEVELS:
            for arm in ROOST_ARMS:
                roost = groups.get((name, rps, arm), [])
                if roost:
                    out.extend(_goal_rows(groups, name, bool(spec["bad"]), rps, arm, roost))
    return "\n".join(out)


def summary(rows: Rows) -> str:
    """Which ``onProgressDeadline`` setting meets which B1 goal, from the same rows."""
    groups = _group(rows)
    out: list[str] = []
    for arm in ROOST_ARMS:
        label = "pause" if arm == "roost-pause" else "rollback"
        false_ok: list[str] = []
        false_missed: list[str] = []
        held_at: list[str] = []
        promoted_bad = 0
        upper = 0.0
        for name, spec in cases.SCENARIOS.items():
            for rps in cases.TRAFFIC_LEVELS:
                group = groups.get((name, rps, arm), [])
                if not group:
                    continue
                if spec["bad"]:
                    if rps in LOW_TRAFFIC:
                        promoted_bad += sum(r["outcome"] == "promoted" for r in group)
                    continue
                k = sum(r["outcome"] == "rolled_back" for r in group)
                rate = k / len(group)
                upper = max(upper, wilson(k, len(group))[1])
                where = f"{name} at {rps:g} req/s"
                (false_ok if rate <= 0.01 else false_missed).append(where)
                held = sum(r["outcome"] == "held" for r in group)
                if held:
                    held_at.append(f"{100 * held / len(group):.1f} % at {rps:g} req/s ({name})")
        if not false_ok and not false_missed:
            continue
        line = f"- **`onProgressDeadline: {label}`:** ≤ 1 % false rollbacks "
        if false_missed:
            line += f"met in {len(false_ok)} of {len(false_ok) + len(false_missed)} healthy cases, "
            line += "missed for " + "; ".join(false_missed) + ". "
        else:
            line += (
                "met at every traffic level by the point estimate (the widest 95 % upper "
                f"bound, from the run counts above, is {100 * upper:.1f} %). "
            )
        if held_at:
            line += "Held for a person at the deadline: " + "; ".join(held_at) + ". "
        line += f"Bad canaries promoted at low traffic: {promoted_bad}."
        out.append(line)
    met = missed = 0
    missed_at: dict[float, int] = defaultdict(int)
    for name, spec in cases.SCENARIOS.items():
        for rps in cases.TRAFFIC_LEVELS:
            roost = groups.get((name, rps, "roost"), [])
            if not spec["bad"] or not roost:
                continue
            r_harm = statistics.fmean(r["harmed"] for r in roost)
            for base_arm, factor in (("flagger", 5), ("argo", 3)):
                base = groups.get((name, rps, base_arm), [])
                b_harm = statistics.fmean(r["harmed"] for r in base) if base else 0.0
                if b_harm > 0 and r_harm / b_harm <= 1 / factor:
                    met += 1
                else:
                    missed += 1
                    missed_at[rps] += 1
    if met + missed:
        where = ", ".join(f"{n} at {rps:g} req/s" for rps, n in sorted(missed_at.items()))
        out.append(
            f"- Harm ≤ 1/5 of Flagger's and ≤ 1/3 of Argo's: met in {met} of {met + missed} "
            f"comparisons" + (f"; missed {where}" if where else "") + ". Both settings "
            "decide alike before the deadline, so the harm rows are the default arm's."
        )
    return "\n".join(out)


def _goal_rows(
    groups: dict[tuple[str, float, str], Rows],
    name: str,
    bad: bool,
    rps: float,
    arm: str,
    roost: Rows,
) -> list[str]:
    label = "pause" if arm == "roost-pause" else "rollback"
    n = len(roost)
    if not bad:
        k = sum(r["outcome"] == "rolled_back" for r in roost)
        deadline = sum(
            r["outcome"] == "rolled_back" and r["reason"] in DEADLINE_REASONS for r in roost
        )
        held = sum(r["outcome"] == "held" for r in roost)
        low, high = wilson(k, n)
        rate = k / n
        held_text = f"; {held} held for a person, {100 * held / n:.1f} %" if held else ""
        return [
            f"| ≤ 1 % false rollbacks | {name} | {rps:g} | {label} | {100 * rate:.1f} % "
            f"({k}/{n}, 95 % CI {100 * low:.1f}–{100 * high:.1f} %; "
            f"{deadline} at the no-evidence deadline{held_text}) "
            f"| {'yes' if rate <= 0.01 else '**no**'} |"
        ]
    out: list[str] = []
    if arm == "roost":
        r_harm = statistics.fmean(r["harmed"] for r in roost)
        for base_arm, factor in (("flagger", 5), ("argo", 3)):
            base = groups.get((name, rps, base_arm), [])
            b_harm = statistics.fmean(r["harmed"] for r in base)
            ratio = r_harm / b_harm if b_harm > 0 else math.inf
            promoted = sum(r["outcome"] == "promoted" for r in base)
            out.append(
                f"| harmed ≤ 1/{factor} of {base_arm} | {name} | {rps:g} | {label} | "
                f"{r_harm:.1f} vs {b_harm:.1f} (ratio {ratio:.2f}; {base_arm} promoted "
                f"{promoted}/{len(base)}, harm counted to promotion) "
                f"| {'yes' if ratio <= 1 / factor else '**no**'} |"
            )
    if rps in LOW_TRAFFIC:
        k = sum(r["outcome"] == "promoted" for r in roost)
        held = sum(r["outcome"] == "held" for r in roost)
        extra = f"; {held} held for a person" if arm == "roost-pause" else ""
        out.append(
            f"| no bad canary promoted at low traffic | {name} | {rps:g} | {label} "
            f"| {k}/{n} promoted{extra} | {'yes' if k == 0 else '**no**'} |"
        )
    return out


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
            ax.errorbar(
                xs,
                ys,
                yerr=es,
                marker="o",
                capsize=3,
                label=ARM_LABEL[arm],
                linestyle="--" if arm == "roost-pause" else "-",
            )
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

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    width = 0.8 / len(arms.ARMS)
    for i, arm in enumerate(arms.ARMS):
        rates, held = [], []
        for rps in cases.TRAFFIC_LEVELS:
            group = groups.get(("healthy", rps, arm), [])
            n = max(len(group), 1)
            rates.append(100 * sum(r["outcome"] == "rolled_back" for r in group) / n)
            held.append(100 * sum(r["outcome"] == "held" for r in group) / n)
        xs = [j + (i - (len(arms.ARMS) - 1) / 2) * width for j in range(len(cases.TRAFFIC_LEVELS))]
        bars = ax.bar(xs, rates, width, label=ARM_LABEL[arm])
        if any(held):
            ax.bar(
                xs,
                held,
                width,
                bottom=rates,
                color=bars.patches[0].get_facecolor(),
                alpha=0.35,
                hatch="//",
                label=f"{ARM_LABEL[arm]}: held for a person",
            )
    ax.set_xticks(range(len(cases.TRAFFIC_LEVELS)), [f"{r:g}" for r in cases.TRAFFIC_LEVELS])
    ax.set_xlabel("req/s")
    ax.set_ylabel("healthy canaries rolled back or held (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(img_dir / "canary-false-rollbacks.png", dpi=110)
    plt.close(fig)
    return ["img/canary-harm.png", "img/canary-false-rollbacks.png"]
