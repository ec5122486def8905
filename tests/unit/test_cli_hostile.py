"""Hostile and mistaken command lines: every one ends with a documented exit code and
one line saying what is wrong, never a traceback (exit 3 is a bug in Roost)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from roost.cli import main

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
PLAN = ["plan", "--arrival-rate", "200", "--service-time", "50ms", "--p99-wait", "10ms"]
BUDGET = ["slo", "budget", "--objective", "0.999"]


def _files(folder: Path) -> dict[str, Path]:
    """Broken inputs a new user might hand to any command that reads a file."""
    policy = (EXAMPLES / "slopolicy.yaml").read_text()
    made = {
        "tab.yaml": "apiVersion: roost.dev/v1alpha1\nkind: SLOPolicy\nspec:\n\tperiod: 30d\n",
        "garbage.yaml": "{{{ not yaml",
        "empty.yaml": "",
        "comment.yaml": "# nothing here\n",
        "scalar.yaml": "hello\n",
        "list.yaml": "- 1\n- 2\n",
        "period-100y.yaml": policy.replace("period: 30d", "period: 100y"),
    }
    for name, text in made.items():
        (folder / name).write_text(text)
    latin1 = "kind: SLOPolicy\nmetadata: {name: café}\n".encode("latin-1")
    (folder / "latin1.yaml").write_bytes(latin1)
    (folder / "binary.yaml").write_bytes(bytes(range(256)))
    (folder / "emptydir").mkdir()
    found = {name: folder / name for name in [*made, "latin1.yaml", "binary.yaml", "emptydir"]}
    found["missing.yaml"] = folder / "missing.yaml"
    return found


FILE_CASES = [
    ("tab.yaml", "YAML indents with spaces, not tabs"),
    ("garbage.yaml", "not valid YAML"),
    ("latin1.yaml", "not UTF-8 text"),
    ("binary.yaml", "a binary file"),
    ("missing.yaml", "No such file or directory"),
    ("emptydir", "emptydir"),
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own errors and --help
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_error(err: str, fragment: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("roost: error: "), lines
    assert fragment in lines[0], lines


@pytest.mark.parametrize("command", ["validate", "rules", "simulate"])
@pytest.mark.parametrize(("name", "fragment"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_a_file_that_cannot_be_read_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, name: str, fragment: str
) -> None:
    path = _files(tmp_path)[name]
    code, _, err = _run([command, str(path)], capsys)
    assert code == 2
    _assert_one_line_error(err, fragment)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("empty.yaml", "no manifest in the file"),
        ("comment.yaml", "no manifest in the file"),
        ("scalar.yaml", "got the string 'hello'; write a Kubernetes object: a mapping"),
        ("list.yaml", "got a list of 2; write a Kubernetes object: a mapping"),
    ],
)
def test_validate_refuses_a_file_without_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, fragment: str
) -> None:
    code, _, err = _run(["validate", str(_files(tmp_path)[name])], capsys)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err


def test_validate_reads_stdin_for_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (EXAMPLES / "slopolicy.yaml").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text)))
    code, out, _ = _run(["validate", "-"], capsys)
    assert code == 0
    assert "SLOPolicy fraud-scorer valid" in out


@pytest.mark.parametrize("command", ["validate", "rules"])
def test_a_period_of_a_century_is_refused_not_crashed_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, err = _run([command, str(_files(tmp_path)["period-100y.yaml"])], capsys)
    assert code == 2
    assert "valid" not in out
    _assert_one_line_error(err, "365d")


def test_a_capped_plan_that_misses_its_wait_budget_is_a_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run([*PLAN, "--slots-per-replica", "4", "--max-replicas", "3"], capsys)
    assert code == 1
    assert out.startswith("replicas 3 ")
    assert "9.51x the budget" in err
    assert "17 slots (5 replicas) meet --p99-wait" in err


def test_a_plan_capped_below_the_load_has_an_unbounded_wait(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [*PLAN, "--slots-per-replica", "1", "--max-replicas", "2", "-o", "json"]
    code, out, err = _run(argv, capsys)
    assert code == 1
    plan = json.loads(out)
    assert plan["p99_wait_seconds"] is None
    assert plan["meets_wait_budget"] is False
    assert "an unbounded wait" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([*PLAN, "--slots-per-replica", "99999999999999999999"], "--slots-per-replica"),
        ([*PLAN, "--slots-per-replica", "-1"], "--slots-per-replica"),
        ([*PLAN, "--slots-per-replica", "four"], "--slots-per-replica"),
        ([*PLAN, "--slots-per-replica", "4", "--max-replicas", "0"], "--max-replicas"),
        ([*PLAN[:2], "nan", *PLAN[3:], "--slots-per-replica", "4"], "--arrival-rate"),
        ([*PLAN[:2], "-1", *PLAN[3:], "--slots-per-replica", "4"], "--arrival-rate"),
        ([*PLAN[:2], "1e999", *PLAN[3:], "--slots-per-replica", "4"], "--arrival-rate"),
        (
            [
                *PLAN[:3],
                "--service-time",
                "99999999999999999999999y",
                *PLAN[5:],
                "--slots-per-replica",
                "4",
            ],
            "longer than 365d",
        ),
        ([*BUDGET, "--total", "nan", "--bad", "1"], "--total"),
        ([*BUDGET, "--total", "inf", "--bad", "1"], "--total"),
        ([*BUDGET, "--total", "10", "--bad", "-1"], "--bad"),
        ([*BUDGET, "--total", "10", "--bad", "1", "--period", "0s"], "--period"),
        ([*BUDGET, "--total", "10", "--bad", "1", "--period", "100y"], "--period"),
        (
            ["simulate", str(EXAMPLES / "scenarios/healthy-canary.yaml"), "--seed", "-1"],
            "--seed",
        ),
        (["simulate", str(EXAMPLES / "scenarios/healthy-canary.yaml"), "--seed", "x"], "--seed"),
        (["crds", "--write", "/proc/nope"], "--write /proc/nope"),
        (["crds", "--write", "/dev/null"], "--write /dev/null"),
        (["status", "x", "--kubeconfig", "/nonexistent"], "--kubeconfig /nonexistent"),
        (["promote", "x", "--kubeconfig", "/nonexistent"], "--kubeconfig /nonexistent"),
        (["status", "x", "--interval", "-1"], "--interval"),
        (["drift", "--alpha", "nan", "a", "b"], "--alpha"),
        (["drift", "--threshold", "nan", "a", "b"], "--threshold"),
        (["drift", "only-one.json"], "give two histogram files"),
        (["rules", str(EXAMPLES / "modeldeployment.yaml")], "kind: got the string"),
        (["rules", str(EXAMPLES / "slopolicy.yaml"), "--group-by", "{"], "label name"),
        (["nope"], "invalid choice"),
        ([], "required: command"),
    ],
)
def test_a_hostile_argument_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, _, err = _run(argv, capsys)
    assert code == 2
    _assert_one_line_error(err, fragment)


def test_kubeconfig_that_is_not_a_kubeconfig_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_bytes(bytes(range(256)))
    code, _, err = _run(["status", "x", "--kubeconfig", str(bad)], capsys)
    assert code == 2
    _assert_one_line_error(err, "--kubeconfig")


def test_a_scenario_too_long_to_simulate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (EXAMPLES / "scenarios/low-traffic.yaml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("duration:")]
    path = tmp_path / "long.yaml"
    path.write_text("\n".join(["duration: 365d", *lines]))
    code, _, err = _run(["simulate", str(path)], capsys)
    assert code == 2
    _assert_one_line_error(err, "analysis ticks")


HISTOGRAMS = [
    ('{"0.5": NaN, "+Inf": 10}', "expected a finite count >= 0"),
    ('{"0.5": 1e400, "+Inf": 10}', "expected a finite count >= 0"),
    ('{"0.5": -3, "+Inf": 10}', "expected a finite count >= 0"),
    ('{"0.5": 8, "+Inf": 5}', "expected cumulative counts"),
    ('{"0.5": 8}', "no +Inf bucket"),
    ('{"NaN": 1, "+Inf": 2}', "bucket bound"),
    ('{"high": 1, "+Inf": 2}', "expected a JSON object of le bound"),
    ("[1, 2]", "expected a JSON object of le bound"),
    ('{"0.5": "x", "+Inf": 2}', "expected a JSON object of le bound"),
    ("not json", "expected a JSON object of le bound"),
]


@pytest.mark.parametrize(("text", "fragment"), HISTOGRAMS)
def test_drift_refuses_a_histogram_no_exporter_could_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str
) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"0.5": 4, "+Inf": 10}')
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    for argv in (["drift", str(good), str(bad)], ["drift", str(bad), str(good)]):
        code, out, err = _run(argv, capsys)
        assert code == 2, out
        _assert_one_line_error(err, fragment)


def test_a_negative_count_in_text_exposition_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.prom"
    good.write_text('h_bucket{le="0.5"} 4\nh_bucket{le="+Inf"} 10\n')
    bad = tmp_path / "bad.prom"
    bad.write_text('h_bucket{le="0.5"} -4\nh_bucket{le="+Inf"} 10\n')
    code, _, err = _run(["drift", str(good), str(bad)], capsys)
    assert code == 2
    _assert_one_line_error(err, "expected a finite count >= 0")


def test_an_internal_error_exits_3_with_one_line_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.delenv("ROOST_DEBUG", raising=False)
    monkeypatch.setattr("roost.api.crd.render_all", broken)
    code, _, err = _run(["crds"], capsys)
    assert code == 3
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "roost: internal error: ZeroDivisionError: division by zero (a bug in Roost; "
        "ROOST_DEBUG=1 prints the traceback)"
    ]
