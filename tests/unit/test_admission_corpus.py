"""roost validate on the bad-input corpus: the verdict admission gives, a message that
names the field and says what to write, and never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from admission_corpus import CASES, Case
from roost.cli import main


def test_the_corpus_is_large_and_mostly_hostile() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES), "case ids repeat"
    assert sum(c.verdict == "reject" for c in CASES) >= 130


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_validate_gives_the_verdict_and_says_what_to_write(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "internal error" not in err
    if case.verdict == "accept":
        assert code == 0, err
        assert "roost: error:" not in err
        return
    assert code == 2, out
    errors = [line for line in err.splitlines() if line.startswith("roost: error: ")]
    assert errors, err
    named = f": {case.field}: " if case.field else ""
    assert any(named in line and (case.hint or "") in line for line in errors), errors
