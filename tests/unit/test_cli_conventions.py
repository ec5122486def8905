"""What a kubectl user expects of a CLI: a kubectl plugin, shell completion, -o json|yaml
on what prints an object, documented exit codes, no escape codes in a pipe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from roost import cli, completion

ROOT = Path(__file__).parents[2]
BODY: dict[str, Any] = {
    "apiVersion": "roost.dev/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "fraud-scorer", "namespace": "models"},
    "spec": yaml.safe_load((ROOT / "examples/modeldeployment.yaml").read_text())["spec"],
    "status": {"phase": "Progressing"},
}


def test_the_package_installs_roost_and_the_kubectl_plugin_with_an_spdx_license() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["scripts"]["kubectl-roost"] == "roost.cli:kubectl_main"
    assert project["scripts"]["kubectl_complete-roost"] == "roost.cli:kubectl_complete_main"


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"], prog="kubectl roost")
    out = capsys.readouterr().out
    assert out.startswith("usage: kubectl roost ")
    assert "exit codes: 0 ok; 1 a finding" in out
    assert "3 an internal error" in out


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["va"], ["validate"]),
        (["s"], ["simulate", "slo", "status"]),
        (["status", "x", "-o", ""], ["text", "json", "yaml"]),
        (["validate", "--re"], ["--recursive"]),
        (["drift", "--statistic", "k"], ["ks"]),
        (["completion", ""], []),  # a positional with choices is not an option's value
        (["plan", "--arrival-rate", "5", "--ser"], ["--service-time"]),
    ],
)
def test_completion_candidates_come_from_the_parser(words: list[str], expected: list[str]) -> None:
    assert completion.candidates(cli._parser(), words) == expected


def test_the_hidden_complete_command_prints_one_candidate_a_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["__complete", "crds", "-o", "j"]) == 0
    assert capsys.readouterr().out == "json\n"


def test_kubectl_complete_prints_cobra_directives(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["kubectl_complete-roost", "pro"])
    assert cli.kubectl_complete_main() == 0
    assert capsys.readouterr().out == "promote\n:4\n"
    monkeypatch.setattr(sys, "argv", ["kubectl_complete-roost", "validate", "exam"])
    assert cli.kubectl_complete_main() == 0
    assert capsys.readouterr().out == ":0\n"  # no candidates: the shell completes files


def _roost_on_path(tmp_path: Path) -> dict[str, str]:
    """A PATH whose `roost` is this checkout's CLI (the scripts call `roost __complete`)."""
    shim = tmp_path / "roost"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m roost "$@"\n')
    shim.chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)}


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_commands_and_values(tmp_path: Path) -> None:
    script = tmp_path / "roost.bash"
    script.write_text(completion.SCRIPTS["bash"])
    probe = (
        f"source {script}; complete -p roost; "
        'COMP_WORDS=(roost va); COMP_CWORD=1; _roost_complete; echo "[${COMPREPLY[*]}]"; '
        'COMP_WORDS=(roost status x -o ""); COMP_CWORD=4; _roost_complete; '
        'echo "[${COMPREPLY[*]}]"'
    )
    done = subprocess.run(
        ["bash", "-c", probe], env=_roost_on_path(tmp_path), capture_output=True, text=True
    )
    assert done.stdout.splitlines() == [
        "complete -o default -F _roost_complete roost",
        "[validate]",
        "[text json yaml]",
    ], done.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_completes_commands(tmp_path: Path) -> None:
    script = tmp_path / "_roost"
    script.write_text(completion.SCRIPTS["zsh"])
    # compadd only works inside completion; stand in for it and for compdef.
    probe = (
        'compdef() { :; }; compadd() { shift 2; print -l -- "$@"; }; _files() { print FILES; }; '
        f"source {script}; words=(roost sta); CURRENT=2; _roost; "
        "words=(roost validate exam); CURRENT=3; _roost"
    )
    done = subprocess.run(
        ["zsh", "-f", "-c", probe], env=_roost_on_path(tmp_path), capture_output=True, text=True
    )
    assert done.stdout.splitlines() == ["status", "FILES"], done.stderr


def _watch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> str:
    bodies = [BODY, BODY, {**BODY, "status": {"phase": "Succeeded"}}]
    monkeypatch.setattr(cli, "_kube", lambda args: object())
    monkeypatch.setattr(cli, "_read_model_deployment", lambda kube, args: bodies.pop(0))

    def sleep(_seconds: float) -> None:
        if not bodies:
            raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    assert cli.main(argv) == 130
    return capsys.readouterr().out


def test_watch_into_a_pipe_prints_each_new_state_without_escape_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _watch(monkeypatch, capsys, ["status", "fraud-scorer", "--watch"])
    assert "\033" not in out
    assert out.count("Name:        fraud-scorer") == 2  # the unchanged second read is not repeated
    assert "Phase:       Succeeded" in out


def test_watch_as_yaml_prints_a_stream_of_documents(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _watch(monkeypatch, capsys, ["status", "fraud-scorer", "--watch", "-o", "yaml"])
    phases = [d["status"]["phase"] for d in yaml.safe_load_all(out)]
    assert phases == ["Progressing", "Succeeded"]


def test_status_as_json_is_the_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_kube", lambda args: object())
    monkeypatch.setattr(cli, "_read_model_deployment", lambda kube, args: BODY)
    assert cli.main(["status", "fraud-scorer", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == BODY


def test_crds_as_json_is_a_list_of_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["crds", "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["kind"] == "List"
    assert [c["spec"]["names"]["kind"] for c in listed["items"]] == ["ModelDeployment", "SLOPolicy"]


def test_drift_as_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text('{"0.5": 40, "+Inf": 100}')
    b.write_text('{"0.5": 41, "+Inf": 100}')
    assert cli.main(["drift", str(a), str(b), "-o", "yaml"]) == 0
    report = yaml.safe_load(capsys.readouterr().out)
    assert report["drift"] is False
    assert report["buckets"][-1]["le"] == "+Inf"
