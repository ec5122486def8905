"""B3 helpers: the synthetic exporter's text and the counter maths."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bench.scale import exporter, stats

# -- exporter ----------------------------------------------------------------------


def test_exposition_has_every_model_version_and_the_e2e_metric_names() -> None:
    text = exporter.exposition(["m0000", "m0001"], ["v1", "v2"], elapsed_s=100, rps=20)
    samples = stats.parse(text, ["model_predictions_total", "model_request_duration_seconds"])
    for model in ("m0000", "m0001"):
        for version in ("v1", "v2"):

            def of(labels: dict[str, str], model: str = model, version: str = version) -> bool:
                return labels.get("model") == model and labels.get("version") == version

            assert stats.total(samples, "model_predictions_total", of) == 2000
            assert stats.total(samples, "model_request_duration_seconds_count", of) == 2000
    # 2 models x 2 versions x (2 statuses + 12 buckets + count + sum)
    assert len(samples) == 4 * 16


def test_exposition_histogram_is_cumulative_and_matches_the_latency_model() -> None:
    text = exporter.exposition(["m0000"], ["v1"], elapsed_s=1000, rps=100)
    cumulative = stats.buckets(
        stats.parse(text, ["model_request_duration_seconds"]), "model_request_duration_seconds"
    )
    counts = [c for _, c in cumulative]
    assert counts == sorted(counts)
    assert cumulative[-1] == (math.inf, 100_000)
    # median 60 ms, p99 200 ms as the e2e simulator's default behaviour
    assert stats.histogram_quantile(0.5, cumulative) == pytest.approx(0.06, rel=0.1)
    assert stats.histogram_quantile(0.99, cumulative) == pytest.approx(0.2, rel=0.25)


def test_error_share_is_the_configured_one() -> None:
    text = exporter.exposition(["m0000"], ["v1"], elapsed_s=1000, rps=100)
    samples = stats.parse(text, ["model_predictions_total"])
    errors = stats.total(samples, "model_predictions_total", lambda lb: lb["status"] == "error")
    assert errors / 100_000 == pytest.approx(exporter.ERROR_SHARE)


# -- stats -------------------------------------------------------------------------


def test_parse_keeps_only_the_wanted_families_and_counters_by_sample_name() -> None:
    text = (
        '# TYPE a_total counter\na_total{x="1"} 3\n# TYPE b gauge\nb 7\n'
        '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 4\nh_count 4\nh_sum 3\n'
    )
    samples = stats.parse(text, ["a_total", "h"])
    assert samples[("a_total", (("x", "1"),))] == 3
    assert ("b", ()) not in samples
    assert stats.total(samples, "h_count") == 4


def test_delta_counts_new_samples_from_zero() -> None:
    key_a = ("c_total", (("k", "a"),))
    key_b = ("c_total", (("k", "b"),))
    assert stats.delta({key_a: 5.0}, {key_a: 8.0, key_b: 2.0}) == {key_a: 3.0, key_b: 2.0}


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    cumulative = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (math.inf, 100.0)]
    assert stats.histogram_quantile(0.5, cumulative) == pytest.approx(0.1)
    assert stats.histogram_quantile(0.7, cumulative) == pytest.approx(0.3)
    assert stats.histogram_quantile(0.25, cumulative) == pytest.approx(0.05)
    # in the +Inf bucket: the highest finite bound
    assert stats.histogram_quantile(0.99, [(1.0, 90.0), (math.inf, 100.0)]) == 1.0
    assert math.isnan(stats.histogram_quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]))


def test_percentile() -> None:
    assert stats.percentile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.5
    assert stats.percentile([5.0], 0.99) == 5.0
    assert stats.percentile(list(map(float, range(101))), 0.99) == pytest.approx(99.0)
    assert math.isnan(stats.percentile([], 0.5))


def test_vm_rss() -> None:
    text = "Name:\tpython\nVmPeak:\t  300 kB\nVmRSS:\t  123456 kB\nThreads:\t9\n"
    assert stats.vm_rss_bytes(text) == 123456 * 1024
    assert stats.vm_rss_bytes("Name:\tzombie\n") is None


def test_cpu_seconds_from_proc_stat() -> None:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    text = "4242 (python -m roost) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0"
    assert stats.cpu_seconds(text, clock_ticks=100) == 3.0


def test_cpu_by_command_sums_processes_by_name_or_label(tmp_path: Path) -> None:
    def process(pid: int, comm: str, utime: int, stime: int) -> None:
        (tmp_path / str(pid)).mkdir()
        rest = f"S 1 {pid} {pid} 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0"
        (tmp_path / str(pid) / "stat").write_text(f"{pid} ({comm}) {rest}")

    process(10, "etcd", 100, 20)
    process(11, "kube-apiserver", 300, 100)
    process(12, "python3", 50, 0)
    process(13, "python3", 30, 10)
    process(14, "python3", 70, 0)
    process(15, "kworker/u8:0-events_unbound", 3, 0)
    process(16, "kworker/0:1-mm_percpu_wq", 2, 0)
    (tmp_path / "self").mkdir()  # not a pid: skipped
    (tmp_path / "99").mkdir()  # exited, no stat left: skipped
    cores = stats.cpu_by_command(tmp_path, labels={14: "roost operator"}, clock_ticks=100)
    assert cores == {
        "etcd": pytest.approx(1.2),
        "kube-apiserver": pytest.approx(4.0),
        "python3": pytest.approx(0.9),
        "roost operator": pytest.approx(0.7),
        "kworker": pytest.approx(0.05),
    }


def test_machine_cpu_names_the_busiest_processes_and_the_total() -> None:
    from bench.scale import report

    cores = {"etcd": 0.2, "kube-apiserver": 0.61, "kwok": 0.05}
    assert report._machine(cores, top=2) == "kube-apiserver 0.61, etcd 0.20; all 0.86"
    assert report._machine(None) == ""


def test_stages_report_the_median_and_max_of_each_and_skip_unknown_values() -> None:
    from bench.scale import driver, report

    patched = {"a": 100.0, "b": 100.0, "c": 100.0}
    weighted = {"a": 101.5, "b": 103.0, "c": 110.0}
    stamps = {
        "a": ("1970-01-01T00:01:40.5Z", "1970-01-01T00:01:41Z"),
        "b": ("1970-01-01T00:01:41Z", "1970-01-01T00:01:42Z"),
        "c": (None, None),  # the status lacked the operator's times
    }
    stages = driver._stages(patched, weighted, stamps)
    assert stages == {
        "to_start": [0.5, 1.0, None],
        "to_weight": [0.5, 1.0, None],
        "to_seen": [0.5, 1.0, None],
    }
    text = report._stages(stages)
    assert "started the rollout 0.50 / 1.00 s" in text
    assert report._stages(None) == ""
