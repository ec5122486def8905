"""roost validate as a CI step: files, directories, stdin, -f, multi-document files and
kind: List; every error of every document with its line; -o json|yaml."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from admission_corpus import MD, SLO, _dump, _edit
from roost.cli import main

STEP0 = "spec.rollout.steps[0]"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("roost: error: ")]


def test_every_error_of_every_document_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_md = _edit(MD, {f"{STEP0}.weight": "5", "spec.replicas": -1})
    bad_slo = _edit(SLO, {"spec.period": "0s"})
    path = tmp_path / "all.yaml"
    path.write_text(_dump(bad_slo) + "---\n" + _dump(_edit(MD, {})) + "---\n" + _dump(bad_md))
    code, out, err = _run(["validate", str(path)], capsys)
    assert code == 2
    assert f"{path}: ModelDeployment fraud-scorer valid" in out
    errors = _errors(err)
    assert len(errors) == 3, errors
    text = path.read_text().splitlines()
    for line, (document, field) in zip(
        errors,
        [(1, "spec.period"), (3, "spec.replicas"), (3, "spec.rollout.steps[0].weight")],
        strict=True,
    ):
        where, rest = line.removeprefix(f"roost: error: {path}:").split(" ", 1)
        assert rest.startswith(f"(document {document}, ")
        assert f"): {field}: " in rest
        # The line number points at the field's key.
        key = field.split(".")[-1].split("[")[0]
        assert text[int(where) - 1].strip().removeprefix("- ").startswith(key)


def test_a_list_is_unpacked_and_its_items_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [_edit(SLO, {}), _edit(MD, {"spec.replicas": "3"})]
    path = tmp_path / "list.yaml"
    path.write_text(_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    code, out, err = _run(["validate", str(path)], capsys)
    assert code == 2
    assert "SLOPolicy fraud-scorer valid" in out
    (error,) = _errors(err)
    assert "spec.replicas: got the string '3'" in error


def test_directories_are_read_and_recursed_into_with_r(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(_dump(SLO))
    (tmp_path / "notes.txt").write_text("not a manifest")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(_dump(_edit(MD, {"spec.replicas": "3"})))
    code, out, err = _run(["validate", str(tmp_path)], capsys)
    assert code == 0, err
    assert out.count(" valid") == 1
    code, out, err = _run(["validate", "-R", str(tmp_path)], capsys)
    assert code == 2
    assert "b.yml:" in err


def test_dash_f_and_positional_files_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "p.yaml", tmp_path / "m.yaml"
    first.write_text(_dump(SLO))
    second.write_text(_dump(MD))
    code, out, _ = _run(["validate", "-f", str(first), str(second)], capsys)
    assert code == 0
    assert out.splitlines() == [
        f"{first}: SLOPolicy fraud-scorer valid",
        f"{second}: ModelDeployment fraud-scorer valid",
    ]


def test_stdin_is_read_for_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _dump(_edit(MD, {f"{STEP0}.pause": 30}))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, _, err = _run(["validate", "-"], capsys)
    assert code == 2
    assert "roost: error: stdin:" in err
    assert "30 seconds is 30s" in err


def test_an_empty_file_is_an_error_and_the_others_are_still_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty, good = tmp_path / "empty.yaml", tmp_path / "good.yaml"
    empty.write_text("---\n# nothing\n")
    good.write_text(_dump(SLO))
    code, out, err = _run(["validate", str(empty), str(good)], capsys)
    assert code == 2
    assert "empty.yaml: no manifest in the file" in err
    assert "SLOPolicy fraud-scorer valid" in out


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_the_report_as_json_or_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(_dump(_edit(SLO, {"spec.objectives[0].target": 0.93})) + "---\n" + "kind: x\n")
    line = path.read_text().splitlines().index("kind: x") + 1
    code, out, err = _run(["validate", "-o", output, str(path)], capsys)
    assert code == 2
    assert err == ""
    report = json.loads(out) if output == "json" else yaml.safe_load(out)
    assert report["valid"] is False
    assert report["errors"] == 1
    first, second = report["documents"]
    assert first["valid"] is True
    assert first["warnings"][0]["message"].startswith("objectives[availability]: default rule")
    assert second["document"] == 2
    assert second["errors"] == [
        {
            "line": line,
            "path": "kind",
            "message": "got the string 'x'; write ModelDeployment or SLOPolicy",
        }
    ]


def test_a_foreign_kind_is_skipped_not_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: []}\n")
    code, out, _ = _run(["validate", str(path)], capsys)
    assert code == 0
    assert out.strip() == f"{path}: Service x skipped: not a Roost object"
