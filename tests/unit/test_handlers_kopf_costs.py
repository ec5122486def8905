"""The handlers' shortcuts around kopf's per-event costs give kopf's own results."""

from __future__ import annotations

import copy
import logging
from typing import Any

import kopf
import pytest
from kopf._cogs.structs import patches as kopf_patches

from roost.handlers import QuietSuccess, StatusFreeDiffBaseStorage
from roost.workloads import PREFIX

BODY: dict[str, Any] = {
    "apiVersion": "roost.dev/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {
        "name": "m",
        "namespace": "ns",
        "uid": "u1",
        "resourceVersion": "7",
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}}],
        "generation": 3,
        "labels": {"team": "a"},
        "annotations": {
            "note": "kept",
            f"{PREFIX}/last-handled-configuration": "{}",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    },
    "spec": {"model": {"version": "v2"}, "replicas": 2},
    "status": {
        "phase": "Progressing",
        "comparison": [{"objective": "a", "test": {"failLogLikelihood": [0.5, -1.25, 3.0]}}],
        "conditions": [{"type": "Ready", "status": "True"}],
    },
}


def _storages() -> tuple[kopf.AnnotationsDiffBaseStorage, StatusFreeDiffBaseStorage]:
    key = "last-handled-configuration"
    return (
        kopf.AnnotationsDiffBaseStorage(prefix=PREFIX, key=key),
        StatusFreeDiffBaseStorage(prefix=PREFIX, key=key),
    )


@pytest.mark.parametrize(
    "extra_fields",
    [
        None,
        [],
        ["spec.replicas"],
        ["status.phase"],
        [("status", "phase")],
        ["metadata.generation"],
        [("metadata", "managedFields")],
    ],
)
def test_the_essence_is_kopfs_own(extra_fields: list[Any] | None) -> None:
    kopfs, ours = _storages()
    expected = kopfs.build(body=kopf.Body(copy.deepcopy(BODY)), extra_fields=extra_fields)
    built = ours.build(body=kopf.Body(copy.deepcopy(BODY)), extra_fields=extra_fields)
    assert built == expected
    assert ("status" in built) == bool(extra_fields and "status" in str(extra_fields[0]))
    assert ("managedFields" in built["metadata"]) == ("managedFields" in str(extra_fields))


def test_the_essence_copies_neither_status_nor_metadata_but_labels_and_annotations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copied: list[Any] = []
    real = copy.deepcopy

    def counting(value: Any, *args: Any) -> Any:
        copied.append(value)
        return real(value, *args)

    _, ours = _storages()
    body = kopf.Body(copy.deepcopy(BODY))
    monkeypatch.setattr("kopf._cogs.configs.diffbase.copy.deepcopy", counting)
    ours.build(body=body)
    assert copied  # the first copy is of the whole body, the rest nested in it
    assert "spec" in copied[0]
    assert "status" not in copied[0]
    assert set(copied[0]["metadata"]) == {"labels", "annotations"}
    assert not any(c == BODY["status"]["conditions"] for c in copied)
    assert not any(c == BODY["metadata"]["managedFields"] for c in copied)


def test_an_empty_json_patch_copies_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    copies: list[Any] = []
    real = copy.deepcopy
    monkeypatch.setattr(
        "kopf._cogs.structs.patches.copy.deepcopy",
        lambda value, *a: copies.append(value) or real(value, *a),
    )
    assert kopf_patches.Patch().as_json_patch(BODY) == []
    assert copies == []


def test_a_json_patch_with_transformations_is_still_built() -> None:
    def add_finalizer(body: Any) -> None:
        body["metadata"].setdefault("finalizers", []).append("x")

    patch = kopf_patches.Patch(fns=[add_finalizer])
    assert patch.as_json_patch(copy.deepcopy(BODY)) == [
        {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}
    ]


def _record(message: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_react_success_lines_are_dropped_unless_debugging() -> None:
    quiet = QuietSuccess()
    kopf_logger = logging.getLogger("kopf.objects")
    old = kopf_logger.level
    try:
        kopf_logger.setLevel(logging.INFO)
        assert not quiet.filter(_record("Handler 'react' succeeded."))
        assert quiet.filter(_record("Handler 'validate_policy' succeeded."))
        assert quiet.filter(_record("Handler 'react' failed with an exception. Will retry."))
        assert quiet.filter(_record("Handler 'react' succeeded.", logging.WARNING))
        assert quiet.filter(_record({"not": "a string"}))
        kopf_logger.setLevel(logging.DEBUG)
        assert quiet.filter(_record("Handler 'react' succeeded."))
    finally:
        kopf_logger.setLevel(old)
