"""Roost's Deployments as the apiserver last showed them: one list and watch, not a GET
per ModelDeployment per tick.

Every tick of a rollout reads its canary Deployment's ready replicas. At 1,000
ModelDeployments that was 200 GETs a second to the apiserver. This watch lists the
Deployments labelled ``app.kubernetes.io/managed-by: roost`` (a server-side
selector: nothing else in the cluster is sent) once, then follows their changes,
in one thread per watched namespace (or one for all). A tick reads the copy.

Only what a tick reads is kept of each Deployment (its identity and owners, the
replicas it wants and its replica counts, see :func:`summary`). A whole body, with
pod template and managedFields, is many times that, and a rollout holds two
Deployments per ModelDeployment, so whole bodies would grow the operator's memory
with N for nothing (B3 in docs/benchmarks.md measures the memory).

The copy is only trusted while its watch is synced. A Deployment it does not hold
(one Roost created a moment ago, whose ADDED event is still on its way) is read with
a GET, so a new canary is never taken for a missing one. When the watch is refused
(RBAC without ``list``/``watch`` on deployments) or breaks, its namespace falls back
to GETs until it has listed again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.watch.watch import iter_resp_lines

SELECTOR = "app.kubernetes.io/managed-by=roost"
# A watch is re-opened after this long (the apiserver ends it about then anyway).
WATCH_SECONDS = 300
RETRY_SECONDS = 2.0

_log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)


class DeploymentWatch:
    """The last seen :func:`summary` of each of Roost's Deployments, per watched
    namespace."""

    def __init__(
        self,
        api: client.ApiClient,
        namespaces: Sequence[str] = (),
        *,
        on_ready_change: Callable[[str], None] | None = None,
    ) -> None:
        """``namespaces`` empty: all namespaces (one cluster-wide watch).

        ``on_ready_change(owner_uid)`` is called from the watch thread when a
        Deployment's ready replicas change (a canary just became ready), with the uid of
        the ModelDeployment that owns it."""
        self._apps = client.AppsV1Api(api)
        self._on_ready_change = on_ready_change
        self._scopes: list[str | None] = list(namespaces) or [None]
        self._bodies: dict[Key, dict[str, Any]] = {}
        self._synced: set[str | None] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._responses: list[Any] = []  # open watch responses, interrupted by stop()
        self.events = 0
        self.relists = 0

    def start(self) -> DeploymentWatch:
        for scope in self._scopes:
            thread = threading.Thread(
                target=self._follow, args=(scope,), name=f"roost-deployments-{scope or 'all'}"
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """End the watch threads without waiting for them: each open watch's socket is
        shut down, so the thread blocked reading it sees the end of the stream at once,
        closes the response and returns."""
        self._stop.set()
        for response in list(self._responses):
            _interrupt(response)

    @property
    def running(self) -> bool:
        """Whether a watch thread is still alive (after :meth:`stop`: not yet ended)."""
        return any(thread.is_alive() for thread in self._threads)

    def synced(self, namespace: str) -> bool:
        return None in self._synced or namespace in self._synced

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Deployment's last seen :func:`summary`; None when the watch does not hold
        it (not synced, or not seen yet): then ask the apiserver."""
        if not self.synced(namespace):
            return None
        return self._bodies.get((namespace, name))

    # --- the watch thread -----------------------------------------------------------

    def _list(self, scope: str | None) -> tuple[dict[Key, dict[str, Any]], str]:
        if scope is None:
            response = self._apps.list_deployment_for_all_namespaces(
                label_selector=SELECTOR, _preload_content=False
            )
        else:
            response = self._apps.list_namespaced_deployment(
                scope, label_selector=SELECTOR, _preload_content=False
            )
        try:
            listing = json.loads(response.data)
        finally:
            response.release_conn()
        bodies = {_key(item): summary(item) for item in listing.get("items") or []}
        return bodies, str(listing["metadata"]["resourceVersion"])

    def _method(self, scope: str | None) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        if scope is None:
            return self._apps.list_deployment_for_all_namespaces, ()
        return self._apps.list_namespaced_deployment, (scope,)

    def _follow(self, scope: str | None) -> None:
        refused_logged = False
        while not self._stop.is_set():
            try:
                bodies, version = self._list(scope)
                self.relists += 1
                for key in [k for k in self._bodies if scope is None or k[0] == scope]:
                    if key not in bodies:
                        del self._bodies[key]
                self._bodies.update(bodies)
                self._synced.add(scope)
                version = self._watch(scope, version)
            except ApiException as error:
                self._synced.discard(scope)
                if error.status in (401, 403) and not refused_logged:
                    _log.warning(
                        "cannot list/watch Deployments (%s): reading them with a GET per tick; "
                        "grant list and watch on apps/deployments to save those",
                        error.reason,
                    )
                    refused_logged = True
            except Exception as error:  # a broken connection: list again
                self._synced.discard(scope)
                _log.debug("deployment watch ended: %s", error)
            if not self._stop.is_set():
                time.sleep(RETRY_SECONDS)

    def _watch(self, scope: str | None, version: str) -> str:
        """Follow changes from ``version`` until the apiserver ends the watch; returns the
        last version seen. Raises ApiException on an ERROR event (410 Gone: too old, list
        again) and whatever a broken connection raises."""
        method, args = self._method(scope)
        while not self._stop.is_set():
            response = method(
                *args,
                label_selector=SELECTOR,
                watch=True,
                resource_version=version,
                allow_watch_bookmarks=True,
                timeout_seconds=WATCH_SECONDS,
                _preload_content=False,
            )
            self._responses.append(response)
            try:
                for line in iter_resp_lines(response):
                    if not line or line.isspace():
                        continue
                    event = json.loads(line)
                    kind = event.get("type")
                    body = event.get("object") or {}
                    if kind == "ERROR":
                        raise ApiException(status=int(body.get("code") or 500), reason="watch")
                    version = str((body.get("metadata") or {}).get("resourceVersion") or version)
                    if kind == "BOOKMARK":
                        continue
                    self.events += 1
                    if kind == "DELETED":
                        self._bodies.pop(_key(body), None)
                    else:
                        before = self._bodies.get(_key(body))
                        self._bodies[_key(body)] = summary(body)
                        if self._on_ready_change and _ready(before) != _ready(body):
                            for uid in _owners(body):
                                self._on_ready_change(uid)
            finally:
                self._responses.remove(response)
                response.close()
                response.release_conn()
        return version


def _interrupt(response: Any) -> None:
    """Make the thread reading ``response`` (a urllib3 response) see the end of its stream.

    Not ``response.close()``: from another thread it waits for the reader, which holds
    the lock of the socket's buffered file while it blocks in ``read`` until the next
    event, bookmark or the watch's end (minutes). That held the operator's cleanup, and
    so its exit on SIGTERM, until it was killed. Shutting the socket down ends the read
    at once; the reader then closes the response itself. ``socket.socket.shutdown``,
    not the TLS socket's own, which would drop the TLS state under the reader."""
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def summary(body: dict[str, Any]) -> dict[str, Any]:
    """The part of a Deployment body that is kept: metadata's identity, generation and
    ownerReferences, ``spec.replicas`` and the replica counts of its status, in the
    body's own shape (a tick reads it as it would read the whole body)."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    return {
        "metadata": {k: meta[k] for k in _META if k in meta},
        "spec": {k: spec[k] for k in ("replicas",) if k in spec},
        "status": {k: status[k] for k in _STATUS if k in status},
    }


_META = ("namespace", "name", "uid", "generation", "resourceVersion", "ownerReferences")
_STATUS = (
    "observedGeneration",
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
)


def _key(body: dict[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace")), str(meta.get("name"))


def _ready(body: dict[str, Any] | None) -> int:
    return int(((body or {}).get("status") or {}).get("readyReplicas") or 0)


def _owners(body: dict[str, Any]) -> list[str]:
    """The uids of the Deployment's owners (Roost's: its ModelDeployment)."""
    references = (body.get("metadata") or {}).get("ownerReferences") or []
    return [str(r["uid"]) for r in references if r.get("uid")]
