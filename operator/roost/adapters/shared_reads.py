"""Reads that many ModelDeployments share: one request per key, reused while fresh.

The bucket bounds a Prometheus holds (the latency preflight) and the HPAs of a
namespace answer for every ModelDeployment that asks; a thousand objects ticking in
the same second must not send a thousand requests. A read in flight is awaited by
every caller (each through ``asyncio.shield``, so a caller cancelled does not cancel
it for the others); a finished one is reused while the caller's ``fresh(value, age)``
says so, else read again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedReads(Generic[K, V]):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._reads: dict[K, tuple[float, asyncio.Task[V]]] = {}

    async def get(
        self,
        key: K,
        read: Callable[[], Awaitable[V]],
        fresh: Callable[[V, float], bool],
    ) -> V:
        """The value for ``key``: the read in flight, or the last one if ``fresh(value,
        seconds since it was asked)``, else a new ``read()``. A read that raised is
        never reused."""
        now = self._clock()
        kept = self._reads.get(key)
        if kept is not None:
            asked_at, task = kept
            if not task.done():
                return await asyncio.shield(task)
            if not task.cancelled() and task.exception() is None:
                value = task.result()
                if fresh(value, now - asked_at):
                    return value
        task = asyncio.ensure_future(read())
        self._reads[key] = (now, task)
        return await asyncio.shield(task)

    def __len__(self) -> int:
        return len(self._reads)
