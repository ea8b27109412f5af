"""wafer.bench against `wafer bench --json`."""

import pytest

import wafer
from conftest import RESNET20


def test_npu_offline_matches_cli(run_cli):
    # Virtual time: the simulated NPU's results are bit-identical run to run, so equal to the CLI's.
    got = wafer.bench(RESNET20 / "model.onnx", target="npu:tpu-v1", scenario="Offline", min_queries=64,
                      duration_ms=0, max_batch=8, seed=3)
    want = run_cli("bench", RESNET20 / "model.onnx", "--target", "npu:tpu-v1", "--scenario", "Offline",
                   "--min-queries", "64", "--duration-ms", "0", "--max-batch", "8", "--seed", "3", "--json").json()
    assert got == want
    assert got["clock"] == "virtual" and got["sut_name"] == "npu:tpu-v1" and got["sample_count"] == 64
    assert got["samples_per_s"] == pytest.approx(64 / (got["duration_ns"] * 1e-9))


def test_cpu_single_stream():
    r = wafer.bench(RESNET20, target="cpu", scenario="SingleStream", min_queries=8, duration_ms=0, threads=1)
    assert (r["clock"], r["sut_name"], r["scenario"]) == ("real", "backend:cpu", "SingleStream")
    assert r["query_count"] == 8 and r["sample_count"] == 8
    assert r["latency"]["count"] == 8 and r["latency"]["min_ns"] > 0


def test_null_sut_and_errors(run_cli):
    r = wafer.bench(sut="null", scenario="Offline", min_queries=1000, duration_ms=0)
    assert (r["sut_name"], r["sample_count"], r["valid"]) == ("null", 1000, True)
    with pytest.raises(wafer.WaferError) as e:
        wafer.bench(RESNET20, scenario="Sometimes")
    assert str(e.value) == run_cli("bench", RESNET20 / "model.onnx", "--scenario", "Sometimes").error()
    with pytest.raises(wafer.WaferError) as e:
        wafer.bench(RESNET20, target="npu:tpu-v1", mode="accuracy")
    assert str(e.value) == run_cli("bench", RESNET20 / "model.onnx", "--target", "npu:tpu-v1", "--mode",
                                   "accuracy").error()


def test_find_peak_matches_cli(run_cli):
    # LoadGen's FindPeakPerformance: the report is the run at the highest VALID Server rate, the search beside it.
    args = dict(sut="device", service_us="100,10", max_batch=8, scenario="Server", target_qps=1000,
                target_latency_ms=15, min_queries=20000, duration_ms=0, mode="find-peak")
    got = wafer.bench(**args)
    want = run_cli("bench", "--sut", "device", "--service-us", "100,10", "--max-batch", "8", "--scenario", "Server",
                   "--target-qps", "1000", "--target-latency-ms", "15", "--min-queries", "20000", "--duration-ms", "0",
                   "--mode", "find-peak", "--json").json()
    assert got == want
    valid = [r["target_qps"] for r in got["peak_search"] if r["valid"]]
    assert got["valid"] and got["settings"]["target_qps"] == max(valid)
