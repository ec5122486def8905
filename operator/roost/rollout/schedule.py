"""When analysis windows start and end.

Windows are aligned to multiples of ``analysisInterval`` since the Unix epoch,
so every ModelDeployment with the same interval asks Prometheus about the same
window and one query answers for all of them. A window never overlaps the
previous one, and the first window after a weight change starts at the next
boundary, so no window mixes two traffic splits.

An object that fell behind (a slow tick, a restart) has more than one interval due.
It reads them one interval at a time (:func:`split`), so it asks about the same
windows as every object that kept up and shares their answers, instead of asking
about a span of its own.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime


def _epoch(value: datetime) -> float:
    return value.timestamp()


def floor_to(now: datetime, interval_seconds: float) -> datetime:
    """The latest window boundary at or before ``now``."""
    return datetime.fromtimestamp(
        math.floor(_epoch(now) / interval_seconds) * interval_seconds, tz=UTC
    )


def ceil_to(now: datetime, interval_seconds: float) -> datetime:
    """The earliest window boundary at or after ``now``."""
    return datetime.fromtimestamp(
        math.ceil(_epoch(now) / interval_seconds) * interval_seconds, tz=UTC
    )


def due_window(
    analyzed_until: datetime | None, now: datetime, interval_seconds: float
) -> tuple[datetime, datetime] | None:
    """The window (start, end] to analyse now, or None when none has closed yet."""
    if analyzed_until is None:
        return None
    end = floor_to(now, interval_seconds)
    if end <= analyzed_until:
        return None
    return analyzed_until, end


# A span longer than this many intervals reads its older part as one window: an object
# that far behind is alone with it, and one query beats a query per missed interval.
MAX_SPLIT = 4


def split(
    start: datetime, end: datetime, interval_seconds: float, *, max_windows: int = MAX_SPLIT
) -> list[tuple[datetime, datetime]]:
    """(start, end] cut at the interval boundaries inside it, oldest first.

    At most ``max_windows`` windows: the older part of a longer span is one window.
    A start or end off the grid (the interval changed) gives a shorter first or last
    window; the windows always cover the span exactly once.
    """
    if end <= start:
        return []
    first = math.floor(_epoch(start) / interval_seconds) + 1
    last = math.ceil(_epoch(end) / interval_seconds) - 1
    cuts = [datetime.fromtimestamp(k * interval_seconds, tz=UTC) for k in range(first, last + 1)]
    edges = [start, *cuts, end]
    windows = list(itertools.pairwise(edges))
    if len(windows) > max_windows:
        tail = windows[len(windows) - max_windows + 1 :]
        windows = [(start, tail[0][0] if tail else end), *tail]
    return windows
