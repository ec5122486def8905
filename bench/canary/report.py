"""Tables, goal checks and plots for B1 from ``bench/results/canary.json``.

Harm is reported two ways. *To the decision*: the canary's harmed requests until
the arm promotes, rolls back or holds (``harmed`` in the rows). *Within the horizon*
(``horizon_harm``): the same, extended to ``cases.HARM_HORIZON_SECONDS`` (3 h,
Roost's progressDeadline in this spec) for a bad canary that was promoted, since all
traffic then runs the bad version until a person notices. The harm goals are judged
within the horizon; the to-the-decision numbers stay beside them.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.canary import arms, cases

Rows = list[dict[str, Any]]
LOW_TRAFFIC = (1.0, 10.0)
# The API default (onProgressDeadline: pause) first. The keys are the stored arm keys:
# "roost" is the arm that sets rollback, "roost-pause" the one that sets pause.
DEFAULT_ARM = "roost-pause"
ROOST_ARMS = ("roost-pause", "roost")
SHADOW_ARM = arms.SHADOW_ARM  # the default arm with a 100 % shadow step first
ARM_ORDER = (*ROOST_ARMS, SHADOW_ARM, "flagger", "argo")
DEADLINE_REASONS = {"ProgressDeadlineExceeded", "NoDataDeadline"}
ARM_LABEL = {
    "roost-pause": "Roost, default (onProgressDeadline: pause) (real core)",
    "roost": "Roost, onProgressDeadline: rollback (real core)",
    SHADOW_ARM: "Roost, default with a 100 % shadow step first (real core)",
    "flagger": "Flagger (re-impl.)",
    "argo": "Argo Rollouts (re-impl.)",
}
SETTING = {"roost-pause": "pause (default)", "roost": "rollback"}
HORIZON = f"{cases.HARM_HORIZON_SECONDS / 3600:g} h"


def horizon_harm(row: dict[str, Any], case: cases.Case | None = None) -> float | None:
    """Harmed requests within ``cases.HARM_HORIZON_SECONDS`` of the new revision.

    Promoted: ``harmed + rps × (H − seconds) × harm_probability`` (all traffic runs the
    new version after promotion; nothing before ``seconds`` is counted twice). Rolled
    back: ``harmed`` (the stable version serves everything after). Held for a person at
    the deadline: ``harmed`` (its decision is at H). Only defined for bad scenarios
    (``None`` for healthy ones): a healthy canary's ``harm_probability`` is the stable
    error rate, which the stable version would have caused too.
    """
    case = case or cases.case(row["scenario"], float(row["rps"]))
    if not case.bad:
        return None
    harmed = float(row["harmed"])
    if row["outcome"] != "promoted":
        return harmed
    after = max(0.0, cases.HARM_HORIZON_SECONDS - float(row["seconds"]))
    return harmed + case.rps * after * case.harm_probability


def _horizon(rows: Rows) -> list[float]:
    values = [horizon_harm(r) for r in rows]
    return [v for v in values if v is not None]


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
    for name, spec in cases.SCENARIOS.items():
        bad = bool(spec["bad"])
        out.append(f"#### {name}\n")
        out.append(
            "| req/s | arm | runs | promoted | rolled back (of which no-evidence deadline) "
            "| held for a person at the deadline "
            "| median min to promote | median min to rollback "
            "| harmed to the decision, mean ± 95 % CI |"
            + (f" harmed within {HORIZON}, mean ± 95 % CI |" if bad else "")
        )
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if bad else ""))
        for rps in cases.TRAFFIC_LEVELS:
            for arm in ARM_ORDER:
                group = groups.get((name, rps, arm), [])
                n = len(group)
                if n == 0:
                    continue
                promoted = [r for r in group if r["outcome"] == "promoted"]
                rolled = [r for r in group if r["outcome"] == "rolled_back"]
                deadline = [r for r in rolled if r["reason"] in DEADLINE_REASONS]
                held = [r for r in group if r["outcome"] == "held"]
                harm, half = mean_ci([r["harmed"] for r in group])
                line = (
                    f"| {rps:g} | {ARM_LABEL[arm]} | {n} | {100 * len(promoted) / n:.1f} % "
                    f"| {100 * len(rolled) / n:.1f} % ({len(deadline)}) "
                    f"| {100 * len(held) / n:.1f} % "
                    f"| {_median([r['seconds'] for r in promoted])} "
                    f"| {_median([r['seconds'] for r in rolled])} "
                    f"| {harm:.1f} ± {half:.1f} |"
                )
                if bad:
                    h_harm, h_half = mean_ci(_horizon(group))
                    line += f" {h_harm:.1f} ± {h_half:.1f} |"
                out.append(line)
        out.append("")
    return "\n".join(out)


def goals(rows: Rows) -> str:
    """The issue's B1 goals for Roost with each ``onProgressDeadline``, the default first.

    False rollbacks count only rollbacks; a healthy canary *held* at the deadline
    (``pause``) is reported beside them, since it is neither promoted nor rolled
    back and waits for a person. Harm rows are the default arm's (``summary`` counts
    both arms), judged within the horizon, with the harm to the decision beside it.
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


def harm_comparisons(rows: Rows, arm: str) -> dict[str, tuple[int, int, dict[float, int]]]:
    """Harm goals of ``arm`` against both peers, per measure ("horizon", "decision"):
    (met, compared, missed per req/s)."""
    groups = _group(rows)
    out: dict[str, tuple[int, int, dict[float, int]]] = {}
    for measure in ("horizon", "decision"):
        met = compared = 0
        missed_at: dict[float, int] = defaultdict(int)
        for name, spec in cases.SCENARIOS.items():
            for rps in cases.TRAFFIC_LEVELS:
                roost = groups.get((name, rps, arm), [])
                if not spec["bad"] or not roost:
                    continue
                for base_arm, factor in (("flagger", 5), ("argo", 3)):
                    base = groups.get((name, rps, base_arm), [])
                    ratio = _ratio(roost, base, horizon=measure == "horizon")
                    compared += 1
                    if ratio <= 1 / factor:
                        met += 1
                    else:
                        missed_at[rps] += 1
        out[measure] = (met, compared, dict(missed_at))
    return out


def _mean_harm(group: Rows, *, horizon: bool) -> float:
    values = _horizon(group) if horizon else [float(r["harmed"]) for r in group]
    return statistics.fmean(values) if values else 0.0


def _ratio(roost: Rows, base: Rows, *, horizon: bool) -> float:
    b_harm = _mean_harm(base, horizon=horizon)
    return _mean_harm(roost, horizon=horizon) / b_harm if b_harm > 0 else math.inf


def summary(rows: Rows) -> str:
    """Which ``onProgressDeadline`` setting meets which B1 goal, from the same rows."""
    groups = _group(rows)
    out: list[str] = []
    for arm in ROOST_ARMS:
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
        if not any(key[2] == arm for key in groups):
            continue
        line = f"- **`onProgressDeadline: {SETTING[arm]}`:** "
        if false_missed:
            line += f"≤ 1 % false rollbacks met in {len(false_ok)} of "
            line += f"{len(false_ok) + len(false_missed)} healthy cases, "
            line += "missed for " + "; ".join(false_missed) + ". "
        elif false_ok:
            line += (
                "≤ 1 % false rollbacks met at every traffic level by the point estimate (the "
                f"widest 95 % upper bound, from the run counts above, is {100 * upper:.1f} %). "
            )
        if held_at:
            line += "Held for a person at the deadline: " + "; ".join(held_at) + ". "
        line += f"Bad canaries promoted at low traffic: {promoted_bad}. "
        harm = harm_comparisons(rows, arm)
        d_met, d_n, d_missed = harm["decision"]
        h_met, h_n, h_missed = harm["horizon"]
        if d_n:
            line += (
                f"Harm ≤ 1/5 of Flagger's and ≤ 1/3 of Argo's on bad canaries (judged within "
                f"{HORIZON}): counted to the decision: met in {d_met} of {d_n}"
                + _missed_text(d_missed)
                + f"; within {HORIZON}: met in {h_met} of {h_n}"
                + _missed_text(h_missed)
                + "."
            )
        out.append(line.rstrip())
    if out:
        out.append(
            "- The harm rows of the table are the default setting's (`onProgressDeadline: "
            f"{arms.ON_PROGRESS_DEADLINE[DEFAULT_ARM]}`); "
            "both settings decide alike before the deadline, and the counts above are per "
            "setting."
        )
    return "\n".join(out)


def _missed_text(missed_at: dict[float, int]) -> str:
    if not missed_at:
        return ""
    where = ", ".join(f"{n} at {rps:g} req/s" for rps, n in sorted(missed_at.items()))
    return f" (missed {where})"


def _goal_rows(
    groups: dict[tuple[str, float, str], Rows],
    name: str,
    bad: bool,
    rps: float,
    arm: str,
    roost: Rows,
) -> list[str]:
    label = SETTING[arm]
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
    if arm == DEFAULT_ARM:
        for base_arm, factor in (("flagger", 5), ("argo", 3)):
            base = groups.get((name, rps, base_arm), [])
            horizon = _ratio(roost, base, horizon=True)
            decision = _ratio(roost, base, horizon=False)
            promoted = sum(r["outcome"] == "promoted" for r in base)
            out.append(
                f"| harmed ≤ 1/{factor} of {base_arm}, within {HORIZON} | {name} | {rps:g} "
                f"| {label} | within {HORIZON}: {_mean_harm(roost, horizon=True):.1f} vs "
                f"{_mean_harm(base, horizon=True):.1f} (ratio {horizon:.2f}); to the "
                f"decision: {_mean_harm(roost, horizon=False):.1f} vs "
                f"{_mean_harm(base, horizon=False):.1f} (ratio {decision:.2f}, "
                f"{'met' if decision <= 1 / factor else 'missed'}); {base_arm} promoted "
                f"{promoted}/{len(base)} | {'yes' if horizon <= 1 / factor else '**no**'} |"
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
        for arm in ARM_ORDER:
            xs, ys, es = [], [], []
            for rps in cases.TRAFFIC_LEVELS:
                group = groups.get((name, rps, arm), [])
                if group:
                    m, h = mean_ci(_horizon(group))
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
                linestyle={"roost": "--", SHADOW_ARM: ":"}.get(arm, "-"),
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("req/s")
    axes[0].set_ylabel(f"harmed requests within {HORIZON} (mean, 95 % CI)")
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"Bad canaries: harmed requests within {HORIZON} of the new version "
        "(a promoted one harms all traffic after promotion)",
        fontsize=10,
    )
    fig.tight_layout()
    img_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(img_dir / "canary-harm.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    width = 0.8 / len(ARM_ORDER)
    for i, arm in enumerate(ARM_ORDER):
        rates, held = [], []
        for rps in cases.TRAFFIC_LEVELS:
            group = groups.get(("healthy", rps, arm), [])
            n = max(len(group), 1)
            rates.append(100 * sum(r["outcome"] == "rolled_back" for r in group) / n)
            held.append(100 * sum(r["outcome"] == "held" for r in group) / n)
        xs = [j + (i - (len(ARM_ORDER) - 1) / 2) * width for j in range(len(cases.TRAFFIC_LEVELS))]
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


# Issue 21's goals for the default arm (onProgressDeadline: pause).
PROMOTE_AT_1 = 0.95  # healthy promoted within the 3 h deadline at 1 req/s
MEDIAN_AT_10_MINUTES = 15.0
AT_PROMOTION_BURN_RATE = "errors 0.5 %"  # 0.5 % of a 0.1 % budget: exactly k_P = 5


def _minutes(group: Rows) -> list[float]:
    return [float(r["seconds"]) / 60 for r in group if r["outcome"] == "promoted"]


def promotion_goals(rows: Rows, interval_minutes: float) -> str:
    """Healthy canaries promoted and how fast (against Flagger's re-implementation), bad
    ones promoted at most 1 % of the time at every level, with 95 % intervals (Wilson)."""
    groups = _group(rows)
    out = ["| goal | scenario | req/s | measured | met |", "|---|---|---:|---|---|"]

    def line(goal: str, name: str, rps: float, measured: str, met: bool) -> None:
        out.append(f"| {goal} | {name} | {rps:g} | {measured} | {'yes' if met else '**no**'} |")

    for rps in cases.TRAFFIC_LEVELS:
        group = groups.get(("healthy", rps, DEFAULT_ARM), [])
        if not group:
            continue
        minutes = _minutes(group)
        k, n = len(minutes), len(group)
        low, high = wilson(k, n)
        median = statistics.median(minutes) if minutes else math.inf
        share = (
            f"{k}/{n} promoted ({100 * k / n:.1f} %, 95 % CI {100 * low:.1f}–{100 * high:.1f} %)"
        )
        if rps == 1.0:
            line(
                f"≥ {PROMOTE_AT_1:.0%} promoted within {HORIZON}",
                "healthy",
                rps,
                f"{share}, median {median:.1f} min",
                k / n >= PROMOTE_AT_1,
            )
        elif rps == 10.0:
            line(
                f"100 % promoted, median ≤ {MEDIAN_AT_10_MINUTES:g} min",
                "healthy",
                rps,
                f"{share}, median {median:.1f} min",
                k == n and median <= MEDIAN_AT_10_MINUTES,
            )
        else:
            peer = _minutes(groups.get(("healthy", rps, "flagger"), []))
            theirs = statistics.median(peer) if peer else math.nan
            line(
                f"median within {interval_minutes:g} min of Flagger's",
                "healthy",
                rps,
                f"{median:.1f} vs {theirs:.1f} min; {share}",
                median <= theirs + interval_minutes,
            )
    for name, spec in cases.SCENARIOS.items():
        if not spec["bad"]:
            continue
        for rps in cases.TRAFFIC_LEVELS:
            group = groups.get((name, rps, DEFAULT_ARM), [])
            if not group:
                continue
            k, n = sum(r["outcome"] == "promoted" for r in group), len(group)
            high = wilson(k, n)[1]
            line(
                "≤ 1 % promoted",
                name,
                rps,
                f"{k}/{n} ({100 * k / n:.1f} %, 95 % upper bound {100 * high:.1f} %)",
                k / n <= 0.01,
            )
    at_k = [r for r in rows if r["scenario"] == AT_PROMOTION_BURN_RATE and r["arm"] == DEFAULT_ARM]
    if at_k:
        k = sum(r["outcome"] == "promoted" for r in at_k)
        low, high = wilson(k, len(at_k))
        line(
            "false promotions at k_P ≤ α = 1 %",
            f"{AT_PROMOTION_BURN_RATE} (at k_P = 5)",
            math.nan,
            f"{k}/{len(at_k)} over all levels ({100 * k / len(at_k):.2f} %, 95 % CI "
            f"{100 * low:.2f}–{100 * high:.2f} %)",
            k / len(at_k) <= 0.01,
        )
    harm = harm_comparisons(rows, DEFAULT_ARM)["horizon"]
    out.append(
        f"| harm ≤ 1/5 of Flagger's, ≤ 1/3 of Argo's in ≥ 30 of 32 | bad canaries | all "
        f"| met in {harm[0]} of {harm[1]}{_missed_text(harm[2])} "
        f"| {'yes' if harm[0] >= 30 else '**no**'} |"
    )
    return "\n".join(out).replace("| nan |", "| all |")


def plot_promotion_time(rows: Rows, img_dir: Path, lines: dict[str, list[float]]) -> str:
    """Median minutes to promote a healthy canary against traffic, with ``lines`` (the
    frontier: minutes per traffic level) drawn dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _group(rows)
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for arm in (DEFAULT_ARM, SHADOW_ARM, "flagger", "argo"):
        xs, ys = [], []
        for rps in cases.TRAFFIC_LEVELS:
            minutes = _minutes(groups.get(("healthy", rps, arm), []))
            if minutes:
                xs.append(rps)
                ys.append(statistics.median(minutes))
        ax.plot(xs, ys, marker="o", label=f"{ARM_LABEL[arm]}, median")
    for label, minutes in lines.items():
        ax.plot(cases.TRAFFIC_LEVELS, minutes, linestyle="--", label=label)
    ax.axhline(cases.HARM_HORIZON_SECONDS / 60, color="grey", linewidth=0.8)
    ax.text(1.0, cases.HARM_HORIZON_SECONDS / 60 * 1.05, "progressDeadline 3 h", fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("req/s (all traffic)")
    ax.set_ylabel("minutes from the new version to promotion")
    ax.set_title("Healthy canaries: time to promotion, and the limit for B1's steps", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    img_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(img_dir / "canary-promotion-time.png", dpi=110)
    plt.close(fig)
    return "img/canary-promotion-time.png"


def _minutes_ci(values: list[float]) -> str:
    if not values:
        return "–"
    mean, half = mean_ci([v / 60 for v in values])
    interval = "" if math.isnan(half) else f" ± {half:.1f}"
    return f"{mean:.1f}{interval} (median {statistics.median(values) / 60:.1f})"


def _difference(a: list[float], b: list[float], scale: float = 1.0) -> str:
    """Mean of ``a`` − mean of ``b`` with the 95 % interval of two independent samples."""
    if len(a) < 2 or len(b) < 2:
        return "–"
    (ma, ha), (mb, hb) = mean_ci(a), mean_ci(b)
    return f"{(ma - mb) / scale:+.1f} ± {math.hypot(ha, hb) / scale:.1f}"


def _share(k: int, n: int) -> str:
    low, high = wilson(k, n)
    return f"{100 * k / n:.1f} % ({100 * low:.1f}–{100 * high:.1f})"


def shadow_table(rows: Rows) -> str:
    """The shadow arm beside the default arm, per scenario and traffic level.

    The decision is a promotion for a healthy canary and a rollback for a bad one: the
    share of runs reaching it (95 % Wilson interval), the minutes to it among those runs
    (mean ± 95 % interval, and the median), the difference of the means (shadow −
    default, the two arms' runs taken as independent samples: they share the seed
    numbers, not the draws). Harmed requests (bad canaries, within the horizon, mean ±
    95 % interval) and the share of bad canaries rolled back before the canary answered
    any user's request (all its requests were mirrored copies).
    """
    groups = _group(rows)
    out = [
        "| scenario | req/s | runs (shadow / default) | decision "
        "| reached: shadow | reached: default "
        "| minutes to it: shadow | minutes to it: default | difference (min) "
        f"| harmed within {HORIZON}: shadow | harmed: default | difference "
        "| rolled back before any user was served by the canary |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, spec in cases.SCENARIOS.items():
        bad = bool(spec["bad"])
        decision = "rolled_back" if bad else "promoted"
        for rps in cases.TRAFFIC_LEVELS:
            shadow = groups.get((name, rps, SHADOW_ARM), [])
            default = groups.get((name, rps, DEFAULT_ARM), [])
            if not shadow or not default:
                continue
            times = [
                [float(r["seconds"]) for r in group if r["outcome"] == decision]
                for group in (shadow, default)
            ]
            cells = [
                name,
                f"{rps:g}",
                f"{len(shadow)} / {len(default)}",
                "rollback" if bad else "promotion",
                _share(len(times[0]), len(shadow)),
                _share(len(times[1]), len(default)),
                _minutes_ci(times[0]),
                _minutes_ci(times[1]),
                _difference(times[0], times[1], scale=60.0),
            ]
            if bad:
                harm = [_horizon(shadow), _horizon(default)]
                (ms, hs), (md, hd) = mean_ci(harm[0]), mean_ci(harm[1])
                unseen = sum(
                    r["outcome"] == "rolled_back" and r["canary_requests"] == 0 for r in shadow
                )
                cells += [
                    f"{ms:.1f} ± {hs:.1f}",
                    f"{md:.1f} ± {hd:.1f}",
                    _difference(harm[0], harm[1]),
                    _share(unseen, len(shadow)),
                ]
            else:
                cells += ["–", "–", "–", "–"]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _rate(k: int, n: int) -> str:
    if n == 0:
        return "– (no runs)"
    low, high = wilson(k, n)
    digits = 2 if high < 0.01 else 1
    return (
        f"{k}/{n} ({100 * k / n:.{digits}f} %, 95 % CI "
        f"{100 * low:.{digits}f}–{100 * high:.{digits}f} %)"
    )


def _count(
    groups: dict[tuple[str, float, str], Rows], arm: str, names: list[str], outcome: str
) -> tuple[int, int]:
    """(runs with ``outcome``, runs) of ``arm`` over the scenarios ``names``, all levels."""
    group = [
        r
        for name in names
        for rps in cases.TRAFFIC_LEVELS
        for r in groups.get((name, rps, arm), [])
    ]
    return sum(r["outcome"] == outcome for r in group), len(group)


def shadow_summary(rows: Rows) -> str:
    """The shadow arm beside the default in a few sentences, from the same rows as
    ``shadow_table`` (95 % intervals: Wilson for shares, normal for means)."""
    groups = _group(rows)
    bad = [name for name, spec in cases.SCENARIOS.items() if spec["bad"]]
    healthy = [name for name, spec in cases.SCENARIOS.items() if not spec["bad"]]
    levels = [
        (n, rps) for n in bad for rps in cases.TRAFFIC_LEVELS if (n, rps, SHADOW_ARM) in groups
    ]
    if not levels:
        return ""

    def unseen(group: Rows) -> int:
        return sum(r["outcome"] == "rolled_back" and r["canary_requests"] == 0 for r in group)

    shadow_bad = [r for n, rps in levels for r in groups[(n, rps, SHADOW_ARM)]]
    every = [(n, rps) for n, rps in levels if unseen(g := groups[(n, rps, SHADOW_ARM)]) == len(g)]
    text = (
        f"Bad canaries: {_rate(unseen(shadow_bad), len(shadow_bad))} of the shadow arm's runs "
        "were rolled back before the canary answered any user's request, so they harmed no "
        f"one; in {len(every)} of {len(levels)} (scenario, traffic level) cases every run was."
    )
    partial = []
    for name, rps in levels:
        if (name, rps) in every:
            continue
        (m, h), (md, hd) = (
            mean_ci(_horizon(groups.get((name, rps, arm), []))) for arm in (SHADOW_ARM, DEFAULT_ARM)
        )
        partial.append(f"{name} at {rps:g} req/s {m:.1f} ± {h:.1f} vs {md:.1f} ± {hd:.1f}")
    if partial:
        text += (
            " In the others some were caught only in a weighted step; harmed requests within "
            f"{HORIZON}, shadow vs default (mean ± 95 % CI): " + "; ".join(partial) + "."
        )
    slowest = min(cases.TRAFFIC_LEVELS)
    times = []
    for name in bad:
        shadow, default = (
            [
                float(r["seconds"]) / 60
                for r in groups.get((name, slowest, arm), [])
                if r["outcome"] == "rolled_back"
            ]
            for arm in (SHADOW_ARM, DEFAULT_ARM)
        )
        if shadow and default:
            (m, h), (md, hd) = mean_ci(shadow), mean_ci(default)
            times.append(f"{name} {m:.1f} ± {h:.1f} vs {md:.1f} ± {hd:.1f}")
    if times:
        text += (
            f" Minutes to the rollback at {slowest:g} req/s, shadow vs default (mean ± 95 % CI, "
            "among the runs rolled back): " + "; ".join(times) + "."
        )
    promoted = [_count(groups, arm, bad, "promoted") for arm in (SHADOW_ARM, DEFAULT_ARM)]
    at_k = [
        _count(groups, arm, [AT_PROMOTION_BURN_RATE], "promoted")
        for arm in (SHADOW_ARM, DEFAULT_ARM)
    ]
    text += (
        f" Bad canaries promoted: {promoted[0][0]} (shadow) vs {promoted[1][0]} (default); "
        f"at promotionBurnRate ({AT_PROMOTION_BURN_RATE}, all levels) {_rate(*at_k[0])} vs "
        f"{_rate(*at_k[1])}."
    )
    rolled = [_count(groups, arm, healthy, "rolled_back") for arm in (SHADOW_ARM, DEFAULT_ARM)]
    held = [_count(groups, arm, healthy, "held") for arm in (SHADOW_ARM, DEFAULT_ARM)]
    text += (
        f" Healthy canaries rolled back: {_rate(*rolled[0])} vs {_rate(*rolled[1])}; held at "
        f"the deadline: {held[0][0]} vs {held[1][0]}."
    )
    promotion = []
    for rps in cases.TRAFFIC_LEVELS:
        shadow = _minutes(groups.get(("healthy", rps, SHADOW_ARM), []))
        default = _minutes(groups.get(("healthy", rps, DEFAULT_ARM), []))
        if shadow and default:
            promotion.append(
                f"{statistics.median(shadow):.1f} vs {statistics.median(default):.1f} at "
                f"{rps:g} req/s (difference of the means {_difference(shadow, default)})"
            )
    if promotion:
        text += (
            " Healthy canaries, median minutes to promotion, shadow vs default: "
            + "; ".join(promotion)
            + "."
        )
    return text
