"""roost.kopf_patches: the shortcuts around kopf's per-event costs give kopf's own
results, and kopf's internals they patch are still the ones they were written against.

The guards below fail when kopf changes what is patched (a new kopf minor, or a patch
release that touches these functions). Then read the kopf functions named in the
failure, check the patch in roost/kopf_patches.py still gives kopf's result (the
equivalence tests here) and update the recorded digests and the kopf bound in
pyproject.toml together.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any

import kopf
import pytest
from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import errors as kopf_errors
from kopf._cogs.configs import diffbase as kopf_diffbase
from kopf._cogs.structs import patches as kopf_patches_module
from kopf._cogs.structs import references as kopf_references

from roost import kopf_patches
from roost.kopf_patches import StatusFreeDiffBaseStorage
from roost.workloads import PREFIX

# --- guards: what the patches rely on in kopf's internals -----------------------------


def test_kopf_is_the_minor_the_patches_were_written_for() -> None:
    version = importlib.metadata.version("kopf")
    assert version.split(".")[:2] == ["1", "45"], (
        f"kopf {version}: roost/kopf_patches.py was written against kopf 1.45; "
        "check it against this kopf (see this module's docstring)"
    )


def _digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


# kopf's functions a patch replaces, wraps or hands a changed body to; their source as
# in kopf 1.45.2.
PATCHED: dict[str, tuple[Callable[..., Any], str]] = {
    "DiffBaseStorage.build": (
        kopf_diffbase.DiffBaseStorage.build,
        "e018d8276c04d889f8bb5736b69a430437b2a904e16b09ae90567ac58225f103",
    ),
    "AnnotationsDiffBaseStorage.build": (
        kopf.AnnotationsDiffBaseStorage.build,
        "f8b0a92c1aaaa7a09d702fff395b8577127ceb4e86d00840276acae716797993",
    ),
    "AnnotationsDiffBaseStorage.mark_key": (
        kopf.AnnotationsDiffBaseStorage.mark_key,
        "e5137b7e4980a1b6964993a6285e3b098f56480b7f26550566920f3e7235805f",
    ),
    "Patch.as_json_patch": (
        kopf_patches._as_json_patch,  # kopf's own, kept before install() replaced it
        "3d5e5a7f22887536486002d9180cc2066815c0f9f42fc228eb952fb196b03878",
    ),
    "Patch.__bool__": (
        kopf_patches_module.Patch.__bool__,
        "b2a951441943817b2735faac21221904b63272c07bf65a8b9b3d3ba1813321f6",
    ),
}


@pytest.mark.parametrize("name", sorted(PATCHED))
def test_the_kopf_functions_patched_are_unchanged(name: str) -> None:
    function, digest = PATCHED[name]
    assert _digest(function) == digest, (
        f"kopf's {function.__module__}.{function.__qualname__} changed: check "
        "roost/kopf_patches.py against it before updating this digest"
    )


def test_the_diffbase_build_is_keyword_only_body_and_extra_fields() -> None:
    parameters = inspect.signature(kopf.AnnotationsDiffBaseStorage.build).parameters
    assert list(parameters) == ["self", "body", "extra_fields"]
    assert parameters["body"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["extra_fields"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["extra_fields"].default is None
    # The essence is copied with copy.deepcopy from the module (counted below).
    assert kopf_diffbase.copy.deepcopy is copy.deepcopy


def test_as_json_patch_takes_an_optional_body_and_an_empty_patch_is_falsy() -> None:
    original = kopf_patches._as_json_patch
    assert original.__module__ == "kopf._cogs.structs.patches"
    assert original.__qualname__ == "Patch.as_json_patch"
    parameters = inspect.signature(original).parameters
    assert list(parameters) == ["self", "body"]
    assert parameters["body"].default is None
    assert not kopf_patches_module.Patch()
    assert kopf_patches_module.Patch({"status": {"a": 1}})
    assert kopf_patches_module.Patch(fns=[lambda body: None])
    assert kopf_patches_module.copy.deepcopy is copy.deepcopy


def test_the_private_kopf_names_the_handlers_use_exist() -> None:
    parameters = inspect.signature(kopf_api.request).parameters
    assert list(parameters)[:2] == ["method", "url"]
    assert {"settings", "payload", "headers", "logger"} <= set(parameters)
    assert inspect.iscoroutinefunction(kopf_api.request)
    assert issubclass(kopf_errors.APINotFoundError, Exception)
    assert kopf_references.NamespaceName("ns") == "ns"


def test_install_replaces_as_json_patch_once_and_keeps_kopfs() -> None:
    kopf_patches.install()
    kopf_patches.install()
    assert kopf_patches_module.Patch.as_json_patch is kopf_patches._as_json_patch_if_any
    assert kopf_patches._as_json_patch is not kopf_patches._as_json_patch_if_any


# --- the patches give kopf's own results ----------------------------------------------

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
    kopf_patches.install()
    copies: list[Any] = []
    real = copy.deepcopy
    monkeypatch.setattr(
        "kopf._cogs.structs.patches.copy.deepcopy",
        lambda value, *a: copies.append(value) or real(value, *a),
    )
    assert kopf_patches_module.Patch().as_json_patch(BODY) == []
    assert copies == []


def test_a_json_patch_with_transformations_is_still_built() -> None:
    kopf_patches.install()

    def add_finalizer(body: Any) -> None:
        body["metadata"].setdefault("finalizers", []).append("x")

    patch = kopf_patches_module.Patch(fns=[add_finalizer])
    assert patch.as_json_patch(copy.deepcopy(BODY)) == [
        {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}
    ]


def test_a_merge_patch_gives_kopfs_json_patch() -> None:
    kopf_patches.install()
    patch = kopf_patches_module.Patch({"status": {"phase": "Succeeded"}})
    expected = kopf_patches._as_json_patch(patch, copy.deepcopy(BODY))
    assert patch.as_json_patch(copy.deepcopy(BODY)) == expected
    assert expected == [{"op": "replace", "path": "/status/phase", "value": "Succeeded"}]
