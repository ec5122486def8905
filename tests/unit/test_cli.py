"""The roost command line: published vectors through the CLI, and bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roost.cli import main

ROOT = Path(__file__).parents[2]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


# Capacity case A (docs/references.md): 200 req/s, 50 ms, 4 slots, p99 wait <= 10 ms -> 17 slots
def test_plan_sizes_the_published_example(capsys: pytest.CaptureFixture[str]) -> None:
    plan = _json(
        capsys,
        [
            "plan",
            "--arrival-rate",
            "200",
            "--service-time",
            "50ms",
            "--slots-per-replica",
            "4",
            "--p99-wait",
            "10ms",
            "-o",
            "json",
        ],
    )
    assert plan["replicas"] == 5
    assert plan["slots"] == 17
    assert plan["offered_load"] == pytest.approx(10)
    assert {"p_wait", "p99_wait_seconds"} <= plan.keys()


# SLO vector 15 (docs/references.md): 10 M requests, 4,000 bad, 99.9 %
def test_slo_budget_reports_burn_and_budget(capsys: pytest.CaptureFixture[str]) -> None:
    report = _json(
        capsys,
        [
            "slo",
            "budget",
            "--objective",
            "0.999",
            "--total",
            "10000000",
            "--bad",
            "4000",
            "--period",
            "30d",
            "-o",
            "json",
        ],
    )
    assert report["burn_rate"] == pytest.approx(0.4)
    assert report["budget_remaining"] == pytest.approx(0.6)
    assert report["time_to_exhaustion_seconds"] == pytest.approx(0.6 * 30 * 86400 / 0.4)


def test_simulate_prints_the_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    result = _json(
        capsys, ["simulate", str(ROOT / "examples/scenarios/error-regression.yaml"), "-o", "json"]
    )
    assert result["outcome"] == "rolled_back"


def test_crds_prints_both_definitions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds"]) == 0
    out = capsys.readouterr().out
    assert "name: modeldeployments.roost.dev" in out
    assert "name: slopolicies.roost.dev" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "plan",
                "--arrival-rate",
                "200",
                "--service-time",
                "50",
                "--slots-per-replica",
                "4",
                "--p99-wait",
                "10ms",
            ],
            "--service-time: '50' is not a duration",
        ),
        (
            ["slo", "budget", "--objective", "1.5", "--total", "10", "--bad", "1"],
            "--objective: expected a ratio in (0, 1)",
        ),
        (
            ["slo", "budget", "--objective", "0.999", "--total", "10", "--bad", "11"],
            "--bad: expected 0 <= bad <= total",
        ),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own errors
        code = int(exited.code or 0)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [f"roost: error: {err.removeprefix('roost: error: ')}"]
    assert message in err


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"sloPolicy": {"objectives": [], "surprise": 1}},
            "sloPolicy.surprise: unknown field; the fields here are period, objectives",
        ),
        ({"modelDeployment": {"bogus": True}}, "modelDeployment.bogus: unknown field"),
        ({"duration": "forever"}, "duration: 'forever' is not a duration"),
    ],
)
def test_bad_scenarios_exit_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], patch: dict[str, object], message: str
) -> None:
    import yaml

    document = yaml.safe_load((ROOT / "examples/scenarios/healthy-canary.yaml").read_text())
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err


def test_validate_rejects_an_invalid_manifest_with_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = ROOT / "examples/invalid/slopol-target-percent.yaml"
    assert main(["validate", str(path)]) == 2
    assert (
        "slopol-target-percent.yaml:11: spec.objectives[0].target: got the number 99.9, which "
        "should be less than 1; write a ratio between 0 and 1 such as 0.999 (99.9 %); a "
        "percentage? 99.9% is 0.999"
    ) in capsys.readouterr().err
