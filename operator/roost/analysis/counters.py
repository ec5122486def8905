"""Per-tick increments from cumulative Prometheus counter values.

The sequential tests need non-overlapping increments. Differences of consecutive
cumulative values give them; ``increase(x[5m])`` sampled every 30 s does not (it
counts every request about ten times and inflates the evidence tenfold), and
``rate()``/``irate()`` values are not counts at all.
"""

import math
from collections.abc import Sequence


def increments(cumulative: Sequence[float], *, reset_on_decrease: bool = True) -> list[float]:
    """Increments between consecutive cumulative values, one fewer than the values.

    With ``reset_on_decrease`` (a raw counter of ONE series, e.g. one pod): the
    increment is v_t - v_{t-1} if that is >= 0, and v_t otherwise, since a drop
    means the counter restarted from zero, as Prometheus's ``rate`` reads it (vector
    V10, docs/references.md: 0, 120, 250, 40, 160 gives 120, 130, 40, 120). Apply it
    per series, before summing: a sum over pods only drops by the restarted pod's
    count, so "the new value" would double-count.

    Without it (cumulative values that PromQL ``increase()`` already made
    reset-safe, e.g. ``sum(increase(x[now - canary start]))``), a drop is
    extrapolation noise, and the increment is clamped at 0 instead.

    Every increment is >= 0. The first present value is the baseline. A missing
    value (NaN) is a missed scrape: its tick gets 0 and its counts carry over to
    the next value that is present. An infinite value raises ValueError.
    """
    result: list[float] = []
    previous: float | None = None
    for value in cumulative:
        if math.isnan(value):
            result.append(0.0)
            continue
        if math.isinf(value):
            raise ValueError(f"a counter value must be finite, got {value}")
        if previous is None:
            # Before the first present value there is no baseline to difference against.
            step = 0.0
        elif value >= previous:
            step = value - previous
        elif reset_on_decrease:
            step = value
        else:
            step = 0.0
        result.append(max(step, 0.0))
        # A clamped drop keeps the higher baseline, so the noise is not counted twice.
        previous = value if (reset_on_decrease or previous is None) else max(value, previous)
    return result[1:]
