"""roost drift: two histograms from files, the statistics checked against scipy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from roost.cli import main

BOUNDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def _cumulative(counts: list[int]) -> dict[str, float]:
    running = np.cumsum(counts)
    out = {str(b): float(c) for b, c in zip(BOUNDS, running[:-1], strict=True)}
    out["+Inf"] = float(running[-1])
    return out


BASE = [120, 260, 240, 170, 110, 60, 25, 10, 4, 1]
MOVED = [20, 80, 150, 210, 200, 160, 100, 50, 25, 5]


def _write(tmp_path: Path, name: str, counts: list[int]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(_cumulative(counts)))
    return path


def test_a_moved_histogram_is_drift_with_scipy_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _write(tmp_path, "a.json", BASE), _write(tmp_path, "b.json", MOVED)
    assert main(["drift", str(a), str(b), "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    chi2 = stats.chi2_contingency(np.array([BASE, MOVED]), correction=False)[0]
    assert report["chi2"] == pytest.approx(chi2)
    assert report["cohensW"] == pytest.approx(math.sqrt(chi2 / (sum(BASE) + sum(MOVED))))
    p, q = np.array(BASE) / sum(BASE), np.array(MOVED) / sum(MOVED)
    assert report["psi"] == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert report["ks"] == pytest.approx(float(np.max(np.abs(np.cumsum(q) - np.cumsum(p)))))
    assert report["drift"] is True
    assert report["buckets"][-1]["le"] == "+Inf"


def test_the_same_distribution_is_no_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _write(tmp_path, "a.json", BASE), _write(tmp_path, "b.json", [2 * c for c in BASE])
    assert main(["drift", str(a), str(b), "--statistic", "ks"]) == 0
    out = capsys.readouterr().out
    assert "no drift: ks 0.0000 vs threshold 0.1" in out


def test_a_prometheus_text_snapshot_is_read_and_filtered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["# TYPE model_prediction_score histogram"]
    for version, counts in (("v1", BASE), ("v2", MOVED)):
        for le, value in _cumulative(counts).items():
            lines.append(f'model_prediction_score_bucket{{version="{version}",le="{le}"}} {value}')
        lines.append(f'model_prediction_score_count{{version="{version}"}} {sum(counts)}')
        lines.append(f'model_prediction_score_sum{{version="{version}"}} 1')
    snapshot = tmp_path / "scrape.prom"
    snapshot.write_text("\n".join(lines) + "\n")
    argv = ["drift", str(snapshot), str(snapshot), "-o", "json"]
    assert main([*argv, "--match", "version=v1"]) == 0  # v1 against itself
    capsys.readouterr()
    a = _write(tmp_path, "a.json", BASE)
    assert main(["drift", str(a), str(snapshot), "--match", "version=v2", "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["observations"]["candidate"] == sum(MOVED)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--alpha", "2"], "--alpha: expected a level in (0, 1)"),
        (["--histogram", "nope"], "no histogram buckets named nope_bucket"),
        (["--prometheus", "http://127.0.0.1:1"], "not both"),
    ],
)
def test_bad_drift_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    snapshot = tmp_path / "s.prom"
    snapshot.write_text('h_bucket{le="1"} 3\nh_bucket{le="+Inf"} 4\n')
    assert main(["drift", str(snapshot), str(snapshot), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert "\n" not in err


def test_one_file_is_not_enough(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path, "a.json", BASE)
    assert main(["drift", str(a)]) == 2
    assert "two histogram files" in capsys.readouterr().err
