"""Our own Prometheus on 127.0.0.1 and a free port, with a generated config.

Scrape targets are registered at run time: the config is rewritten and
reloaded through ``--web.enable-lifecycle`` (POST /-/reload), and the reload
is confirmed before returning, so a test can rely on the target being known.
A Prometheus started by the Debian package, if any, is left alone.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.probes import http_ok
from harness.processes import ComponentError, Supervisor, free_port

NAME = "prometheus"
# Short intervals make a test see a freshly registered exporter within seconds.
SCRAPE_INTERVAL = "1s"
TARGETS_FILE = "targets.json"
RULE_FILES_FILE = "rule_files.json"
INFO_FILE = "prometheus.json"


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    address: str  # host:port
    metrics_path: str = "/metrics"
    options: dict[str, object] | None = None  # more scrape_config keys, as Prometheus spells them


class PrometheusServer:
    def __init__(self, state_dir: Path, binary: Path) -> None:
        self.state_dir = state_dir
        self.binary = binary
        self.processes = Supervisor(state_dir)

    @property
    def url(self) -> str:
        info = json.loads((self.state_dir / INFO_FILE).read_text())
        return str(info["url"])

    def up(self) -> str:
        """Start (or find running) and wait until ready; returns the base URL."""
        if self.processes.running(NAME):
            return self.url
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        (self.state_dir / INFO_FILE).write_text(json.dumps({"url": url}) + "\n")
        self._write_config(self._targets())
        self.processes.start(
            NAME,
            [
                self.binary,
                f"--config.file={self.state_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.state_dir / 'data'}",
                "--storage.tsdb.retention.time=1d",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
        )
        self.processes.wait_until(NAME, lambda: http_ok(f"{url}/-/ready"), 60, "ready")
        return url

    def down(self) -> None:
        self.processes.stop(NAME)
        (self.state_dir / INFO_FILE).unlink(missing_ok=True)

    def status(self) -> dict[str, str]:
        pid = self.processes.pid(NAME)
        return {NAME: f"running (pid {pid}) at {self.url}" if pid else "stopped"}

    def add_scrape_target(self, target: ScrapeTarget) -> None:
        targets = [t for t in self._targets() if t.job != target.job] + [target]
        self._apply(targets)

    def remove_scrape_target(self, job: str) -> None:
        self._apply([t for t in self._targets() if t.job != job])

    def add_rule_file(self, path: Path) -> None:
        """Load a rule file (``rule_files:``); a file Prometheus refuses fails the reload."""
        self._write_rule_files([p for p in self._rule_files() if p != path] + [path])
        self._apply(self._targets())

    def remove_rule_file(self, path: Path) -> None:
        self._write_rule_files([p for p in self._rule_files() if p != path])
        self._apply(self._targets())

    def wait_for_target_up(self, job: str, timeout_s: float = 30) -> None:
        """Block until Prometheus has scraped ``job`` successfully."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.url}/api/v1/targets?state=active") as answer:
                active = json.load(answer)["data"]["activeTargets"]
            if any(t["labels"].get("job") == job and t["health"] == "up" for t in active):
                return
            time.sleep(0.25)
        raise ComponentError(NAME, f"target {job} not up after {timeout_s:.0f} s", None)

    def _apply(self, targets: list[ScrapeTarget]) -> None:
        self._write_config(targets)
        (self.state_dir / TARGETS_FILE).write_text(
            json.dumps([t.__dict__ for t in targets], indent=2) + "\n"
        )
        if not self.processes.running(NAME):
            return  # picked up at the next start
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            if answer.status != 200:
                raise ComponentError(NAME, f"reload answered {answer.status}", None)

    def _targets(self) -> list[ScrapeTarget]:
        try:
            raw = json.loads((self.state_dir / TARGETS_FILE).read_text())
        except FileNotFoundError:
            return []
        return [ScrapeTarget(**t) for t in raw]

    def _rule_files(self) -> list[Path]:
        try:
            return [Path(p) for p in json.loads((self.state_dir / RULE_FILES_FILE).read_text())]
        except FileNotFoundError:
            return []

    def _write_rule_files(self, files: list[Path]) -> None:
        (self.state_dir / RULE_FILES_FILE).write_text(json.dumps([str(f) for f in files]) + "\n")

    def _write_config(self, targets: list[ScrapeTarget]) -> None:
        jobs = list(targets)
        if (self.state_dir / INFO_FILE).exists():
            # Prometheus scrapes itself too: `up{job="prometheus"}` shows it works.
            jobs.insert(0, ScrapeTarget("prometheus", self.url.removeprefix("http://")))
        config: dict[str, object] = {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
            "rule_files": [str(f) for f in self._rule_files()],
            "scrape_configs": [
                {
                    "job_name": t.job,
                    "metrics_path": t.metrics_path,
                    "static_configs": [{"targets": [t.address]}],
                    **(t.options or {}),
                }
                for t in jobs
            ],
        }
        path = self.state_dir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
