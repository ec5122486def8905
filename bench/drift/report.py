"""B4 section of docs/benchmarks.md: the distribution gate and the drift watch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench import common
from bench.drift.replay import CANARY_SHARE, GATE_WINDOWS, SHIFTS, TRAFFIC, WATCH_WINDOWS, WINDOW_S

METHOD = """\
Seeded replays through Roost's real core (`bench/drift/replay.py`): each request is
one prediction score drawn from a Beta distribution and counted in ten decile buckets
(`model_prediction_score`), analysis windows of 30 s, Poisson arrivals.

- **Gate** (`compareTo: stable`, during a rollout): the canary takes 25 % of the
  traffic for up to 60 windows (30 min); every window goes through
  `roost.analysis.verdict.analyze` with the default check (PSI threshold 0.25,
  minSamples 1,000, confidence 0.99) and no errors, as the operator calls it. *Flagged*
  = rolled back with `PredictionDistributionShift`; *test crossed* = the e-process
  alone crossed ln(1/α_i), before the effect-size floor.
- **Watch** (`compareTo: reference`, after promotion): the stable takes all traffic;
  `roost.analysis.watch.observe` collects the reference (1,000 observations) and
  watches up to 2,000 windows (about 17 h) with `meanWindowsToFalseAlarm` 10,000; a
  shift starts right after the reference is frozen. *Flagged* = `Drifted`.

Shifts of the stable's Beta(2, 5) scores: *small* Beta(2.4, 5), *medium* Beta(3, 5),
*large* Beta(3, 4); their PSI is in the table. A small shift is below the PSI warn
band (0.1): never flagging it is the intended behaviour, not a miss.
"""


def _q(values: list[int], q: float) -> str:
    return "–" if not values else f"{np.percentile(values, q):.0f}"


def _delay(values: list[int]) -> str:
    if not values:
        return "–"
    median = float(np.median(values)) * WINDOW_S
    return f"{median / 60:.1f} min" if median >= 60 else f"{median:.0f} s"


def tables(data: dict[str, Any]) -> str:
    rows, meta = data["rows"], data["meta"]
    out: list[str] = []
    for part, horizon in (("gate", GATE_WINDOWS), ("watch", WATCH_WINDOWS)):
        title = (
            f"**Gate** (canary {CANARY_SHARE:.0%} of traffic, up to {horizon} windows)"
            if part == "gate"
            else f"**Watch** (after the reference, up to {horizon} windows)"
        )
        out += [
            title,
            "",
            "| shift (PSI) | req/s | runs | flagged | median delay | p50 / p90 windows |"
            + (" test crossed |" if part == "gate" else ""),
            "|---|---|---|---|---|---|" + ("---|" if part == "gate" else ""),
        ]
        for shift in SHIFTS:
            for rps in TRAFFIC:
                group = [
                    r for r in rows if r["part"] == part and r["shift"] == shift and r["rps"] == rps
                ]
                if not group:
                    continue
                flagged = [r["flagged"] for r in group if r["flagged"] is not None]
                line = (
                    f"| {shift} ({meta['psi'][shift]:.3f}) | {rps:g} | {len(group)} "
                    f"| {len(flagged) / len(group):.1%} | {_delay(flagged)} "
                    f"| {_q(flagged, 50)} / {_q(flagged, 90)} |"
                )
                if part == "gate":
                    crossed = sum(r["test_crossed"] is not None for r in group)
                    line += f" {crossed / len(group):.1%} |"
                out.append(line)
        out.append("")
    return "\n".join(out)


def goals(data: dict[str, Any]) -> str:
    rows, meta = data["rows"], data["meta"]
    alpha = meta["alpha_gate"]
    out = ["| check | target | measured | met |", "|---|---|---|---|"]
    for rps in TRAFFIC:
        null = [r for r in rows if r["part"] == "gate" and r["shift"] == "none" and r["rps"] == rps]
        if not null:
            continue
        rate = sum(r["flagged"] is not None for r in null) / len(null)
        margin = 3 * (alpha * (1 - alpha) / len(null)) ** 0.5
        out.append(
            f"| gate false alarms at {rps:g} req/s | ≤ α = {alpha:g} (+ 3σ sampling margin) "
            f"| {rate:.2%} of {len(null)} | {'yes' if rate <= alpha + margin else '**no**'} |"
        )
    for rps in TRAFFIC:
        null = [
            r for r in rows if r["part"] == "watch" and r["shift"] == "none" and r["rps"] == rps
        ]
        if not null:
            continue
        alarms = sum(r["flagged"] is not None for r in null)
        # E[alarms] <= runs x horizon / A when the mean time to a false alarm is >= A.
        bound = len(null) * WATCH_WINDOWS / meta["mean_windows_to_false_alarm"]
        met = "yes" if alarms <= bound + 3 * bound**0.5 + 1 else "**no**"
        out.append(
            f"| watch false alarms at {rps:g} req/s within {WATCH_WINDOWS} windows "
            f"| mean time to a false alarm ≥ {meta['mean_windows_to_false_alarm']} windows "
            f"| {alarms} of {len(null)} runs alarmed | {met} |"
        )
    return "\n".join(out)


def plot(data: dict[str, Any], img_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = data["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, part in zip(axes, ("gate", "watch"), strict=True):
        for shift in [s for s in SHIFTS if s != "none"]:
            xs, ys = [], []
            for rps in TRAFFIC:
                flagged = [
                    r["flagged"]
                    for r in rows
                    if r["part"] == part
                    and r["shift"] == shift
                    and r["rps"] == rps
                    and r["flagged"] is not None
                ]
                if flagged:
                    xs.append(rps)
                    ys.append(float(np.median(flagged)) * WINDOW_S / 60)
            ax.plot(xs, ys, marker="o", label=f"{shift} (PSI {data['meta']['psi'][shift]:.2f})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("req/s")
        ax.set_title("rollout gate (canary 25 %)" if part == "gate" else "watch after promotion")
    axes[0].set_ylabel("median time to flag (min)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    img_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(img_dir / "drift-delay.png", dpi=110)
    plt.close(fig)
    return ["img/drift-delay.png"]


def section(data: dict[str, Any], img: Path) -> list[str]:
    meta = data["meta"]
    imgs = plot(data, img)
    return [
        "## B4 prediction-distribution gate and drift watch",
        "",
        METHOD,
        f"Runs: {meta['null_runs']} per traffic level without a shift and "
        f"{meta['shift_runs']} per shift for the gate; {meta['watch_runs']} (at most) per "
        f"cell for the watch; wall time {meta['wall_seconds'] / 60:.1f} min on "
        f"{meta['workers']} workers; {common.provenance_text(meta)}.",
        "",
        "### Goals",
        "",
        goals(data),
        "",
        *[f"![{Path(i).stem}]({i})" for i in imgs],
        "",
        "### Per shift and traffic level",
        "",
        tables(data),
    ]
