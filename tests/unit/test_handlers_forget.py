"""A deleted ModelDeployment leaves nothing behind in the operator's per-object state."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import kopf

from roost.adapters.metrics_reader import DueTarget
from roost.handlers import forget
from roost.reconciler import Runtime


class FakeTelemetry:
    """Records which objects' metrics were dropped; the real one is tested on its own."""

    def __init__(self) -> None:
        self.forgotten: list[tuple[str, str]] = []

    def forget(self, namespace: str, name: str) -> None:
        self.forgotten.append((namespace, name))


def _memo(runtime: Runtime, uids: list[str]) -> kopf.Memo:
    memo = kopf.Memo()
    memo.runtime = runtime
    per_object: dict[str, Any] = {
        "reacted": (),
        "written": (0.0, {}),
        "held": None,
        "bodies": {},
        "wakes": asyncio.Event(),
    }
    for attribute, value in per_object.items():
        setattr(memo, attribute, {uid: value for uid in uids})
    return memo


def test_forget_drops_every_per_object_entry_of_the_deleted_object_only() -> None:
    telemetry = FakeTelemetry()
    runtime = Runtime(kube=None, telemetry=telemetry, default_prometheus_url=None)  # type: ignore[arg-type]
    memo = _memo(runtime, ["gone", "kept"])
    for uid, name in (("gone", "a"), ("kept", "b")):
        runtime.lock(uid)
        runtime.specs[uid] = ("{}", None)
        runtime.due[f"ns/{name}"] = DueTarget.__new__(DueTarget)
        runtime.due[f"ns/{name}#watch"] = DueTarget.__new__(DueTarget)  # the drift watch's

    forget(namespace="ns", name="a", meta=cast(kopf.Meta, {"uid": "gone"}), memo=memo)

    assert telemetry.forgotten == [("ns", "a")]
    for store in (memo.reacted, memo.written, memo.held, memo.bodies, memo.wakes):
        assert list(store) == ["kept"]
    assert list(runtime.locks) == ["kept"]
    assert list(runtime.specs) == ["kept"]
    assert list(runtime.due) == ["ns/b", "ns/b#watch"]
