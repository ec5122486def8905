"""What the benchmarks share: the commit their results name, and the worker pool."""

from __future__ import annotations

import re

from bench import common


def _square(x: int) -> int:
    return x * x


def test_results_name_the_checkouts_commit() -> None:
    meta = common.provenance()
    assert re.fullmatch(r"[0-9a-f]{4,40}", meta["git_head"])
    assert isinstance(meta["tree_dirty_outside_bench"], bool)


def test_a_named_revision_is_never_dirty() -> None:
    assert common.provenance("HEAD")["tree_dirty_outside_bench"] is False


def test_a_revision_git_does_not_know_is_unknown() -> None:
    assert common.git_head("no-such-revision-anywhere") == "unknown"


def test_the_page_says_which_code_was_measured() -> None:
    assert common.provenance_text({"git_head": "abc1234"}) == "operator code at abc1234"
    assert common.provenance_text({"git_head": "abc1234", "tree_dirty_outside_bench": True}) == (
        "operator code at abc1234 with uncommitted edits under operator/"
    )
    assert common.provenance_text({}) == "operator code at unrecorded"


def test_the_pool_returns_every_result_in_order_when_asked() -> None:
    tasks = list(range(20))
    assert list(common.parallel(_square, tasks, 2, chunksize=4, ordered=True)) == [
        x * x for x in tasks
    ]
    assert sorted(common.parallel(_square, tasks, 2)) == sorted(x * x for x in tasks)
