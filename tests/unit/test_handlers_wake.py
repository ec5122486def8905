"""A canary Deployment's readiness wakes its ModelDeployment's ticker when a weight waits."""

from __future__ import annotations

import asyncio

import kopf

from roost import handlers

ANALYSING = {
    "phase": "Progressing",
    "currentStep": 0,
    "canaryWeight": {"desired": 10, "applied": 10},
    "observedGeneration": 1,
}


def test_a_ready_canary_wakes_its_owner_only_when_a_weight_waits() -> None:
    memo = kopf.Memo()
    waiting = {**ANALYSING, "canaryWeight": {"desired": 20, "applied": 10}}
    memo.bodies = {
        "waits": {"metadata": {"generation": 1}, "status": {**waiting, "observedGeneration": 1}},
        "steady": {"metadata": {"generation": 1}, "status": {**ANALYSING, "observedGeneration": 1}},
    }
    memo.wakes = {uid: asyncio.Event() for uid in memo.bodies}

    for uid in ("waits", "steady", "unknown"):
        handlers._wake_ready(memo, uid)

    assert memo.wakes["waits"].is_set()
    assert not memo.wakes["steady"].is_set()
