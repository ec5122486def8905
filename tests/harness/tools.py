"""Where the binaries built by ``hack/tools install`` live."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HACK_TOOLS = REPO / "hack" / "tools"


class ToolsMissingError(RuntimeError):
    """A binary the harness needs has not been built yet."""


@dataclass(frozen=True)
class Tools:
    bin_dir: Path
    gateway_api_dir: Path
    istio_api_dir: Path

    def binary(self, name: str) -> Path:
        """The path of one tool, or ToolsMissingError telling how to build it."""
        path = self.bin_dir / name
        if not os.access(path, os.X_OK):
            raise ToolsMissingError(f"{path} is missing: run `hack/tools install` first")
        return path

    def gateway_api_crds(self) -> list[Path]:
        crds = sorted(self.gateway_api_dir.glob("*.yaml"))
        if not crds:
            raise ToolsMissingError(
                f"no Gateway API CRDs in {self.gateway_api_dir}: run `hack/tools install` first"
            )
        return crds

    def istio_crds(self) -> list[dict[str, object]]:
        """Istio's CRDs for ISTIO_KINDS, from istio.io/api's generated file."""
        import yaml

        path = self.istio_api_dir / "istio-crds.yaml"
        if not path.exists():
            raise ToolsMissingError(f"{path} is missing: run `hack/tools install` first")
        docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        return [
            d
            for d in docs
            if d.get("kind") == "CustomResourceDefinition"
            and d.get("spec", {}).get("names", {}).get("kind") in ISTIO_KINDS
        ]


ISTIO_KINDS = ("VirtualService",)
"""The Istio CRDs the local cluster gets: those Roost's Istio provider writes."""


def locate() -> Tools:
    """Ask hack/tools (the one owner of the cache layout) where things are."""

    def path(what: str) -> Path:
        out = subprocess.run(
            [str(HACK_TOOLS), "path", what], check=True, capture_output=True, text=True
        )
        return Path(out.stdout.strip())

    return Tools(
        bin_dir=path("bin"), gateway_api_dir=path("gateway-api"), istio_api_dir=path("istio-api")
    )
