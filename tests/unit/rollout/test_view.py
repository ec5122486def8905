"""roost status renders a rollout as a tree from the object alone."""

from __future__ import annotations

import copy
from typing import Any

from roost.rollout.view import render_tree

BODY: dict[str, Any] = {
    "metadata": {"name": "m", "namespace": "smoke"},
    "spec": {
        "model": {"name": "m", "version": "v2"},
        "sloPolicyRef": {"name": "p"},
        "template": {"spec": {"containers": [{"name": "c", "image": "m:v2"}]}},
        "rollout": {"steps": [{"weight": 25}, {"weight": 50, "pause": "2m"}]},
    },
    "status": {
        "phase": "Progressing",
        "stableVersion": "v1",
        "canaryVersion": "v2",
        "canaryRevision": "abc",
        "canaryWeight": {"desired": 50, "applied": 50, "effective": 50},
        "currentStep": 1,
        "lastAnalysis": {
            "at": "2026-01-01T00:00:00Z",
            "verdict": "inconclusive",
            "reason": "InsufficientEvidence",
            "message": "few",
            "step": 1,
            "canaryWeight": 50,
            "gates": [
                {
                    "objective": "availability",
                    "gate": "burnRate",
                    "outcome": "inconclusive",
                    "lnEFail": -1.0,
                    "lnEPass": 2.0,
                    "failThreshold": 5.3,
                    "passThreshold": 4.61,
                    "canary": {"total": 1000, "bad": 1},
                    "burnRate": 1.0,
                    "pValue": 1.0,
                }
            ],
        },
        "someFieldFromANewerVersion": True,
    },
}


def test_the_tree_shows_steps_weights_and_the_last_verdict_with_numbers() -> None:
    text = render_tree(BODY)
    assert "Phase:       Progressing" in text
    assert "✔ 1. weight 25%" in text
    assert "▶ 2. weight 50%  pause 2m" in text
    assert "desired 50%, applied 50%, effective 50%" in text
    assert "availability/burnRate" in text
    assert "(1/1000 bad)" in text
    assert "ln E fail -1.00/5.30, pass 2.00/4.61" in text


def test_an_object_without_status_renders() -> None:
    text = render_tree({**BODY, "status": None})
    assert "Phase:       Unknown" in text


def test_a_distribution_gate_shows_its_statistic_and_counts() -> None:
    gate = {
        "objective": "score",
        "gate": "distribution",
        "outcome": "fail",
        "lnEFail": 17.7,
        "lnEPass": 0.0,
        "failThreshold": 5.7,
        "passThreshold": 4.61,
        "canary": {"total": 159, "bad": 0},
        "pValue": 0.0,
        "distribution": {
            "statistic": "psi",
            "value": 0.719,
            "threshold": 0.25,
            "warnThreshold": 0.1,
            "action": "rollback",
            "minSamples": 1000,
            "windows": 1,
            "psi": 0.719,
            "ks": 0.338,
        },
    }
    body = {**BODY, "status": {**BODY["status"]}}
    body["status"]["lastAnalysis"] = {**BODY["status"]["lastAnalysis"], "gates": [gate]}
    text = render_tree(body)
    assert "score/distribution" in text
    assert "psi 0.72 (fails at 0.25), PSI 0.72, KS 0.34; 159 canary predictions" in text


def test_the_drift_watch_is_listed_with_its_stage_and_numbers() -> None:
    status = {
        **BODY["status"],  # type: ignore[dict-item]
        "drift": [
            {
                "name": "score-watch",
                "version": "v1",
                "stage": "Drifted",
                "statistic": "psi",
                "threshold": 0.25,
                "warnThreshold": 0.1,
                "action": "alert",
                "lnAlarm": 9.21,
                "message": "psi 0.700 (drift at 0.25) over the last 3 windows",
                "state": {},
            }
        ],
    }
    text = render_tree({**BODY, "status": status})
    assert "Drift watch:" in text
    assert "score-watch" in text
    assert "Drifted" in text
    assert "psi 0.700 (drift at 0.25)" in text


def test_the_tree_says_how_much_evidence_is_missing_and_when_it_may_come() -> None:
    body = {**BODY, "status": {**BODY["status"]}}  # type: ignore[dict-item]
    analysis = dict(body["status"]["lastAnalysis"])  # type: ignore[index]
    gate = {
        **analysis["gates"][0],
        "lnEStep": 2.0,
        "stepThreshold": 1.1,
        "requestsToPass": 1234.2,
    }
    analysis["gates"] = [gate]
    analysis["forecast"] = {
        "canaryRate": 0.3,
        "promotableInSeconds": 2100,
        "atLeastSeconds": 1800,
        "deadlineInSeconds": 6000,
        "objectives": [
            {
                "objective": "availability",
                "rate": 0.3,
                "promotableInSeconds": 2100,
                "atLeastSeconds": 1800,
            }
        ],
    }
    body["status"]["lastAnalysis"] = analysis  # type: ignore[index]
    text = render_tree(body)
    assert "pass 2.00/4.61, step 2.00/1.10; ~1,235 more requests to pass (~35m)" in text
    assert "Forecast:    promotable in ~35m at 0.30 canary req/s" in text


def _with_capacity(service_time: dict[str, object]) -> dict[str, object]:
    capacity = {
        "arrivalRate": 12.0,
        "offeredLoad": 0.53,
        "slots": 4,
        "replicas": 1,
        "canaryReplicas": 0,
        "stableReplicas": 1,
        "pWait": 0.01,
        "p99WaitSeconds": 0.0,
        "serviceTime": service_time,
    }
    return {**BODY, "status": {**BODY["status"], "capacity": capacity}}  # type: ignore[dict-item]


def test_the_service_time_says_what_was_learned_and_from_how_many_requests() -> None:
    learned = {
        "seconds": 0.044,
        "secondsFrom": "learned",
        "cv": 0.33,
        "cvFrom": "learned",
        "requests": 12345,
        "window": "1h",
        "learnedCv": 0.31,
        "learnedCvInterval": [0.29, 0.334],
        "family": "gamma",
    }
    assert (
        "Service time: 44 ms learned from 12,345 requests in 1h, CV 0.33 learned "
        "(fit 0.31, 95 % 0.29-0.33, gamma)"
    ) in render_tree(_with_capacity(learned))
    unlearned = {
        "seconds": 0.1,
        "secondsFrom": "default",
        "cv": 1.0,
        "cvFrom": "default",
        "window": "1h",
        "note": "37 requests in 1h; learning needs 200",
    }
    assert (
        "Service time: 100 ms default, CV 1 default; 37 requests in 1h; learning needs 200"
    ) in render_tree(_with_capacity(unlearned))


def test_a_shadow_step_shows_its_mirror() -> None:
    body = copy.deepcopy(BODY)
    body["spec"]["traffic"] = {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "m"}}
    body["spec"]["rollout"] = {"steps": [{"mirror": 100}, {"weight": 50}]}
    body["status"]["currentStep"] = 0
    body["status"]["canaryWeight"] = {"desiredMirror": 100, "appliedMirror": 100}
    text = render_tree(body)
    assert "▶ 1. mirror 100%" in text
    assert "2. weight 50%" in text
    assert "Mirror:      desired 100%, applied 100% of requests copied to the canary" in text


def test_a_header_matched_step_shows_its_headers() -> None:
    body = copy.deepcopy(BODY)
    body["spec"]["traffic"] = {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "m"}}
    testers = {"headers": [{"name": "x-tester", "value": "1"}]}
    body["spec"]["rollout"] = {"steps": [{"match": testers}, {"weight": 50}]}
    body["status"]["currentStep"] = 0
    assert "▶ 1. match x-tester: 1" in render_tree(body)
