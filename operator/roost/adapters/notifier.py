"""Notifications to Slack, Microsoft Teams and JSON webhooks: sent after a tick's
decision, never in its way.

A tick hands its notices to :meth:`Notifier.submit`, which only queues them: each
receiver (one entry of one ModelDeployment's ``spec.notifications``) has its own
queue and sender task, so a slow or dead receiver delays nothing but its own later
notices, which still arrive in order. A receiver takes at most ``burst`` notices at
once and ``per_minute`` after that (a token bucket); beyond it notices are dropped,
counted, and the next one sent says how many. A failed POST (a connection error, a
timeout, 429 or a 5xx) is tried ``attempts`` times with doubling waits; other answers
are final. A URL kept in a Secret is read at each send, so a rotated token is used
at once. Nothing here raises into the operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp

from roost.adapters.kube import Kube, NotFoundError
from roost.adapters.telemetry import Telemetry
from roost.api import modeldeployment as md
from roost.rollout.actions import EmitEvent
from roost.rollout.notices import Notification, Subject

_log = logging.getLogger(__name__)


@dataclass
class _Receiver:
    """One receiver's queue, rate limit and sender task."""

    spec: md.Notification
    namespace: str
    queue: asyncio.Queue[Notification]
    tokens: float
    refilled: float  # time.monotonic() of the last refill
    dropped: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Notifier:
    def __init__(
        self,
        kube: Kube,
        telemetry: Telemetry | None = None,
        *,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 1.0,
        burst: int = 10,
        per_minute: float = 10.0,
        queue_size: int = 100,
        idle_s: float = 60.0,
    ) -> None:
        self.kube = kube
        self.telemetry = telemetry
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.burst = burst
        self.per_second = per_minute / 60.0
        self.queue_size = queue_size
        self.idle_s = idle_s
        self._receivers: dict[tuple[str, int, str], _Receiver] = {}
        self._session: aiohttp.ClientSession | None = None

    def submit(
        self,
        uid: str,
        receivers: Sequence[md.Notification],
        events: Sequence[EmitEvent],
        subject: Subject,
        at: datetime,
    ) -> None:
        """Queue each notice for the receivers that want it; returns at once."""
        for event in events:
            if event.notice is None:
                continue
            for index, spec in enumerate(receivers):
                if not spec.wants(event.notice):
                    continue
                receiver = self._receiver(uid, index, spec, subject.namespace)
                if not self._take_token(receiver):
                    receiver.dropped += 1
                    self._count(spec, "dropped")
                    continue
                notification = Notification(
                    event.notice, subject, event, at, dropped=receiver.dropped
                )
                try:
                    receiver.queue.put_nowait(notification)
                except asyncio.QueueFull:
                    receiver.dropped += 1
                    self._count(spec, "dropped")
                    continue
                receiver.dropped = 0
                if receiver.task is None or receiver.task.done():
                    receiver.task = asyncio.create_task(
                        self._send_all(receiver), name=f"roost-notify-{uid}-{index}"
                    )

    async def close(self) -> None:
        """Stop every sender (queued notices are dropped) and close the HTTP session."""
        tasks = [r.task for r in self._receivers.values() if r.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._receivers.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- inside ---------------------------------------------------------------------

    def _receiver(self, uid: str, index: int, spec: md.Notification, namespace: str) -> _Receiver:
        # Keyed by the receiver's settings too: an edited entry is a new receiver.
        key = (uid, index, spec.model_dump_json())
        receiver = self._receivers.get(key)
        if receiver is None:
            receiver = _Receiver(
                spec=spec,
                namespace=namespace,
                queue=asyncio.Queue(maxsize=self.queue_size),
                tokens=float(self.burst),
                refilled=time.monotonic(),
            )
            self._receivers[key] = receiver
        return receiver

    def _take_token(self, receiver: _Receiver) -> bool:
        now = time.monotonic()
        receiver.tokens = min(
            float(self.burst), receiver.tokens + (now - receiver.refilled) * self.per_second
        )
        receiver.refilled = now
        if receiver.tokens < 1.0:
            return False
        receiver.tokens -= 1.0
        return True

    async def _send_all(self, receiver: _Receiver) -> None:
        """Send the receiver's notices in order; end after ``idle_s`` without one (the
        receiver is forgotten once its rate limit has refilled)."""
        while True:
            try:
                notification = await asyncio.wait_for(receiver.queue.get(), self.idle_s)
            except TimeoutError:
                if receiver.tokens + self.idle_s * self.per_second >= self.burst:
                    for key, value in list(self._receivers.items()):
                        if value is receiver:
                            del self._receivers[key]
                return
            try:
                await self._send(receiver, notification)
            except Exception:  # never into the operator; the next notice is tried
                _log.exception("notification to a %s receiver failed", receiver.spec.type.value)
                self._count(receiver.spec, "failed")

    async def _url(self, receiver: _Receiver) -> str | None:
        spec = receiver.spec
        if spec.url is not None:
            return spec.url
        ref = spec.url_secret_ref
        assert ref is not None  # the model requires exactly one
        try:
            return (await self.kube.secret_value(receiver.namespace, ref.name, ref.key)).strip()
        except NotFoundError as error:
            _log.warning("%s notification not sent: %s", spec.type.value, error)
            return None

    async def _send(self, receiver: _Receiver, notification: Notification) -> None:
        spec = receiver.spec
        url = await self._url(receiver)
        if url is None or not url.startswith(("http://", "https://")):
            if url is not None:
                _log.warning(
                    "%s notification not sent: the Secret's URL is not http(s)", spec.type.value
                )
            self._count(spec, "failed")
            return
        body = notification.body(spec.type)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        for attempt in range(self.attempts):
            final = attempt == self.attempts - 1
            try:
                async with self._session.post(
                    url, json=body, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
                ) as response:
                    if response.status < 300:
                        self._count(spec, "sent")
                        return
                    retry = response.status == 429 or response.status >= 500
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as error:
                retry, problem = True, f"{type(error).__name__}: {error}"
            if not retry or final:
                # The URL may carry a token: say where by the receiver type only.
                _log.warning(
                    "%s notification %s for %s/%s not delivered after %d attempt(s): %s",
                    spec.type.value,
                    notification.notice.value,
                    notification.subject.namespace,
                    notification.subject.name,
                    attempt + 1,
                    problem,
                )
                self._count(spec, "failed")
                return
            await asyncio.sleep(self.backoff_s * 2**attempt)

    def _count(self, spec: md.Notification, outcome: str) -> None:
        if self.telemetry is not None:
            self.telemetry.notifications.labels(spec.type.value, outcome).inc()


__all__ = ["Notifier", "Subject"]
