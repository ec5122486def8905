"""A traffic trace: read from CSV, turned into arrivals.

Two shapes, told apart by the number of columns:

- ``time,rate``: seconds since the start (or any increasing seconds) and requests per
  second from then on; the rate holds until the next row. Arrivals are drawn from it
  as a Poisson process, one draw per seed.
- one column: the request timestamps themselves, in seconds; replayed as they are.

A first line that is not numbers is a header and skipped; blank lines and lines
starting with ``#`` are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_SECONDS = 7 * 86400  # a week of simulated time at most


class TraceError(ValueError):
    """A trace that cannot be read: the message names the line and what to write."""


@dataclass(frozen=True)
class Trace:
    # Requests per second in each second of the run (time,rate traces) ...
    rate: np.ndarray | None = None
    # ... or the arrival times, sorted, starting at 0 (timestamp traces).
    timestamps: np.ndarray | None = None

    @property
    def seconds(self) -> int:
        if self.rate is not None:
            return len(self.rate)
        assert self.timestamps is not None
        return math.ceil(self.timestamps[-1]) + 1 if len(self.timestamps) else 0

    def per_second(self) -> np.ndarray:
        """Requests per second in each second (timestamps counted)."""
        if self.rate is not None:
            return self.rate
        assert self.timestamps is not None
        return np.bincount(self.timestamps.astype(int), minlength=self.seconds).astype(float)

    def arrivals(self, rng: np.random.Generator) -> np.ndarray:
        if self.timestamps is not None:
            return self.timestamps
        assert self.rate is not None
        return arrivals(rng, self.rate)


def arrivals(rng: np.random.Generator, rate: np.ndarray) -> np.ndarray:
    """Sorted arrival times of a Poisson process with rate ``rate[s]`` in second ``s``."""
    counts = rng.poisson(rate)
    seconds = np.repeat(np.arange(len(rate)), counts)
    return np.sort(seconds + rng.uniform(0.0, 1.0, size=len(seconds)))


def read(text: str) -> Trace:
    """A trace from CSV text (see the module docstring)."""
    rows: list[tuple[int, list[float]]] = []
    width: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        cells = [c.strip() for c in stripped.split(",")]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not rows and width is None:
                width = len(cells)  # a header
                continue
            raise TraceError(
                f"line {number}: {stripped!r} is not numbers; write time,rate (seconds, "
                "requests per second) or one request timestamp (seconds) per line"
            ) from None
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise TraceError(f"line {number}: {stripped!r}: values must be finite and >= 0")
        if len(values) not in (1, 2):
            raise TraceError(
                f"line {number}: {len(values)} columns; write time,rate or one timestamp"
            )
        if rows and len(values) != len(rows[0][1]):
            raise TraceError(
                f"line {number}: {len(values)} columns where the lines before have "
                f"{len(rows[0][1])}"
            )
        rows.append((number, values))
    if not rows:
        raise TraceError("no data lines: write time,rate or one request timestamp per line")
    if len(rows[0][1]) == 1:
        stamps = np.sort(np.array([v[0] for _, v in rows]))
        stamps = stamps - stamps[0]
        if stamps[-1] > MAX_SECONDS:
            raise TraceError(f"the timestamps span {stamps[-1]:.0f} s; at most {MAX_SECONDS} s")
        return Trace(timestamps=stamps)
    times = [v[0] for _, v in rows]
    for (number, _), before, after in zip(rows[1:], times, times[1:], strict=False):
        if after <= before:
            raise TraceError(f"line {number}: time {after:g} is not after {before:g}")
    start = times[0]
    end = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 60.0)
    if end - start > MAX_SECONDS:
        raise TraceError(f"the trace spans {end - start:.0f} s; at most {MAX_SECONDS} s")
    rate = np.zeros(math.ceil(end - start))
    edges = [*(t - start for t in times), end - start]
    for i, (_, (_, value)) in enumerate(rows):
        rate[int(edges[i]) : math.ceil(edges[i + 1])] = value
    return Trace(rate=rate)
