"""Reads shared by many ModelDeployments (the preflight's bucket bounds, a namespace's
HPAs): one request in flight per key, reused while fresh, never reused after failing."""

from __future__ import annotations

import asyncio

import pytest

from roost.adapters.shared_reads import SharedReads


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A fake read: counts its calls, answers when released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail = False

    async def read(self) -> int:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("apiserver said no")
        return self.calls


def young(_: int, age: float) -> bool:
    return age < 15


def test_callers_at_once_share_one_read_and_one_cancelled_leaves_the_others() -> None:
    async def scenario() -> None:
        reads: SharedReads[str, int] = SharedReads(Clock())
        source = Source()
        waiting = [asyncio.ensure_future(reads.get("ns", source.read, young)) for _ in range(3)]
        await asyncio.sleep(0)
        waiting[0].cancel()
        source.release.set()
        assert await asyncio.gather(*waiting[1:]) == [1, 1]
        assert source.calls == 1

    asyncio.run(scenario())


def test_a_fresh_answer_is_reused_a_stale_one_read_again() -> None:
    async def scenario() -> None:
        clock = Clock()
        reads: SharedReads[str, int] = SharedReads(clock)
        source = Source()
        source.release.set()
        assert await reads.get("ns", source.read, young) == 1
        clock.now += 14
        assert await reads.get("ns", source.read, young) == 1
        clock.now += 2
        assert await reads.get("ns", source.read, young) == 2
        assert await reads.get("other", source.read, young) == 3  # keys apart
        assert len(reads) == 2

    asyncio.run(scenario())


def test_a_failed_read_raises_for_its_callers_and_is_never_reused() -> None:
    async def scenario() -> None:
        reads: SharedReads[str, int] = SharedReads(Clock())
        source = Source()
        source.release.set()
        source.fail = True
        with pytest.raises(RuntimeError, match="apiserver said no"):
            await reads.get("ns", source.read, young)
        source.fail = False
        assert await reads.get("ns", source.read, young) == 2

    asyncio.run(scenario())
