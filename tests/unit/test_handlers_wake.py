"""A canary Deployment's readiness wakes its ModelDeployment's ticker when a weight waits."""

from __future__ import annotations

from roost import handlers
from roost.memory import Memories

ANALYSING = {
    "phase": "Progressing",
    "currentStep": 0,
    "canaryWeight": {"desired": 10, "applied": 10},
    "observedGeneration": 1,
}


def test_a_ready_canary_wakes_its_owner_only_when_a_weight_waits() -> None:
    objects = Memories()
    waiting = {**ANALYSING, "canaryWeight": {"desired": 20, "applied": 10}}
    bodies = {
        "waits": {"metadata": {"generation": 1}, "status": {**waiting, "observedGeneration": 1}},
        "steady": {"metadata": {"generation": 1}, "status": {**ANALYSING, "observedGeneration": 1}},
    }
    for uid, body in bodies.items():
        objects.open(uid, "ns", uid).body = body

    for uid in ("waits", "steady", "unknown"):
        handlers._wake_ready(objects, uid)

    assert [m.uid for m in objects if m.wake.is_set()] == ["waits"]
    assert objects.get("unknown") is None  # a Deployment of no known object creates no record
