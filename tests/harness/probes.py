"""Health probes, polling until a condition holds, and the kubectl the harness drives
clusters with."""

from __future__ import annotations

import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

PROBE_TIMEOUT_S = 2.0

T = TypeVar("T")


def http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    """True when ``url`` answers 200; connection errors count as not yet."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S, context=context) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def eventually(
    read: Callable[[], T],
    ok: Callable[[T], bool],
    timeout_s: float,
    what: str,
    *,
    every_s: float = 0.25,
) -> T:
    """What ``read`` returns once ``ok`` holds for it, polled every ``every_s``; the test
    fails, naming ``what`` and the last value seen, when ``timeout_s`` passes first."""
    import pytest  # here, not at the top: the benchmarks import this module without pytest

    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout_s:.0f} s; last seen: {value}")
        time.sleep(every_s)


def client_tls(ca_cert: Path, cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_cert))
    context.load_cert_chain(str(cert), str(key))
    return context


def unverified_tls() -> ssl.SSLContext:
    """For /healthz of the controller manager and scheduler, which serve with a
    self-signed certificate generated in memory at start."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class KubectlError(RuntimeError):
    pass


@dataclass(frozen=True)
class Kubectl:
    binary: Path | str
    kubeconfig: Path

    def __call__(self, *args: str | Path, stdin: str | None = None, timeout_s: float = 120) -> str:
        argv = [str(self.binary), f"--kubeconfig={self.kubeconfig}", *map(str, args)]
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            raise KubectlError(f"{' '.join(argv)} failed:\n{done.stderr.strip()}")
        return done.stdout

    def retry(self, *args: str | Path, attempts: int = 30, delay_s: float = 1.0) -> str:
        """For things that appear a moment after the apiserver is ready."""
        for _ in range(attempts - 1):
            try:
                return self(*args)
            except KubectlError:
                time.sleep(delay_s)
        return self(*args)

    def apply_files(
        self, files: Sequence[Path], *, server_side: bool = False, force_conflicts: bool = False
    ) -> str:
        args: list[str | Path] = ["apply"]
        if server_side:
            args.append("--server-side")
        if force_conflicts:
            args.append("--force-conflicts")
        for f in files:
            args += ["-f", f]
        return self(*args)
