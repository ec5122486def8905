"""What every benchmark shares: the commit its results come from, and its worker pool.

Each result file's ``meta`` names the operator code it measured (``git_head``, and
``tree_dirty_outside_bench`` when operator/ had uncommitted edits), and the page
says so beside every section; :func:`provenance` and :func:`provenance_text` are
the one way to record and to say it. The simulated benchmarks (B1, B2, B4) spread
independent seeded runs over processes with :func:`parallel`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")
R = TypeVar("R")


def git(*args: str) -> str:
    """git's output in this checkout, stripped; "" when git fails or is not installed."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_head(rev: str = "HEAD") -> str:
    """The short commit ``rev`` names; "unknown" where git cannot say."""
    return git("rev-parse", "--short", rev) or "unknown"


def operator_dirty() -> bool:
    """True when operator/ has uncommitted edits: results then measure more than a commit."""
    return bool(git("status", "--porcelain", "--", "operator"))


def provenance(source_rev: str | None = None) -> dict[str, Any]:
    """The ``meta`` entries naming the operator code a run measured.

    With ``source_rev`` the run used that revision's code, unpacked apart from the
    working tree (``bench/scale/driver.py --source-rev``), so local edits cannot be in it.
    """
    return {
        "git_head": git_head(source_rev or "HEAD"),
        "tree_dirty_outside_bench": False if source_rev else operator_dirty(),
    }


def provenance_text(meta: dict[str, Any]) -> str:
    """The same, as the page says it: "operator code at abc1234 [with uncommitted edits]"."""
    text = f"operator code at {meta.get('git_head', 'unrecorded')}"
    if meta.get("tree_dirty_outside_bench"):
        text += " with uncommitted edits under operator/"
    return text


def add_run_options(parser: argparse.ArgumentParser, *, out: str) -> None:
    """``--out``, the results file (``out`` unless told), and ``--workers``, the
    processes for :func:`parallel` (one per core unless told)."""
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)


def parallel(
    work: Callable[[T], R],
    tasks: Iterable[T],
    workers: int,
    *,
    chunksize: int = 1,
    ordered: bool = False,
) -> Iterator[R]:
    """``work`` over ``tasks`` in a pool of ``workers`` processes.

    Results come as they finish, or in the order of ``tasks`` when ``ordered``; the
    pool is closed when the last result has been taken. ``work`` must be a module-level
    function (the pool pickles it by name).
    """
    with multiprocessing.Pool(workers) as pool:
        if ordered:
            yield from pool.imap(work, tasks, chunksize)
        else:
            yield from pool.imap_unordered(work, tasks, chunksize)
