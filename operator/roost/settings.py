"""The operator's settings, read once from the environment (:meth:`Settings.from_env`).

``roost run`` sets the variables its flags stand for (``--tick``, ``--checkpoint``,
``--prometheus-url``, ``--metrics-port``, ``--kubeconfig``, the namespaces), builds the
settings and hands them to the handlers through kopf's memo; the others
(``ROOST_IO_THREADS``, ``ROOST_PATCH_SLOTS``, ``ROOST_KOPF_WORKERS``,
``ROOST_METRIC_GRACE_SECONDS``, ``ROOST_METRICS_ADDRESS``,
``ROOST_PEERING_LIFETIME_SECONDS``) are tuning knobs read from
the operator's environment (docs/operations.md). A bad value is a
:class:`SettingsError` of one line: the variable, what it was, what to write.
Pure: the environment is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from roost.capacity import learn
from roost.rollout import metric_path

MIN_PEERING_LIFETIME_SECONDS = 15  # kopf's keep-alive comes 5-10 s before the lifetime ends


class SettingsError(ValueError):
    """An environment variable Roost cannot use; the message is one line."""


@dataclass(frozen=True)
class Settings:
    """What the handlers read from the environment, typed; the defaults are the
    operator's own."""

    # How often each ModelDeployment is reconciled (ROOST_TICK_SECONDS, roost run --tick).
    tick_seconds: float = 5.0
    # Threads for the blocking kubernetes and Prometheus clients (asyncio.to_thread). The
    # default, min(32, CPUs + 4), is 6 on 2 CPUs: a burst of rollouts queued every
    # apiserver call behind the rollout guard's Prometheus queries. The threads mostly
    # wait on sockets; the kubernetes client keeps as many pooled connections
    # (adapters/kube.api_client). ROOST_IO_THREADS.
    io_threads: int = 16
    # Status patches in flight at once. kopf's aiohttp session has no connection limit,
    # so every patch in flight is a TLS connection kept in its pool afterwards, with its
    # buffers: unbounded, the pool grows with N (B3 in docs/benchmarks.md measures the
    # memory). The apiserver takes them one after another anyway. ROOST_PATCH_SLOTS.
    patch_slots: int = 16
    # kopf's workers at once (settings.queueing.worker_limit; see handlers.configure).
    # ROOST_KOPF_WORKERS.
    kopf_workers: int = 64
    # How long analysis evidence may wait in memory before it is written (see
    # writeback.Held). ROOST_CHECKPOINT_SECONDS, roost run --checkpoint.
    checkpoint_seconds: float = 30.0
    # How long an HPA may fail to read its metric before the ModelDeployment says so.
    # ROOST_METRIC_GRACE_SECONDS.
    metric_grace_seconds: float = metric_path.DEFAULT_GRACE_SECONDS
    # How often each ModelDeployment's service time is learned again from its latency
    # histogram (roost.capacity.learn). ROOST_LEARN_EVERY_SECONDS.
    learn_every_seconds: float = learn.LEARN_EVERY_SECONDS
    # How often the stable's HPA is re-planned from the measured rate. ROOST_REPLAN_SECONDS.
    replan_seconds: float = 60.0
    # The operator's own /metrics: not served without a port (ROOST_METRICS_PORT,
    # roost run --metrics-port; ROOST_METRICS_ADDRESS).
    metrics_port: int | None = None
    metrics_address: str = "0.0.0.0"
    # KUBECONFIG (roost run --kubeconfig); unset: the in-cluster service account.
    kubeconfig: str | None = None
    # The namespaces the Deployment watch lists (ROOST_WATCH_NAMESPACES, comma-separated);
    # none: all.
    watch_namespaces: tuple[str, ...] = ()
    # How long a replica's peering record outranks the others after its last keep-alive
    # (kopf's settings.peering.lifetime; keep-alives every lifetime - 5..10 s): how long
    # a killed replica holds off the next. ROOST_PEERING_LIFETIME_SECONDS, whole seconds.
    peering_lifetime_seconds: int = 60
    # The default Prometheus for ModelDeployments (ROOST_PROMETHEUS_URL,
    # roost run --prometheus-url).
    prometheus_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings ``environ`` (e.g. ``os.environ``) gives; unset variables keep
        their defaults. Raises :class:`SettingsError` on the first bad value."""
        defaults = cls()
        port = environ.get("ROOST_METRICS_PORT")
        return cls(
            tick_seconds=_seconds(environ, "ROOST_TICK_SECONDS", defaults.tick_seconds),
            io_threads=_count(environ, "ROOST_IO_THREADS", defaults.io_threads),
            patch_slots=_count(environ, "ROOST_PATCH_SLOTS", defaults.patch_slots),
            kopf_workers=_count(environ, "ROOST_KOPF_WORKERS", defaults.kopf_workers),
            checkpoint_seconds=_seconds(
                environ, "ROOST_CHECKPOINT_SECONDS", defaults.checkpoint_seconds
            ),
            metric_grace_seconds=_seconds(
                environ, "ROOST_METRIC_GRACE_SECONDS", defaults.metric_grace_seconds
            ),
            learn_every_seconds=_seconds(
                environ, "ROOST_LEARN_EVERY_SECONDS", defaults.learn_every_seconds
            ),
            replan_seconds=_seconds(environ, "ROOST_REPLAN_SECONDS", defaults.replan_seconds),
            metrics_port=_port("ROOST_METRICS_PORT", port) if port else None,
            metrics_address=environ.get("ROOST_METRICS_ADDRESS", defaults.metrics_address),
            kubeconfig=environ.get("KUBECONFIG"),
            watch_namespaces=tuple(
                ns for ns in environ.get("ROOST_WATCH_NAMESPACES", "").split(",") if ns
            ),
            prometheus_url=environ.get("ROOST_PROMETHEUS_URL") or None,
            peering_lifetime_seconds=_count(
                environ,
                "ROOST_PEERING_LIFETIME_SECONDS",
                defaults.peering_lifetime_seconds,
                least=MIN_PEERING_LIFETIME_SECONDS,
            ),
        )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise SettingsError(
            f"{name}={text!r}: expected a number of seconds, 0 or more, "
            f"e.g. {name}={_plain_number(default)}"
        )
    return value


def _count(environ: Mapping[str, str], name: str, default: int, *, least: int = 1) -> int:
    text = environ.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise SettingsError(
            f"{name}={text!r}: expected a whole number, {least} or more, e.g. {name}={default}"
        )
    return value


def _port(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise SettingsError(f"{name}={text!r}: expected a TCP port, 0 to 65535, e.g. {name}=8080")
    return value


def _plain_number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
