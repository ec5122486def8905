"""Background processes with pid files and logs in one state folder.

Each process runs in its own session, so it outlives ``hack/cluster up`` and a
Ctrl-C in the terminal does not reach it. Its pid file records the pid and the
binary, and ``stop`` only signals a pid whose command line still names that
binary: a pid reused by an unrelated process after a crash is left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STOP_TIMEOUT_S = 15.0


class ComponentError(RuntimeError):
    """A component did not become healthy; the message ends with its log tail."""

    def __init__(self, name: str, reason: str, log: Path | None) -> None:
        tail = log_tail(log) if log else ""
        where = f" (log: {log})" if log else ""
        super().__init__(f"{name}: {reason}{where}\n--- last lines of the log ---\n{tail}")
        self.component = name


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Supervisor:
    """Starts and stops the named processes of one state folder."""

    state_dir: Path
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pid_dir(self) -> Path:
        return self.state_dir / "pids"

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str, argv: Sequence[str | Path]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        args = [str(a) for a in argv]
        with self.log(name).open("ab") as log:
            log.write(f"\n=== {time.strftime('%F %T')} {' '.join(args)}\n".encode())
            log.flush()
            child = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                start_new_session=True,
            )
        self._children[name] = child
        (self.pid_dir / f"{name}.pid").write_text(f"{child.pid}\n{args[0]}\n")

    def names(self) -> list[str]:
        """Components with a pid file, in the order they were started."""
        pid_files = sorted(self.pid_dir.glob("*.pid"), key=lambda p: p.stat().st_mtime_ns)
        return [p.stem for p in pid_files]

    def pid(self, name: str) -> int | None:
        """The pid of a running component we started, else None."""
        try:
            pid_text, binary = (self.pid_dir / f"{name}.pid").read_text().split("\n")[:2]
        except (FileNotFoundError, ValueError):
            return None
        pid = int(pid_text)
        return pid if _runs(pid, binary) else None

    def running(self, name: str) -> bool:
        return self.pid(name) is not None

    def stop(self, name: str) -> None:
        pid = self.pid(name)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not self._wait_gone(pid, STOP_TIMEOUT_S):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._wait_gone(pid, STOP_TIMEOUT_S)
        self._children.pop(name, None)
        (self.pid_dir / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self) -> None:
        """Stop every component of this folder, the last started first."""
        for name in reversed(self.names()):
            self.stop(name)

    def wait_until(
        self, name: str, healthy: Callable[[], bool], timeout_s: float, what: str
    ) -> None:
        """Poll ``healthy`` until it is true; fail early if the process exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            child = self._children.get(name)
            if child is not None and child.poll() is not None:
                raise ComponentError(name, f"exited with code {child.returncode}", self.log(name))
            try:
                if healthy():
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        raise ComponentError(name, f"not {what} after {timeout_s:.0f} s", self.log(name))

    def _wait_gone(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            child = next((c for c in self._children.values() if c.pid == pid), None)
            if child is not None:
                # Our own child: reap it, or it lingers as a zombie.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=0.1)
                if child.returncode is not None:
                    return True
            elif not _alive(pid):
                return True
            time.sleep(0.1)
        return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _runs(pid: int, binary: str) -> bool:
    """True if ``pid`` is alive and its command line starts with ``binary``."""
    if not _alive(pid):
        return False
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except (FileNotFoundError, UnicodeDecodeError):
        return False
    return argv0 == binary
