"""The Roost operator as a real process, as e2e tests run it.

``python -m roost run ... --standalone`` against the test cluster and
Prometheus, its output in a log file of the test session's state folder. A
test can kill it (SIGKILL by default: a crash) and restart it, to check that
a rollout resumes from status alone.

The child asks the kernel to SIGKILL it when pytest dies (PR_SET_PDEATHSIG),
so an interrupted session leaves no operator behind retrying a stopped
apiserver. Its pid file has the layout ``harness.processes.Supervisor`` reads.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from signal import SIGKILL, SIGTERM, Signals
from typing import Protocol

from harness.probes import http_ok
from harness.processes import free_port, log_tail
from harness.tools import REPO

STOP_TIMEOUT_S = 15.0
HEALTHY_TIMEOUT_S = 60.0
LOG_TAIL_LINES = 60

# Runs in the child before it becomes the operator (argv[2:], any program): die
# with the parent (prctl(PR_SET_PDEATHSIG=1, SIGKILL=9); kept across exec), and
# exit at once if the parent is already gone. Done here rather than in
# preexec_fn, which is unsafe when the test process has threads.
_LAUNCHER = (
    "import ctypes, os, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0); "
    "os.getppid() == int(sys.argv[1]) or sys.exit(70); "
    "os.execvp(sys.argv[2], sys.argv[2:])"
)


class MakeOperator(Protocol):
    """The e2e ``make_operator`` fixture: an OperatorProcess started with ``roost run``
    ``extra_args`` and ``env`` added to its environment, stopped after the test."""

    def __call__(
        self, *extra_args: str, env: Mapping[str, str] | None = None
    ) -> OperatorProcess: ...


class OperatorProcessError(RuntimeError):
    """The operator did not start or stay healthy; the message ends with its log tail."""


class OperatorProcess:
    """One operator process watching one namespace. Ports are picked once and
    kept across restarts, so the liveness and metrics URLs stay valid."""

    def __init__(
        self,
        *,
        kubeconfig: Path,
        namespace: str,
        prometheus_url: str,
        state_dir: Path,
        name: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        module: str = "roost",
        standalone: bool = True,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.prometheus_url = prometheus_url
        self.state_dir = state_dir
        self.name = name or f"roost-{namespace}"
        self.extra_args = tuple(extra_args)
        self.extra_env = dict(env or {})
        self.python = python
        self.module = module
        # False: kopf peering (pass --peering NAME --priority N in extra_args).
        self.standalone = standalone
        self.liveness_port = free_port()
        self.metrics_port = free_port()
        self.starts = 0
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "pids" / f"{self.name}.pid"

    @property
    def liveness_url(self) -> str:
        return f"http://127.0.0.1:{self.liveness_port}/healthz"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> int | None:
        return self._child.pid if self.running and self._child else None

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._child.poll() if self._child is not None else None

    def argv(self) -> list[str]:
        """The operator's command line (without the launcher in front)."""
        return [
            self.python,
            "-m",
            self.module,
            "run",
            "--kubeconfig",
            str(self.kubeconfig),
            "--namespace",
            self.namespace,
            "--prometheus-url",
            self.prometheus_url,
            *(["--standalone"] if self.standalone else []),
            "--liveness",
            self.liveness_url,
            "--metrics-port",
            str(self.metrics_port),
            "--log-format",
            "plain",
            "-v",
            *self.extra_args,
        ]

    def start(self, *, wait: bool = True, timeout_s: float = HEALTHY_TIMEOUT_S) -> None:
        if self.running:
            raise OperatorProcessError(f"{self.name} is already running (pid {self.pid})")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        argv = self.argv()
        env = os.environ | self.extra_env | {"PYTHONUNBUFFERED": "1"}
        # This checkout's code, whatever is installed in the environment; or another
        # tree's operator/ (ROOST_TEST_OPERATOR_SOURCE), to run the suite against it.
        source = os.environ.get("ROOST_TEST_OPERATOR_SOURCE") or str(REPO / "operator")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
        with self.log.open("ab") as log:
            log.write(f"\n=== {time.strftime('%F %T')} {' '.join(argv)}\n".encode())
            log.flush()
            self._child = subprocess.Popen(
                [self.python, "-c", _LAUNCHER, str(os.getpid()), *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                env=env,
                # Ctrl-C in the terminal reaches pytest, whose teardown stops us.
                start_new_session=True,
            )
        self.starts += 1
        self.pid_file.write_text(f"{self._child.pid}\n{argv[0]}\n")
        if wait:
            self.wait_healthy(timeout_s)

    def wait_healthy(self, timeout_s: float = HEALTHY_TIMEOUT_S) -> None:
        """Poll the liveness URL until it answers 200; fail early if the process exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise self._error(f"exited with code {self.returncode} before it was healthy")
            if http_ok(self.liveness_url):
                return
            time.sleep(0.25)
        raise self._error(f"not healthy at {self.liveness_url} after {timeout_s:.0f} s")

    def kill(
        self, signal: Signals | int = SIGKILL, timeout_s: float = STOP_TIMEOUT_S
    ) -> int | None:
        """Send ``signal`` (a crash by default) and wait up to ``timeout_s`` for
        the exit; returns the exit code, or None if it is still running."""
        child = self._child
        if child is None or child.poll() is not None:
            return self.returncode
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=timeout_s)
        if child.returncode is not None:
            self.pid_file.unlink(missing_ok=True)
        return child.returncode

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT_S."""
        if self.kill(SIGTERM) is None:
            self.kill(SIGKILL)

    def restart(self, *, wait: bool = True, timeout_s: float = HEALTHY_TIMEOUT_S) -> None:
        """Stop gracefully if still running (a killed one is simply started again)."""
        self.stop()
        self.start(wait=wait, timeout_s=timeout_s)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return log_tail(self.log, lines)

    def _error(self, reason: str) -> OperatorProcessError:
        return OperatorProcessError(
            f"{self.name}: {reason} (log: {self.log})\n"
            f"--- last lines of the log ---\n{self.log_tail()}"
        )

    def __enter__(self) -> OperatorProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"OperatorProcess({self.name}, pid={self.pid}, starts={self.starts})"
