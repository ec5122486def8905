"""Roost's changes to kopf's internals: two shortcuts around kopf's per-event costs.

Both reach into kopf's private API (``kopf._cogs``), which may change in any release:
pyproject.toml pins kopf below its next minor, and tests/unit/test_kopf_patches.py
fails when what is patched here (the functions, their signatures and their source)
is not what these patches were written against.

- :class:`StatusFreeDiffBaseStorage`: kopf's annotation diff-base, built without
  deep-copying the status and metadata it throws away (``settings.persistence``).
- :func:`install`: ``Patch.as_json_patch`` without the deep copy of the body when
  there is nothing to patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import kopf
from kopf._cogs.structs import patches as kopf_patches


class StatusFreeDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """kopf's annotation diff-base, built without deep-copying what it throws away.

    kopf builds an object's essence on every watch event (handlers or not) by
    deep-copying the whole body and then deleting ``status`` and all of ``metadata``
    but its labels and annotations. A canary's status (the sequential tests' state) is
    most of the body, and ``metadata.managedFields`` much of the rest: copying them on
    every event only to delete them is work that grows with the object and with N.
    Here they are left out before the copy, and of ``metadata`` only labels and
    annotations are copied. The essence is the same, unless a handler filters on a
    status or metadata field (none does; then the full body is used as before)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        fields = list(extra_fields or [])
        if not any(_field_root(f) in ("status", "metadata") for f in fields):
            kept: dict[str, Any] = {k: v for k, v in body.items() if k != "status"}
            meta = body.get("metadata")
            if isinstance(meta, Mapping):
                kept["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
            body = kopf.Body(cast(kopf.RawBody, kept))
        return super().build(body=body, extra_fields=fields)


def _field_root(field: Any) -> Any:
    path = field.split(".") if isinstance(field, str) else list(field)
    return path[0] if path else None


# kopf's own as_json_patch, kept before install() replaces it.
_as_json_patch = kopf_patches.Patch.as_json_patch


def _as_json_patch_if_any(self: kopf_patches.Patch, body: Any = None) -> kopf_patches.JSONPatch:
    """kopf 1.45's ``as_json_patch`` deep-copies the patched body before it checks that
    there is anything to patch; after every status merge patch it is called with no
    transformations (empty), so the copy of the whole object was thrown away, on every
    status patch. Same result, without the copy."""
    if not self:
        return []
    return _as_json_patch(self, body)


def install() -> None:
    """Replace kopf's ``Patch.as_json_patch`` with :func:`_as_json_patch_if_any`, for
    the whole process (kopf builds its patches itself). Calling it again changes nothing."""
    kopf_patches.Patch.as_json_patch = _as_json_patch_if_any  # type: ignore[method-assign]
