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


def _scenario(case: Case) -> str | None:
    """The case's spec inside a short simulation scenario (with the other kind valid)."""
    import yaml

    from admission_corpus import MD, SLO

    try:
        document = yaml.safe_load(case.text)
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict) or "spec" not in document:
        return None
    md, slo = MD["spec"], SLO["spec"]
    if case.id.startswith("md-"):
        md = document["spec"]
    elif case.id.startswith("slo-"):
        slo = document["spec"]
    else:
        return None
    return yaml.safe_dump(
        {"seed": 1, "duration": "10m", "modelDeployment": md, "sloPolicy": slo}, sort_keys=False
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_command_that_reads_a_manifest_answers_without_a_traceback(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate -o json, rules and simulate on every case: exit 0, 1 or 2, never 3."""
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text)
    runs = [["validate", "-o", "json", str(path)], ["rules", str(path)]]
    if (scenario := _scenario(case)) is not None:
        (tmp_path / "scenario.yaml").write_text(scenario)
        runs.append(["simulate", str(tmp_path / "scenario.yaml")])
    for argv in runs:
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (0, 1, 2), (argv[0], err)
        assert "Traceback" not in err
        assert "internal error" not in err
