"""The operator's own metrics on /metrics (prometheus_client, its own registry)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from roost.api.modeldeployment import DistributionEvidence, DriftWatchStatus, Phase


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["namespace", "name"]
        self.phase = Gauge(
            "roost_rollout_phase",
            "1 for the ModelDeployment's current phase, 0 for the others.",
            [*labels, "phase"],
            registry=self.registry,
        )
        self.canary_weight = Gauge(
            "roost_canary_weight_percent",
            "Canary traffic weight in percent.",
            [*labels, "kind"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "roost_verdicts_total",
            "Analysis verdicts by outcome and reason.",
            [*labels, "outcome", "reason"],
            registry=self.registry,
        )
        self.analysis_seconds = Histogram(
            "roost_analysis_duration_seconds",
            "Time to read a window from Prometheus and judge it.",
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.notifications = Counter(
            "roost_notifications_total",
            "Notifications by receiver type and outcome: sent, failed (after retries), "
            "dropped (rate limit or a full queue).",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.query_errors = Counter(
            "roost_prometheus_query_errors_total",
            "Analysis windows that could not be read from Prometheus.",
            ["prometheus"],
            registry=self.registry,
        )
        self.queries = Counter(
            "roost_prometheus_queries_total",
            "Queries sent to Prometheus for analysis windows.",
            ["prometheus"],
            registry=self.registry,
        )
        self.tick_seconds = Histogram(
            "roost_tick_duration_seconds",
            "Time of one ModelDeployment's reconcile tick in the handler (reading, analysis, "
            "actions), without kopf's status patch.",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.status_patches = Counter(
            "roost_status_patches_total",
            "Ticks by their status patch: sent, skipped (no change), held (only analysis "
            "evidence changed; written within the checkpoint) or stale (body behind the last "
            "patch; no decision).",
            ["result"],
            registry=self.registry,
        )

        self.drift_value = Gauge(
            "roost_prediction_drift",
            "A distribution check's statistic (psi, ks, or chi2 as Cohen's w): canary vs stable "
            "(compare_to=stable) or stable vs its reference (compare_to=reference).",
            [*labels, "check", "statistic", "compare_to"],
            registry=self.registry,
        )
        # The phase and weights last written per object: a tick that changes neither
        # (most ticks) writes no gauge (nine labels() lookups a tick before).
        self._written: dict[tuple[str, str, str], tuple[object, ...]] = {}
        # Label sets written per object, so forget() can remove them (checks have names).
        self._drift_labels: dict[tuple[str, str], set[tuple[str, ...]]] = {}
        self._drifted_checks: dict[tuple[str, str], set[str]] = {}
        self.drifted = Gauge(
            "roost_drifted",
            "1 while a compareTo-reference check finds the stable version drifted, else 0.",
            [*labels, "check"],
            registry=self.registry,
        )

    def serve(self, port: int, address: str = "0.0.0.0") -> None:
        start_http_server(port, addr=address, registry=self.registry)

    def record_phase(self, namespace: str, name: str, phase: Phase | None) -> None:
        key = (namespace, name, "phase")
        if self._written.get(key) == (phase,):
            return
        for candidate in Phase:
            self.phase.labels(namespace, name, candidate.value).set(
                1.0 if candidate is phase else 0.0
            )
        self._written[key] = (phase,)

    def record_weight(self, namespace: str, name: str, desired: int, applied: int) -> None:
        key = (namespace, name, "weight")
        if self._written.get(key) == (desired, applied):
            return
        self.canary_weight.labels(namespace, name, "desired").set(desired)
        self.canary_weight.labels(namespace, name, "applied").set(applied)
        self._written[key] = (desired, applied)

    def record_drift(
        self, namespace: str, name: str, check: str, evidence: DistributionEvidence | None
    ) -> None:
        """A compareTo-stable check's statistic at this analysis tick."""
        if evidence is not None and evidence.value is not None:
            labels = (namespace, name, check, evidence.statistic, "stable")
            self.drift_value.labels(*labels).set(evidence.value)
            self._drift_labels.setdefault((namespace, name), set()).add(labels)

    def record_watch(self, namespace: str, name: str, drift: Sequence[DriftWatchStatus]) -> None:
        """The drift watch's statistic and Drifted flag per compareTo-reference check."""
        for entry in drift:
            if entry.value is not None:
                labels = (namespace, name, entry.name, entry.statistic, "reference")
                self.drift_value.labels(*labels).set(entry.value)
                self._drift_labels.setdefault((namespace, name), set()).add(labels)
            self.drifted.labels(namespace, name, entry.name).set(
                1.0 if entry.stage == "Drifted" else 0.0
            )
            self._drifted_checks.setdefault((namespace, name), set()).add(entry.name)

    def forget(self, namespace: str, name: str) -> None:
        self._written.pop((namespace, name, "phase"), None)
        self._written.pop((namespace, name, "weight"), None)
        for labels in self._drift_labels.pop((namespace, name), set()):
            with contextlib.suppress(KeyError):
                self.drift_value.remove(*labels)
        for check in self._drifted_checks.pop((namespace, name), set()):
            with contextlib.suppress(KeyError):
                self.drifted.remove(namespace, name, check)
        for candidate in Phase:
            self.phase.remove(namespace, name, candidate.value)
        for kind in ("desired", "applied"):
            with contextlib.suppress(KeyError):
                self.canary_weight.remove(namespace, name, kind)
