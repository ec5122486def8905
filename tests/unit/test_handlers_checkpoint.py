"""Analysis evidence that changes no decision waits in memory for the checkpoint; a
decision is written at once, with the evidence held before it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, cast

import kopf
import pytest
from status_samples import ANALYSING, window

from roost import handlers
from roost.adapters.telemetry import Telemetry
from roost.memory import ObjectMemory
from roost.reconciler import Runtime, TickResult
from roost.settings import Settings

# Not the default (30 s): the ticks below are timed for this one, read from memo.config.
CHECKPOINT_SECONDS = 12.0


class FakeReconciler:
    """Hands out prepared status patches in order and records the status each tick
    decided from; the real reconciler is tested end to end."""

    patches: ClassVar[list[dict[str, Any]]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, runtime: Runtime) -> None:
        pass

    async def tick(
        self, memory: ObjectMemory, *, raw_status: dict[str, Any], **_: Any
    ) -> TickResult:
        FakeReconciler.seen.append(raw_status)
        return TickResult(status=FakeReconciler.patches.pop(0))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The status patches _tick sends, instead of sending them."""
    payloads: list[dict[str, Any]] = []

    async def capture(url: str, payload: dict[str, Any], memo: Any, logger: Any) -> None:
        payloads.append(payload["status"])

    monkeypatch.setattr(handlers, "Reconciler", FakeReconciler)
    monkeypatch.setattr(handlers, "_merge_patch", capture)
    FakeReconciler.patches, FakeReconciler.seen = [], []
    return payloads


def _memo() -> kopf.Memo:
    memo = kopf.Memo()
    memo.runtime = Runtime(kube=None, telemetry=Telemetry(), default_prometheus_url=None)  # type: ignore[arg-type]
    memo.config = Settings(checkpoint_seconds=CHECKPOINT_SECONDS)
    return memo


def _memory(memo: kopf.Memo) -> ObjectMemory:
    runtime: Runtime = memo.runtime
    return runtime.objects.open("uid-1", "ns", "m")


def _tick(body: dict[str, Any], memo: kopf.Memo) -> None:
    asyncio.run(
        handlers._tick(
            body,
            kopf.Resource("roost.dev", "v1alpha1", "modeldeployments", namespaced=True),
            _memory(memo),
            memo,
            cast(kopf.Index[Any, Any], {}),
            cast(kopf.Logger, logging.getLogger("test")),
        )
    )


def test_held_evidence_is_decided_from_and_goes_out_with_the_checkpoint(
    sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(handlers.time, "monotonic", clock)
    body = {"metadata": {"namespace": "ns", "name": "m"}, "status": ANALYSING}
    memo = _memo()
    second = window(ANALYSING, "2026-12-06T05:00:10Z", 2)
    third = window(ANALYSING, "2026-12-06T05:00:20Z", 3)
    FakeReconciler.patches = [second, third, window(ANALYSING, "2026-12-06T05:00:30Z", 4)]

    _tick(body, memo)
    assert sent == []
    clock.now += CHECKPOINT_SECONDS / 2 - 1  # written between half the checkpoint and all
    _tick(body, memo)  # the body still shows the first window; the tick decides from held
    assert FakeReconciler.seen[1] == second
    assert sent == []
    clock.now += CHECKPOINT_SECONDS / 2 + 1
    _tick(body, memo)

    assert FakeReconciler.seen[2] == third
    assert len(sent) == 1
    assert sent[0]["analyzedUntil"] == "2026-12-06T05:00:30Z"
    assert sent[0]["comparison"] == [{"objective": "availability", "test": {"n": 4}}]
    assert _memory(memo).held is None


def test_a_decision_sends_the_held_evidence_with_it(sent: list[dict[str, Any]]) -> None:
    body = {"metadata": {"namespace": "ns", "name": "m"}, "status": ANALYSING}
    memo = _memo()
    second = window(ANALYSING, "2026-12-06T05:00:10Z", 2)
    stepped = {
        **window(ANALYSING, "2026-12-06T05:00:20Z", 3),
        "canaryWeight": {"desired": 20, "applied": 10},
    }
    FakeReconciler.patches = [second, stepped]

    _tick(body, memo)
    _tick(body, memo)

    assert len(sent) == 1
    assert sent[0]["canaryWeight"] == {"desired": 20}
    assert sent[0]["analyzedUntil"] == "2026-12-06T05:00:20Z"
    memory = _memory(memo)
    assert memory.held is None
    assert memory.written is not None
    assert memory.written[1]["canaryWeight"] == stepped["canaryWeight"]
