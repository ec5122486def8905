"""What every way of getting a cluster (local processes, kind) has in common."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

INFO_FILE = "cluster.json"


@dataclass(frozen=True)
class ClusterInfo:
    provider: str  # "local" or "kind"
    kubeconfig: Path
    server: str

    def save(self, state_dir: Path) -> None:
        data = asdict(self) | {"kubeconfig": str(self.kubeconfig)}
        (state_dir / INFO_FILE).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> ClusterInfo | None:
        try:
            data = json.loads((state_dir / INFO_FILE).read_text())
        except FileNotFoundError:
            return None
        return cls(data["provider"], Path(data["kubeconfig"]), data["server"])


class Cluster(Protocol):
    state_dir: Path

    def up(self) -> ClusterInfo:
        """Start (or find running) and wait until healthy."""
        ...

    def down(self) -> None:
        """Stop only what this state folder records as started by us."""
        ...

    def status(self) -> dict[str, str]:
        """Component name -> a one-word state, for `hack/cluster status`."""
        ...
