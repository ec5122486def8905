"""A deleted ModelDeployment leaves nothing behind in the operator's memory: not its
record, not a due window in the metrics reader's batches, even when its tick was still
running or its last watch events arrive after the delete."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import kopf
import pytest

from roost import handlers
from roost.adapters.metrics_reader import DueTarget
from roost.adapters.telemetry import Telemetry
from roost.memory import ObjectMemory
from roost.reconciler import Runtime, TickResult
from roost.settings import Settings
from roost.writeback import Held

RESOURCE = kopf.Resource("roost.dev", "v1alpha1", "modeldeployments", namespaced=True)


class SpyTelemetry(Telemetry):
    """The operator's metrics, noting which objects' series were dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.forgotten: list[tuple[str, str]] = []

    def forget(self, namespace: str, name: str) -> None:
        self.forgotten.append((namespace, name))
        super().forget(namespace, name)


def _memo() -> kopf.Memo:
    memo = kopf.Memo()
    memo.runtime = Runtime(kube=None, telemetry=SpyTelemetry(), default_prometheus_url=None)  # type: ignore[arg-type]
    memo.config = Settings()
    return memo


def _due() -> DueTarget:
    return DueTarget.__new__(DueTarget)  # never read here: only counted


def _fill(memory: ObjectMemory) -> None:
    """Every field a tick and the watch events set."""
    memory.body = {"metadata": {"uid": memory.uid}}
    memory.reacted = (1, "Progressing")
    memory.written = (0.0, {})
    memory.held = Held(due=0.0, base={}, status={})
    memory.validated[dict] = ("{}", {})
    memory.due, memory.watch_due = _due(), _due()
    memory.wake.set()


def _forget(memo: kopf.Memo, uid: str, name: str) -> None:
    handlers.forget(namespace="ns", name=name, meta=cast(kopf.Meta, {"uid": uid}), memo=memo)


def test_forget_drops_the_deleted_objects_record_and_nothing_else() -> None:
    memo = _memo()
    runtime: Runtime = memo.runtime
    for uid, name in (("gone", "a"), ("kept", "b")):
        _fill(runtime.objects.open(uid, "ns", name))
    kept = runtime.objects.get("kept")
    assert kept is not None

    _forget(memo, "gone", "a")

    assert cast(SpyTelemetry, runtime.telemetry).forgotten == [("ns", "a")]
    assert [m.uid for m in runtime.objects] == ["kept"]
    assert runtime.objects.due_targets() == [kept.due, kept.watch_due]


class DeletedWhileTicking:
    """A fake reconciler: the object is deleted while its tick runs; the tick then
    registers its next window and returns a decision, as a real tick would."""

    memo: kopf.Memo

    def __init__(self, runtime: Runtime) -> None:
        pass

    async def tick(self, memory: ObjectMemory, **_: Any) -> TickResult:
        _forget(self.memo, memory.uid, memory.name)
        memory.due = memory.watch_due = _due()
        return TickResult(status={"phase": "Progressing", "canaryWeight": {"desired": 20}})


def test_a_tick_that_ends_after_the_delete_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = _memo()
    runtime: Runtime = memo.runtime
    sent: list[dict[str, Any]] = []

    async def capture(url: str, payload: dict[str, Any], *_: Any) -> None:
        sent.append(payload)

    DeletedWhileTicking.memo = memo
    monkeypatch.setattr(handlers, "Reconciler", DeletedWhileTicking)
    monkeypatch.setattr(handlers, "_merge_patch", capture)
    memory = runtime.objects.open("uid-1", "ns", "m")
    body = {"metadata": {"namespace": "ns", "name": "m", "uid": "uid-1"}, "status": {}}

    asyncio.run(
        handlers._tick(
            body,
            RESOURCE,
            memory,
            memo,
            cast(kopf.Index[Any, Any], {}),
            cast(kopf.Logger, logging.getLogger("test")),
        )
    )

    assert len(sent) == 1  # the decision went out (the apiserver answers 404 for it)
    assert memory.written is not None  # into the record nobody reaches any more
    assert len(runtime.objects) == 0
    assert runtime.objects.due_targets() == []


@pytest.mark.parametrize("deleting", [True, False])
def test_watch_events_after_the_delete_bring_no_record_back(deleting: bool) -> None:
    memo = _memo()
    runtime: Runtime = memo.runtime
    _fill(runtime.objects.open("uid-1", "ns", "m"))
    _forget(memo, "uid-1", "m")
    meta: dict[str, Any] = {"namespace": "ns", "name": "m", "uid": "uid-1", "generation": 2}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-07T07:00:00Z"
    status = {"phase": "Stable", "observedGeneration": 1}  # a new spec: would wake the ticker

    for kind in ("MODIFIED", "DELETED"):
        asyncio.run(
            handlers.react(
                event=cast(
                    kopf.RawEvent, {"type": kind, "object": {"metadata": meta, "status": status}}
                ),
                status=cast(kopf.Status, status),
                meta=cast(kopf.Meta, meta),
                uid="uid-1",
                memo=memo,
            )
        )

    # Marked for deletion, the object gets no new record; an event without the mark is a
    # new object of the same uid only in this test, and gets a fresh one.
    assert len(runtime.objects) == (0 if deleting else 1)
    fresh = runtime.objects.get("uid-1")
    assert fresh is None or (fresh.due is None and fresh.held is None)
