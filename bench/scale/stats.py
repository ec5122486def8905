"""Pure helpers of the scale benchmark: scraping text, deltas, quantiles."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

# One sample: the metric's sample name and its labels as a sorted tuple of pairs.
SampleKey = tuple[str, tuple[tuple[str, str], ...]]
Samples = dict[SampleKey, float]


def parse(text: str, names: Iterable[str]) -> Samples:
    """Samples of the metric families ``names`` (e.g. ``roost_tick_duration_seconds``)."""
    wanted = set(names)
    # The apiserver's page is megabytes: parse only the lines of the wanted families.
    stems = tuple(name.removesuffix("_total") for name in wanted)
    kept = "\n".join(
        line
        for line in text.splitlines()
        if line.startswith(stems) or (line.startswith("# ") and any(s in line for s in stems))
    )
    out: Samples = {}
    for family in text_string_to_metric_families(kept + "\n"):
        # The parser names a counter family without its _total suffix.
        if family.name not in wanted and f"{family.name}_total" not in wanted:
            continue
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return out


def total(
    samples: Samples, name: str, where: Callable[[Mapping[str, str]], bool] = lambda _: True
) -> float:
    """Sum of the samples named ``name`` whose labels satisfy ``where``."""
    return sum(v for (n, labels), v in samples.items() if n == name and where(dict(labels)))


def delta(before: Samples, after: Samples) -> Samples:
    """Counter increase per sample; a sample missing before counts from 0."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def buckets(samples: Samples, name: str) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) pairs of histogram ``name`` summed over its labels."""
    by_bound: dict[float, float] = {}
    for (sample, labels), value in samples.items():
        if sample != f"{name}_bucket":
            continue
        bound = float(dict(labels)["le"])
        by_bound[bound] = by_bound.get(bound, 0.0) + value
    return sorted(by_bound.items())


def histogram_quantile(q: float, cumulative: Sequence[tuple[float, float]]) -> float:
    """Prometheus's histogram_quantile: linear inside the bucket, the last finite bound for +Inf.

    NaN when the histogram is empty."""
    if not cumulative or cumulative[-1][1] <= 0:
        return math.nan
    rank = q * cumulative[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between order statistics; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def vm_rss_bytes(status_text: str) -> int | None:
    """VmRSS from the text of /proc/<pid>/status, in bytes."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            assert unit == "kB"
            return int(value) * 1024
    return None


def cpu_by_command(
    proc: Path = Path("/proc"),
    labels: dict[int, str] | None = None,
    clock_ticks: int | None = None,
) -> dict[str, float]:
    """User + system CPU seconds so far of every process on the machine, summed by
    command name (``comm``; the kernel's ``kworker/...`` threads as one), or by
    ``labels[pid]`` for the processes it names."""
    labels = labels or {}
    out: dict[str, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        name = labels.get(int(entry.name)) or text[text.index("(") + 1 : text.rindex(")")]
        if name.startswith("kworker/"):  # the kernel's workers, named by their queue
            name = "kworker"
        out[name] = out.get(name, 0.0) + cpu_seconds(text, clock_ticks)
    return out


def cpu_seconds(stat_text: str, clock_ticks: int | None = None) -> float:
    """utime + stime from the text of /proc/<pid>/stat, in seconds."""
    ticks = clock_ticks or os.sysconf("SC_CLK_TCK")
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat_text[stat_text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / ticks
