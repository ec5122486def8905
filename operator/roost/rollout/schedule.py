"""When analysis windows start and end.

Windows are aligned to multiples of ``analysisInterval`` since the Unix epoch,
so every ModelDeployment with the same interval asks Prometheus about the same
window and one query answers for all of them. A window never overlaps the
previous one, and the first window after a weight change starts at the next
boundary, so no window mixes two traffic splits.
"""

from __future__ import annotations

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
