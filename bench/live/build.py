"""Flagger from the Go module proxy, built once into the tools cache (never into the repo).

``go install github.com/fluxcd/flagger/cmd/flagger@<FLAGGER_VERSION>`` (the pin is in
bench/live/versions.env) with hack/tools' Go settings: its module and build caches
under ${ROOST_CACHE:-~/.cache/roost}/go, ``GOTOOLCHAIN=local``, ``CGO_ENABLED=0``,
the binary in ${ROOST_CACHE}/flagger-<version>/bin. The compile holds
/tmp/roost-go.lock, so it never runs beside another Go build on this machine. The
CRDs are the module's own ``artifacts/flagger/crd.yaml``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSIONS = HERE / "versions.env"
MODULE = "github.com/fluxcd/flagger"
GO_LOCK = Path("/tmp/roost-go.lock")


@dataclass(frozen=True)
class FlaggerBuild:
    version: str
    binary: Path
    crds: Path
    built_seconds: float | None  # None: found in the cache


def pinned_version(path: Path = VERSIONS) -> str:
    """FLAGGER_VERSION from a KEY=value file."""
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "FLAGGER_VERSION" and not line.lstrip().startswith("#"):
            return value.strip()
    raise ValueError(f"no FLAGGER_VERSION in {path}")


def cache_root() -> Path:
    return Path(os.environ.get("ROOST_CACHE", Path.home() / ".cache" / "roost"))


def _go_env(cache: Path) -> dict[str, str]:
    return os.environ | {
        "GOMODCACHE": str(cache / "go" / "mod"),
        "GOCACHE": str(cache / "go" / "build"),
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }


def ensure_flagger(version: str | None = None) -> FlaggerBuild:
    """The Flagger binary and CRD file for ``version``, building it if it is missing."""
    version = version or pinned_version()
    cache = cache_root()
    env = _go_env(cache)
    folder = cache / f"flagger-{version}"
    binary = folder / "bin" / "flagger"
    # Downloads the module zip (no compile) and says where it is unpacked.
    listed = subprocess.run(
        ["go", "mod", "download", "-json", f"{MODULE}@{version}"],
        env=env,
        cwd=cache,
        check=True,
        capture_output=True,
        text=True,
    )
    crds = Path(json.loads(listed.stdout)["Dir"]) / "artifacts" / "flagger" / "crd.yaml"
    built: float | None = None
    if not os.access(binary, os.X_OK):
        binary.parent.mkdir(parents=True, exist_ok=True)
        print(f"building Flagger {version} into {binary} (a few minutes on 2 cores)", flush=True)
        started = time.monotonic()
        ldflags = f"-s -w -X {MODULE}/pkg/version.REVISION={version}"
        subprocess.run(
            [
                "flock",
                str(GO_LOCK),
                "go",
                "install",
                "-trimpath",
                "-ldflags",
                ldflags,
                f"{MODULE}/cmd/flagger@{version}",
            ],
            env=env | {"GOBIN": str(binary.parent)},
            cwd=cache,
            check=True,
        )
        built = time.monotonic() - started
    return FlaggerBuild(version=version, binary=binary, crds=crds, built_seconds=built)
