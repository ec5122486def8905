"""Every citation in the code and docs resolves to something a reader can find.

Docstrings once cited sections ("§3.1", "§4 V1") of research notes that were never part
of Roost. Code now names the primary source (a paper, a book, the Kubernetes or
Prometheus docs, an upstream file), listed with full citations in docs/references.md; a
section of a book is written out ("Numerical Recipes, section 6.4"), and test vectors
carry a neutral label ("vector V1") whose source docs/references.md states.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("operator", "bench", "tests", "docs")
SUFFIXES = {".py", ".md", ""}
# The notes' file names: none of them is in the repository.
NOTES = (
    "sequential-testing.md",
    "slo-burn-rates.md",
    "autoscaling-capacity.md",
    "canary-peers.md",
    "kopf-and-control-plane.md",
    "metrics-adapters.md",
    "shared/reference",
)


def _text_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path == Path(__file__).resolve() or not path.is_file():
                continue
            if path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            files.append(path)
    return files


def _findings(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "§" in line or any(note in line for note in NOTES):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_scan_reads_the_code_and_the_docs() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in _text_files()}
    assert {"operator/roost/analysis/onesample.py", "bench/run", "docs/references.md"} <= names


@pytest.mark.parametrize("top", SCANNED)
def test_nothing_cites_sections_of_notes_outside_the_repository(top: str) -> None:
    findings = [
        f for path in _text_files() if path.parts[len(ROOT.parts)] == top for f in _findings(path)
    ]
    assert not findings, (
        "cite the primary source by name instead (docs/references.md lists them; write a "
        "book's section out, e.g. 'section 6.4'):\n" + "\n".join(findings)
    )
