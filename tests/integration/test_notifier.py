"""Notifications: queued by a tick, sent in order by a sender per receiver, rate-limited,
retried, and never in the decision's way. A real HTTP receiver on 127.0.0.1 (aiohttp's
server); the only fake is the Secret store (``FakeSecrets``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from roost.adapters.kube import NotFoundError
from roost.adapters.notifier import Notifier
from roost.adapters.telemetry import Telemetry
from roost.api.modeldeployment import Notice
from roost.api.modeldeployment import Notification as Receiver
from roost.rollout.actions import EmitEvent, EventType
from roost.rollout.notices import Subject

pytestmark = pytest.mark.integration

AT = datetime(2026, 1, 1, tzinfo=UTC)
SUBJECT = Subject("ns", "scorer", "Progressing", "v1", "v2", 0, 100)
STARTED = EmitEvent(EventType.NORMAL, "RolloutStarted", "canary v2 starting", Notice.STARTED)
STEP = EmitEvent(EventType.NORMAL, "StepAdvanced", "step 1/2", Notice.STEP_ADVANCED)
BACK = EmitEvent(EventType.WARNING, "BurnRateExceeded", "burn 30", Notice.ROLLED_BACK)
PLAIN = EmitEvent(EventType.NORMAL, "Reconfigured", "no notice")


class FakeSecrets:
    """Stands in for Kube.secret_value: a fake, the Secret store is not what is tested."""

    def __init__(self, values: dict[tuple[str, str, str], str]) -> None:
        self.values = values

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        try:
            return self.values[(namespace, name, key)]
        except KeyError:
            raise NotFoundError(f"Secret {namespace}/{name} has no key {key!r}") from None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _serve(handler: Handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/{path:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def _receiver(**fields: Any) -> Receiver:
    return Receiver.model_validate(fields)


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_each_receiver_gets_its_notices_in_order_in_its_own_format() -> None:
    got: list[tuple[str, dict[str, Any]]] = []

    async def handler(request: web.Request) -> web.Response:
        got.append((request.path, await request.json()))
        return web.Response(status=200)

    async def scenario() -> None:
        runner, url = await _serve(handler)
        secrets = FakeSecrets({("ns", "slack", "url"): f"{url}/slack\n"})
        telemetry = Telemetry()
        notifier = Notifier(secrets, telemetry)  # type: ignore[arg-type]
        receivers = [
            _receiver(type="webhook", url=f"{url}/hook"),
            _receiver(type="slack", urlSecretRef={"name": "slack", "key": "url"}),
            _receiver(type="teams", url=f"{url}/teams", on=["rolledBack"]),
        ]
        notifier.submit("uid", receivers, [PLAIN, STARTED, STEP], SUBJECT, AT)
        notifier.submit("uid", receivers, [BACK], SUBJECT, AT)
        await _until(lambda: len(got) == 7)
        await notifier.close()
        await runner.cleanup()
        sent = telemetry.notifications.labels("webhook", "sent")._value.get()
        assert sent == 3

    asyncio.run(scenario())
    hooks = [body for path, body in got if path == "/hook"]
    assert [b["notice"] for b in hooks] == ["started", "stepAdvanced", "rolledBack"]
    assert hooks[0]["reason"] == "RolloutStarted"
    assert hooks[0]["mirror"] == 100
    assert hooks[2]["message"] == "burn 30"
    slack = [body for path, body in got if path == "/slack"]
    assert len(slack) == 3
    assert slack[2]["text"].startswith("*ns/scorer: rolled back*\nBurnRateExceeded: burn 30")
    teams = [body for path, body in got if path == "/teams"]
    assert len(teams) == 1  # on: [rolledBack]
    card = teams[0]["attachments"][0]["content"]
    assert card["body"][0]["text"] == "ns/scorer: rolled back"


def test_a_failing_receiver_is_retried_and_a_refusing_one_is_not() -> None:
    calls = {"/flaky": 0, "/refuses": 0}

    async def handler(request: web.Request) -> web.Response:
        calls[request.path] += 1
        if request.path == "/flaky" and calls["/flaky"] < 3:
            return web.Response(status=503)
        return web.Response(status=400 if request.path == "/refuses" else 204)

    async def scenario() -> Telemetry:
        runner, url = await _serve(handler)
        telemetry = Telemetry()
        notifier = Notifier(FakeSecrets({}), telemetry, backoff_s=0.01)  # type: ignore[arg-type]
        receivers = [
            _receiver(type="webhook", url=f"{url}/flaky"),
            _receiver(type="slack", url=f"{url}/refuses"),
        ]
        notifier.submit("uid", receivers, [STARTED], SUBJECT, AT)
        await _until(lambda: calls["/flaky"] == 3 and calls["/refuses"] == 1)
        await asyncio.sleep(0.1)
        await notifier.close()
        await runner.cleanup()
        return telemetry

    telemetry = asyncio.run(scenario())
    assert calls == {"/flaky": 3, "/refuses": 1}
    assert telemetry.notifications.labels("webhook", "sent")._value.get() == 1
    assert telemetry.notifications.labels("slack", "failed")._value.get() == 1


def test_a_hanging_or_dead_receiver_delays_nothing_else() -> None:
    got: list[str] = []
    hang = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/hangs":
            await hang.wait()
        got.append(request.path)
        return web.Response(status=200)

    async def scenario() -> None:
        runner, url = await _serve(handler)
        notifier = Notifier(FakeSecrets({}), timeout_s=30.0)  # type: ignore[arg-type]
        receivers = [
            _receiver(type="webhook", url=f"{url}/hangs"),
            _receiver(type="webhook", url="http://127.0.0.1:9/closed"),  # nothing listens
            _receiver(type="webhook", url=f"{url}/fine"),
        ]
        for _ in range(5):  # submit() only queues: it returns with nothing sent
            notifier.submit("uid", receivers, [STARTED], SUBJECT, AT)
            assert got == []
        await _until(lambda: got.count("/fine") == 5)
        assert "/hangs" not in got
        hang.set()
        await notifier.close()
        await runner.cleanup()

    asyncio.run(scenario())
    assert got.count("/fine") == 5  # while the first receiver still hung


def test_the_rate_limit_drops_and_the_next_notice_says_how_many() -> None:
    got: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=200)

    async def scenario() -> Telemetry:
        runner, url = await _serve(handler)
        telemetry = Telemetry()
        # One at once, then one every 0.1 s.
        notifier = Notifier(FakeSecrets({}), telemetry, burst=1, per_minute=600.0)  # type: ignore[arg-type]
        receivers = [_receiver(type="webhook", url=f"{url}/hook")]
        notifier.submit("uid", receivers, [STARTED, STEP, STEP], SUBJECT, AT)
        await asyncio.sleep(0.15)
        notifier.submit("uid", receivers, [BACK], SUBJECT, AT)
        await _until(lambda: len(got) == 2)
        await notifier.close()
        await runner.cleanup()
        return telemetry

    telemetry = asyncio.run(scenario())
    assert [(b["notice"], b["dropped"]) for b in got] == [("started", 0), ("rolledBack", 2)]
    assert telemetry.notifications.labels("webhook", "dropped")._value.get() == 2


def test_a_missing_secret_key_fails_that_notice_only() -> None:
    got: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        got.append(request.path)
        return web.Response(status=200)

    async def scenario() -> Telemetry:
        runner, url = await _serve(handler)
        telemetry = Telemetry()
        notifier = Notifier(FakeSecrets({}), telemetry)  # type: ignore[arg-type]
        receivers = [
            _receiver(type="slack", urlSecretRef={"name": "slack", "key": "url"}),
            _receiver(type="webhook", url=f"{url}/hook"),
        ]
        notifier.submit("uid", receivers, [STARTED], SUBJECT, AT)
        await _until(lambda: got == ["/hook"])
        await _until(lambda: telemetry.notifications.labels("slack", "failed")._value.get() == 1)
        await notifier.close()
        await runner.cleanup()
        return telemetry

    asyncio.run(scenario())
