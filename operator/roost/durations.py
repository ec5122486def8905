"""Durations as users write them in YAML: ``30s``, ``5m``, ``1h30m``, ``28d``, ``2w``.

The same grammar as Prometheus range selectors (ms, s, m, h, d, w, y; units in
descending order, each at most once), so a window in a spec can be pasted into
PromQL unchanged and every PromQL duration Roost renders parses back.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta

_UNITS: tuple[tuple[str, float], ...] = (
    ("y", 365 * 86400.0),
    ("w", 7 * 86400.0),
    ("d", 86400.0),
    ("h", 3600.0),
    ("m", 60.0),
    ("s", 1.0),
    ("ms", 0.001),
)

# Anchored so that "5m " or "5 m" is rejected; order is enforced below.
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
_TOKEN = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_WHOLE = re.compile(DURATION_PATTERN)


class DurationError(ValueError):
    """A duration string that does not follow the Prometheus duration grammar."""


def parse_seconds(text: str) -> float:
    """Seconds in a duration string such as ``1h30m``; raises :class:`DurationError`."""
    if not isinstance(text, str):
        raise DurationError(_not_a_duration(text))
    return _parse_seconds(text)


def _not_a_duration(text: object) -> str:
    return (
        f"{text!r} is not a duration: expected digits followed by a unit "
        "(ms, s, m, h, d, w, y), e.g. 30s, 5m, 1h30m, 28d"
    )


# A spec's few duration strings are parsed on every tick (and every validation); the
# answer for a string never changes. Errors are raised again each time (not cached).
@functools.lru_cache(maxsize=1024)
def _parse_seconds(text: str) -> float:
    if not _WHOLE.match(text):
        raise DurationError(_not_a_duration(text))
    order = [unit for unit, _ in _UNITS]
    last = -1
    total = 0.0
    for number, unit in _TOKEN.findall(text):
        index = order.index(unit)
        if index <= last:
            raise DurationError(f"{text!r}: units must appear once each, largest first")
        last = index
        total += int(number) * dict(_UNITS)[unit]
    if total <= 0:
        raise DurationError(f"{text!r}: a duration must be longer than zero")
    return total


def parse(text: str) -> timedelta:
    """A duration string as a :class:`~datetime.timedelta`."""
    return timedelta(seconds=parse_seconds(text))


def format_seconds(seconds: float) -> str:
    """The shortest duration string for a whole number of milliseconds, e.g. 5400 -> ``1h30m``.

    Weeks and years are not used on output so the result reads naturally (``28d``).
    """
    millis = round(seconds * 1000)
    if millis <= 0:
        raise DurationError(f"cannot format a non-positive duration ({seconds} s)")
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, millis = divmod(millis, size * 1000)
        if count:
            parts.append(f"{count}{unit}")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts)


def format_timedelta(value: timedelta) -> str:
    """A :class:`~datetime.timedelta` as a duration string."""
    return format_seconds(value.total_seconds())
