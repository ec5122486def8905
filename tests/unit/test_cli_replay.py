"""roost capacity replay: a user's trace through Roost, CPU HPAs and a static deployment
on B2's simulator; bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from roost.cli import main
from roost.replay.compare import Settings, model_of
from roost.replay.policies import Roost

ROOT = Path(__file__).parents[2]
# 15 req/s with a 4x surge in minutes 5-7: the surge is what tells the policies apart.
TRACE = "time,rate\n0,15\n300,60\n420,15\n900,15\n"


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(TRACE)
    return path


def _replay(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["capacity", "replay", *argv, "-o", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_each_policy_is_scored_and_the_static_one_holds_the_busiest_minutes_plan(
    capsys: pytest.CaptureFixture[str], trace: Path
) -> None:
    flags = ["--service-time", "100ms", "--slots-per-replica", "4", "--wait-budget", "100ms"]
    data = _replay(capsys, str(trace), *flags, "--seeds", "2", "--cpu-target", "60")
    names = [p["policy"] for p in data["policies"]]  # type: ignore[index, union-attr]
    settings = Settings(service_time=0.1, service_cv=0.3, slots=4, wait_budget=0.1)
    peak_plan = Roost(model_of(settings), service_cv=0.3, wait_budget=0.1).plan(60.0)
    assert names == [
        "Roost plan, in-flight HPA, serviceTimeCv 0.3",
        "CPU HPA 60 %",
        f"static {peak_plan.replicas}",
    ]
    assert data["trace"] == {  # type: ignore[comparison-overlap]
        "seconds": 1380,  # the last row lasts as long as the one before it
        "requests": data["trace"]["requests"],  # type: ignore[index]
        "mean_rate": pytest.approx((1260 * 15 + 120 * 60) / 1380),
        "peak_minute_rate": 60.0,
    }
    for policy in data["policies"]:  # type: ignore[union-attr]
        assert policy["replica_hours"] > 0  # type: ignore[index]
        assert 0 <= policy["attainment"] <= 1  # type: ignore[index]
        assert policy["interval_95"]["replica_hours"] is not None  # type: ignore[index]
    # Seeded: the same flags give the same numbers.
    again = _replay(capsys, str(trace), *flags, "--seeds", "2", "--cpu-target", "60")
    assert again == data


def test_the_model_deployment_supplies_what_the_flags_leave_out(
    capsys: pytest.CaptureFixture[str], trace: Path
) -> None:
    md = ROOT / "examples" / "modeldeployment.yaml"  # serviceTime 50ms, 4 slots, 10ms
    data = _replay(capsys, str(trace), "-f", str(md), "--seeds", "1", "--cpu-target", "70")
    assert data["model"]["service_time"] == 0.05  # type: ignore[index]
    assert data["model"]["slots_per_replica"] == 4  # type: ignore[index]
    assert data["model"]["slo"] == pytest.approx(0.01 + 2 * 0.05)  # type: ignore[index]


def test_without_a_service_time_the_error_says_what_to_write(
    capsys: pytest.CaptureFixture[str], trace: Path
) -> None:
    assert main(["capacity", "replay", str(trace)]) == 2
    assert capsys.readouterr().err == (
        "roost: error: --service-time: not given (no -f); write the model's mean service "
        "time, e.g. --service-time 80ms\n"
    )


def test_a_zero_service_time_is_refused_by_the_flag(
    capsys: pytest.CaptureFixture[str], trace: Path
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["capacity", "replay", str(trace), "--service-time", "0s"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --service-time:" in err
    assert "Traceback" not in err


def test_a_trace_that_cannot_be_read_names_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,rate\n0,10\nsoon,20\n")
    assert main(["capacity", "replay", str(bad), "--service-time", "50ms"]) == 2
    assert capsys.readouterr().err == (
        f"roost: error: {bad}: line 3: 'soon,20' is not numbers; write time,rate "
        "(seconds, requests per second) or one request timestamp (seconds) per line\n"
    )


def test_a_model_deployment_without_autoscaling_is_refused(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path
) -> None:
    md = tmp_path / "md.yaml"
    text = (ROOT / "examples" / "modeldeployment.yaml").read_text()
    start = text.index("  autoscaling:")
    end = text.index("  metrics:")
    md.write_text(text[:start] + text[end:])
    assert main(["capacity", "replay", str(trace), "-f", str(md)]) == 2
    assert capsys.readouterr().err.startswith(
        f"roost: error: {md}: spec.autoscaling: not set; replay compares Roost's autoscaling"
    )


def test_a_burst_factor_reserves_for_roost_only(
    capsys: pytest.CaptureFixture[str], trace: Path
) -> None:
    """The static deployment stays at the busiest minute's plan; the reserve is Roost's."""
    flags = ["--service-time", "100ms", "--slots-per-replica", "4", "--wait-budget", "100ms"]
    plain = _replay(capsys, str(trace), *flags, "--seeds", "1", "--cpu-target", "60")
    reserve = _replay(
        capsys, str(trace), *flags, "--seeds", "1", "--cpu-target", "60", "--burst-factor", "4"
    )
    names = [[p["policy"] for p in d["policies"]] for d in (plain, reserve)]  # type: ignore[union-attr, index]
    assert names[0][-1] == names[1][-1]  # the same static count
    assert names[1][0].endswith(", burstFactor 4")
    roost = [d["policies"][0]["replica_hours"] for d in (plain, reserve)]  # type: ignore[index]
    assert roost[1] > roost[0]


def test_the_demand_metric_is_replayed_from_the_spec_or_the_flag(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path
) -> None:
    example = yaml.safe_load((ROOT / "examples" / "modeldeployment.yaml").read_text())
    example["spec"]["autoscaling"]["metric"] = "Demand"
    md = tmp_path / "md.yaml"
    md.write_text(yaml.safe_dump(example))
    flags = ["--seeds", "1", "--cpu-target", "70"]
    data = _replay(capsys, str(trace), "-f", str(md), *flags)
    first = data["policies"][0]  # type: ignore[index]
    assert first["policy"] == "Roost plan, demand HPA, serviceTimeCv 0.3, serviceTime 50ms"  # type: ignore[index]
    data = _replay(capsys, str(trace), "-f", str(md), "--metric", "InflightPerPod", *flags)
    first = data["policies"][0]  # type: ignore[index]
    assert first["policy"] == "Roost plan, in-flight HPA, serviceTimeCv 0.3, serviceTime 50ms"  # type: ignore[index]


def test_pod_startup_from_the_spec_or_the_flag_sets_how_long_simulated_pods_start(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path
) -> None:
    example = yaml.safe_load((ROOT / "examples" / "modeldeployment.yaml").read_text())
    example["spec"]["autoscaling"].update(metric="Demand", podStartup="2m")
    md = tmp_path / "md.yaml"
    md.write_text(yaml.safe_dump(example))
    flags = ["--seeds", "1", "--cpu-target", "70"]
    data = _replay(capsys, str(trace), "-f", str(md), *flags)
    assert data["model"]["startup_seconds"] == [90, 150]  # type: ignore[index]
    slow = data["policies"]  # type: ignore[index]
    data = _replay(capsys, str(trace), "-f", str(md), "--pod-startup", "20s", *flags)
    assert data["model"]["startup_seconds"] == [15, 25]  # type: ignore[index]
    fast = data["policies"]  # type: ignore[index]
    # The CPU HPA's pods meet the surge sooner when they start in 15-25 s, and Roost's
    # demand HPA keeps an idle pod for 20 s instead of 120 s.
    assert fast[1]["attainment"] > slow[1]["attainment"]  # type: ignore[index]
    assert fast[0]["replica_hours"] < slow[0]["replica_hours"]  # type: ignore[index]
    text = [str(trace), "--service-time", "80ms", "--pod-startup", "20s", *flags]
    assert main(["capacity", "replay", *text, "-o", "text"]) == 0
    assert "pods ready 15-25 s after creation" in capsys.readouterr().out


def test_a_declared_arrival_rate_is_planned_for_from_the_spec_or_the_flag(
    capsys: pytest.CaptureFixture[str], trace: Path, tmp_path: Path
) -> None:
    """autoscaling.arrivalRate replaces the measured rate in Roost's plan, as in the
    operator: planned at the surge's 60 req/s, Roost meets it from the start."""
    flags = ["--service-time", "100ms", "--slots-per-replica", "1", "--wait-budget", "50ms"]
    flags += ["--seeds", "1", "--cpu-target", "70", "--metric", "Demand"]
    measured = _replay(capsys, str(trace), *flags)["policies"][0]  # type: ignore[index]
    declared = _replay(capsys, str(trace), *flags, "--arrival-rate", "60")["policies"][0]  # type: ignore[index]
    assert declared["policy"].endswith(", arrivalRate 60")  # type: ignore[index]
    assert declared["attainment"] > measured["attainment"]  # type: ignore[index]
    assert declared["replica_hours"] > measured["replica_hours"]  # type: ignore[index]
    example = yaml.safe_load((ROOT / "examples" / "modeldeployment.yaml").read_text())
    example["spec"]["autoscaling"]["arrivalRate"] = 60
    md = tmp_path / "md.yaml"
    md.write_text(yaml.safe_dump(example))
    data = _replay(capsys, str(trace), "-f", str(md), "--seeds", "1", "--cpu-target", "70")
    assert data["policies"][0]["policy"].endswith(", arrivalRate 60")  # type: ignore[index]
