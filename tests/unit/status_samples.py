"""A canary's status mid-analysis and the same status one window later, shared by the
write-back policy's tests and the checkpoint tests of the handlers."""

from __future__ import annotations

from typing import Any

ANALYSING = {
    "phase": "Progressing",
    "stableRevision": "r1",
    "canaryRevision": "r2",
    "currentStep": 0,
    "canaryWeight": {"desired": 10, "applied": 10},
    "analyzedUntil": "2026-12-06T05:00:00Z",
    "lastAnalysis": {"verdict": "inconclusive", "step": 0, "reason": "TooFewRequests"},
    "comparison": [{"objective": "availability", "test": {"n": 1}}],
    "conditions": [{"type": "Ready", "status": "True"}],
}


def window(status: dict[str, Any], until: str, n: int) -> dict[str, Any]:
    """``status`` after one more analysis window with the same verdict."""
    return {
        **status,
        "analyzedUntil": until,
        "lastAnalysis": {**status["lastAnalysis"], "message": f"{n} requests"},
        "comparison": [{"objective": "availability", "test": {"n": n}}],
        "message": f"{n} requests",
    }
