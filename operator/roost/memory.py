"""What the operator keeps in memory for each ModelDeployment, in one record.

One :class:`ObjectMemory` per object, kept by :class:`Memories`, the only place one
is created (:meth:`Memories.open`, by the object's ticker and its watch events) or
dropped (:meth:`Memories.drop`, when the object is deleted). Everything else holds a
reference: a tick still running when its object is deleted writes into a record
nobody can reach any more, never back into a store. Nothing here outlives a
restart; what a decision needs to resume is in status (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roost.adapters.metrics_reader import DueTarget
    from roost.capacity.learn import Learned
    from roost.writeback import Held


@dataclass(eq=False)
class ObjectMemory:
    """One ModelDeployment's state between ticks."""

    uid: str
    namespace: str
    name: str
    # Serialises the object's ticks.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set to tick now rather than at the next tick period.
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # The object as its latest watch event showed it (managedFields dropped).
    body: dict[str, Any] | None = None
    # The (generation, phase, weights) state the watch last woke the ticker for.
    reacted: tuple[Any, ...] | None = None
    # When the last decision was sent and its decision fields (writeback.is_stale).
    written: tuple[float, dict[str, Any]] | None = None
    # Evidence waiting for the checkpoint (writeback.Held).
    held: Held | None = None
    # Validated specs by model class: (the raw spec as JSON, the model). The object's
    # own spec and its SLOPolicy's, each re-validated only when its JSON changes.
    validated: dict[type, tuple[str, Any]] = field(default_factory=dict)
    # The analysis window and the drift watch's window the metrics reader will be asked
    # for, so that one batch answers every object due in the same window.
    due: DueTarget | None = None
    watch_due: DueTarget | None = None
    # The service time learned from the latency histogram: (when asked, monotonic; what
    # was learned), asked again after Runtime.learn_every_seconds.
    learned: tuple[float, Learned] | None = None
    # The stable's HPA as last re-planned: (when, monotonic; revision; its floor and
    # target), see Reconciler._replan.
    replanned: tuple[float, str, tuple[Any, ...]] | None = None

    @property
    def key(self) -> str:
        """``namespace/name``: how queries, batches and logs name the object."""
        return f"{self.namespace}/{self.name}"

    def due_targets(self) -> Iterator[DueTarget]:
        if self.due is not None:
            yield self.due
        if self.watch_due is not None:
            yield self.watch_due


class Memories:
    """Every ModelDeployment's :class:`ObjectMemory`, by uid."""

    def __init__(self) -> None:
        self._by_uid: dict[str, ObjectMemory] = {}

    def open(self, uid: str, namespace: str, name: str) -> ObjectMemory:
        """The object's record, created on first sight."""
        memory = self._by_uid.get(uid)
        if memory is None:
            memory = self._by_uid[uid] = ObjectMemory(uid=uid, namespace=namespace, name=name)
        return memory

    def get(self, uid: str) -> ObjectMemory | None:
        """The object's record if it has one; never creates one."""
        return self._by_uid.get(uid)

    def drop(self, uid: str) -> None:
        """Forget a deleted object: its record and everything in it."""
        self._by_uid.pop(uid, None)

    def due_targets(self) -> list[DueTarget]:
        """Every window some object will ask the metrics reader for."""
        return [due for memory in self._by_uid.values() for due in memory.due_targets()]

    def __len__(self) -> int:
        return len(self._by_uid)

    def __iter__(self) -> Iterator[ObjectMemory]:
        return iter(list(self._by_uid.values()))


class SharedSpecs:
    """Validated specs by their JSON text, the most recent ``size`` of them: what many
    objects use (an SLOPolicy) is validated once and held once; each record keeps a
    reference to its own."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._by_text: OrderedDict[str, tuple[str, Any]] = OrderedDict()

    def get(self, text: str) -> tuple[str, Any] | None:
        found = self._by_text.get(text)
        if found is not None:
            self._by_text.move_to_end(text)
        return found

    def put(self, text: str, value: Any) -> None:
        self._by_text[text] = (text, value)
        while len(self._by_text) > self._size:
            self._by_text.popitem(last=False)

    def __len__(self) -> int:
        return len(self._by_text)
