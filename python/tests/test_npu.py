"""wafer.simulate, wafer.sweep and wafer.hardware against `wafer sim`, `wafer sweep` and `wafer hw`."""

import itertools
import json

import pytest
import yaml

import wafer
from conftest import REPO, RESNET20


def test_simulate_matches_cli(run_cli):
    for preset in ("tpu-v1", "edge-npu"):
        got = wafer.simulate(RESNET20, hw=preset, batch=2)
        want = run_cli("sim", RESNET20, "--hw", preset, "--batch", "2", "--json").json()
        assert got == want  # the JSON has no wall times: identical run to run
        assert got["latency_s"] > 0
    tpu = wafer.simulate(RESNET20, hw="tpu-v1")
    edge = wafer.simulate(RESNET20, hw="edge-npu")
    assert tpu["latency_s"] != edge["latency_s"]


def test_compile_matches_cli(run_cli, tmp_path):
    got = wafer.compile(RESNET20, hw="h100", batch=4, output=tmp_path / "prog.json")
    want = run_cli("compile", RESNET20, "--hw", "h100", "--batch", "4", "--json").json()
    for d in (got, want):
        d.pop("compile_ms")  # a wall time
    assert got == want
    assert got["batch"] == 4 and got["matrix_layers"] == 22  # resnet20's 21 convolutions and its Gemm
    assert got["layers"] == got["matrix_layers"] + got["vector_layers"] + got["free_views"]
    program = json.loads((tmp_path / "prog.json").read_text())
    assert len(program["layers"]) == got["layers"]
    assert (tmp_path / "prog.json.txt").read_text().strip()
    with pytest.raises(wafer.WaferError, match="unknown hardware preset 'nope'"):
        wafer.compile(RESNET20, hw="nope")


def test_precision_and_overrides_match_cli(run_cli):
    got = wafer.simulate(RESNET20, hw="h100", precision="fp32", overrides={"cores.matrix.rows": 8})
    want = run_cli("sim", RESNET20, "--hw", "h100", "--precision", "fp32", "--set", "cores.matrix.rows=8",
                   "--json").json()
    assert got == want
    assert got["latency_s"] > wafer.simulate(RESNET20, hw="h100", precision="fp16")["latency_s"]


def test_hardware_as_dict_is_the_yaml_file(run_cli, tmp_path):
    desc = yaml.safe_load((REPO / "hw" / "edge-npu.yaml").read_text())
    assert wafer.simulate(RESNET20, hw=desc) == wafer.simulate(RESNET20, hw="edge-npu")
    assert wafer.hardware(desc) == run_cli("hw", "edge-npu", "--json").json()
    # An invalid description fails with the message a file with the same content gets.
    desc["cores"]["matrix"]["rows"] = -4
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(desc))
    with pytest.raises(wafer.WaferError) as e:
        wafer.simulate(RESNET20, hw=desc)
    cli = run_cli("sim", RESNET20, "--hw", path).error()
    assert str(e.value) == cli.replace(str(path), "hw")
    assert "rows" in str(e.value)


def test_sweep_is_the_grid(run_cli):
    grid = {"cores.matrix.rows": [64, 128, 256], "clock": ["700 MHz", "1 GHz"]}
    points = wafer.sweep(RESNET20, hw="tpu-v1", grid=grid)
    assert len(points) == 3 * 2
    # Odometer order, first axis slowest; each axis is also a column (numbers as numbers).
    assert [(p["cores.matrix.rows"], p["clock"]) for p in points] == list(itertools.product(*grid.values()))
    want = run_cli("sweep", RESNET20, "--hw", "tpu-v1", "--set", "cores.matrix.rows=64,128,256",
                   "--set", "clock=700 MHz,1 GHz", "--json", "--out", "", "-q").json()
    for got, cli in zip(points, want["points"]):
        assert {k: got[k] for k in cli} == cli
    assert any(p["pareto"] for p in points)


def test_sweep_over_a_dict_base():
    desc = yaml.safe_load((REPO / "hw" / "tpu-v1.yaml").read_text())
    from_dict = wafer.sweep(RESNET20, hw=desc, grid={"cores.matrix.rows": [64, 128]})
    from_preset = wafer.sweep(RESNET20, hw="tpu-v1", grid={"cores.matrix.rows": [64, 128]})
    assert from_dict == from_preset


def test_unknown_preset_lists_presets(run_cli):
    with pytest.raises(wafer.WaferError) as e:
        wafer.simulate(RESNET20, hw="tpu-v9")
    assert str(e.value) == run_cli("sim", RESNET20, "--hw", "tpu-v9").error()
    assert "unknown hardware preset 'tpu-v9'" in str(e.value)
    for preset in wafer.presets():
        assert preset in str(e.value)
    assert {"tpu-v1", "tpu-v4", "edge-npu", "h100"} <= set(wafer.presets())


def test_bad_precision_is_the_clis(run_cli):
    with pytest.raises(wafer.WaferError) as e:
        wafer.simulate(RESNET20, hw="tpu-v1", precision="fp8")
    cli = run_cli("sim", RESNET20, "--hw", "tpu-v1", "--precision", "fp8")
    assert cli.returncode == 2 and str(e.value) in cli.stderr


def test_sweep_on_threads_is_the_serial_sweep():
    grid = {"cores.matrix.rows": [32, 64, 128], "cores.matrix.cols": [64, 128]}
    serial = wafer.sweep(RESNET20, hw="tpu-v1", grid=grid)
    assert wafer.sweep(RESNET20, hw="tpu-v1", grid=grid, jobs=2) == serial
    assert wafer.sweep(RESNET20, hw="tpu-v1", grid=grid, jobs=0) == serial  # 0: all cores
    with pytest.raises(wafer.WaferError, match="--jobs -1"):
        wafer.sweep(RESNET20, hw="tpu-v1", grid=grid, jobs=-1)


def test_simulate_llm_matches_cli(run_cli, tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 256, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512,
                                  "vocab_size": 1000, "max_position_embeddings": 4096}))
    got = wafer.simulate_llm(config, hw="h100", prompt_len=16, gen_len=4, batch=2)
    want = run_cli("sim", config, "--hw", "h100", "--prompt-len", "16", "--gen-len", "4", "--batch", "2",
                   "--json").json()
    assert got == want
    # bf16 K and V: 2 layers x 2 heads x 64 per token, 20 tokens, 2 sequences.
    assert got["kv_cache_bytes"] == 2 * 2 * 2 * 64 * 20 * 2 * 2
    assert got["tpot_s"] >= got["bandwidth_floor_s"] > 0
    with pytest.raises(wafer.WaferError, match="does not fit"):
        wafer.simulate_llm(REPO / "models" / "llm" / "llama-3.1-70b.json", hw="h100")
    # Tensor parallelism over a system (docs/SYSTEMS.md): same report as the CLI, KV cache per chip halved.
    got = wafer.simulate_llm(config, hw="dgx-h100", prompt_len=16, gen_len=4, batch=2, tp=2)
    want = run_cli("sim", config, "--hw", "dgx-h100", "--tp", "2", "--prompt-len", "16", "--gen-len", "4",
                   "--batch", "2", "--json").json()
    assert got == want
    assert got["tp"] == 2 and got["system"] == "dgx-h100"
    assert got["kv_cache_bytes"] == 2 * 2 * 1 * 64 * 20 * 2 * 2
    assert got["decode"]["comm_s"] > 0
    # Pipeline and data parallelism (docs/SYSTEMS.md): the CLI's report; 2 stages hold 1 layer each, so the
    # KV cache per chip is half of tp 1's; 2 replicas double the total tokens/s of one.
    got = wafer.simulate_llm(config, hw="dgx-h100", prompt_len=16, gen_len=4, batch=2, pp=2, dp=2)
    want = run_cli("sim", config, "--hw", "dgx-h100", "--pp", "2", "--dp", "2", "--prompt-len", "16", "--gen-len",
                   "4", "--batch", "2", "--json").json()
    assert got == want
    assert (got["pp"], got["dp"], got["chips"]) == (2, 2, 4)
    assert got["kv_cache_bytes"] == 2 * 1 * 2 * 64 * 20 * 2 * 2
    assert got["pipeline_bubble"] == pytest.approx(1 / 3)
    assert 0 < got["comm_fraction"] < 1
    with pytest.raises(wafer.WaferError, match="more than the 8 chips"):
        wafer.simulate_llm(config, hw="dgx-h100", tp=2, pp=2, dp=4)


def test_sweep_system_matches_cli(run_cli, tmp_path):
    # An LLM over systems of chips (docs/SYSTEMS.md): the points of `wafer sweep CONFIG --hw SYSTEM --json`.
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 256, "num_hidden_layers": 2,
                                  "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512,
                                  "vocab_size": 1000, "max_position_embeddings": 4096}))
    got = wafer.sweep_system(config, hw="edge-quad", grid={"count": [2, 4]}, prompt_len=16, gen_len=4)
    want = run_cli("sweep", config, "--hw", "edge-quad", "--set", "count=2,4", "--prompt-len", "16", "--gen-len",
                   "4", "--out", "", "--json").json()
    assert [p["tokens_per_s"] for p in got] == [p["tokens_per_s"] for p in want["points"]]
    assert [p["tp"] for p in got] == [2, 4] and [p["count"] for p in got] == [2, 4]
    with pytest.raises(wafer.WaferError, match="links.bandwith: not a field"):
        wafer.sweep_system(config, hw="edge-quad", grid={"links.bandwith": ["1GB/s"]})


def test_sweep_of_a_model_over_a_system_matches_cli(run_cli):
    # Any other model on a system runs data parallel at each point, as `wafer sweep MODEL --hw SYSTEM`.
    points = wafer.sweep(RESNET20, hw="edge-quad", grid={"count": [1, 2, 4]}, batch=4)
    want = run_cli("sweep", RESNET20, "--hw", "edge-quad", "--set", "count=1,2,4", "--batch", "4", "--json",
                   "--out", "", "-q").json()
    assert [p["throughput_samples_per_s"] for p in points] == [p["throughput_samples_per_s"] for p in want["points"]]
    assert [p["count"] for p in points] == [1, 2, 4]
    assert points[2]["throughput_samples_per_s"] > points[0]["throughput_samples_per_s"]


def test_hardware_of_a_system_is_the_cli_json(run_cli):
    got = wafer.hardware("dgx-h100", {"count": 4})
    want = run_cli("hw", "dgx-h100", "--set", "count=4", "--json").json()
    assert got == want
    assert got["count"] == 4
