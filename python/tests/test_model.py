"""wafer.inspect and wafer.run against `wafer inspect --json`, `wafer run` and PyTorch's output."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import wafer
from conftest import RESNET20

DATA = RESNET20 / "test_data_set_0"


def load_pb(path):
    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(t)


@pytest.fixture(scope="module")
def image():
    return load_pb(DATA / "input_0.pb")


@pytest.fixture(scope="module")
def reference_out(image):
    return wafer.run(RESNET20, {"input": image}, backend="reference")


def test_inspect_matches_cli(run_cli):
    got = wafer.inspect(RESNET20)
    want = run_cli("inspect", RESNET20 / "model.onnx", "--json").json()
    # Pass timings differ run to run; everything else is the same report.
    for report in (got, want):
        for p in report["passes"]:
            p.pop("ms")
    assert got == want
    assert got["inputs"][0]["shape"] == ["batch", 3, 32, 32] and got["symbols_defaulted_to_1"] == ["batch"]
    assert got["total_macs"] > 40_000_000  # ResNet-20 on CIFAR: ~41 M MACs


def test_run_matches_pytorch_and_cli(image, reference_out, run_cli, tmp_path):
    [(name, logits)] = reference_out.items()
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32 and logits.shape == (1, 10)
    expected = load_pb(DATA / "output_0.pb")  # PyTorch's float64 result, stored as float32
    assert np.linalg.norm(logits - expected) / np.linalg.norm(expected) < 1e-4
    out = tmp_path / "out"
    assert run_cli("run", RESNET20 / "model.onnx", "--inputs", DATA, "--out", out).returncode == 0
    assert (out / "output_0.pb").exists()
    np.testing.assert_array_equal(logits, load_pb(out / "output_0.pb"))  # same backend, same bits


def test_cpu_matches_reference(image, reference_out):
    cpu = wafer.run(RESNET20, [image], backend="cpu")  # a list: inputs in the model's order
    assert cpu.keys() == reference_out.keys()
    for k in cpu:
        np.testing.assert_allclose(cpu[k], reference_out[k], rtol=1e-4, atol=1e-4)


def test_npu_backend_runs(image, reference_out):
    npu = wafer.run(RESNET20, {"input": image}, backend="npu:h100")
    for k in npu:
        np.testing.assert_allclose(npu[k], reference_out[k], rtol=1e-3, atol=1e-3)


def test_generated_inputs_are_the_clis(run_cli):
    # No inputs: seeded like `wafer run` (same seed, same values), so the output shapes match its report.
    got = wafer.run_timed(RESNET20 / "model.onnx", repeat=2, warmup=0)
    want = run_cli("run", RESNET20 / "model.onnx", "--json", "--repeat", "2", "--warmup", "0").json()
    assert got.keys() == want.keys()
    assert got["outputs"] == want["outputs"]
    assert got["runs"] == 2 and len(got["times_ms"]) == 2


def test_profile_is_the_clis(run_cli):
    got = wafer.run_timed(RESNET20, backend="cpu", repeat=2, warmup=1, profile=True)
    want = run_cli("run", RESNET20 / "model.onnx", "--backend", "cpu", "--repeat", "2", "--json", "--profile").json()
    assert got.keys() == want.keys() >= {"cpu", "cpu_isa", "program", "profile"}
    assert got["program"] == want["program"]  # the same lowered program (fingerprint)
    assert [s["label"] for s in got["profile"]["steps"]] == [s["label"] for s in want["profile"]["steps"]]
    assert got["profile"]["runs"] == 2
    with pytest.raises(wafer.WaferError) as e:
        wafer.run_timed(RESNET20, repeat=0, profile=True)
    assert str(e.value) == run_cli("run", RESNET20 / "model.onnx", "--profile").error()


def small_model(tmp_path, dtype, op="Add"):
    x = helper.make_tensor_value_info("x", dtype, [2, 3])
    y = helper.make_tensor_value_info("y", dtype, [2, 3])
    z = helper.make_tensor_value_info("z", dtype, [2, 3])
    inputs = [x] if op == "Not" else [x, y]
    node = helper.make_node(op, [i.name for i in inputs], ["z"])
    graph = helper.make_graph([node], "g", inputs, [z])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / f"{op}_{dtype}.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("dtype, np_dtype", [(TensorProto.FLOAT, np.float32), (TensorProto.FLOAT16, np.float16),
                                             (TensorProto.DOUBLE, np.float64), (TensorProto.INT64, np.int64),
                                             (TensorProto.INT32, np.int32), (TensorProto.UINT8, np.uint8)])
def test_dtypes_round_trip(tmp_path, dtype, np_dtype):
    path = small_model(tmp_path, dtype)
    a = np.arange(6, dtype=np_dtype).reshape(2, 3)
    b = np.full((2, 3), 2, dtype=np_dtype)
    out = wafer.run(path, {"x": a, "y": b.T.copy().T})  # a Fortran-ordered array is taken in C order
    assert out["z"].dtype == np_dtype
    np.testing.assert_array_equal(out["z"], a + b)


def test_bool(tmp_path):
    out = wafer.run(small_model(tmp_path, TensorProto.BOOL, "Not"), [np.array([[True, False, True]] * 2)])
    np.testing.assert_array_equal(out["z"], [[False, True, False]] * 2)


def test_bfloat16_inputs_from_float32(tmp_path):
    path = small_model(tmp_path, TensorProto.BFLOAT16)
    a = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 256.0]], dtype=np.float32)  # exact in bfloat16
    out = wafer.run(path, {"x": a, "y": a})
    assert out["z"].dtype == np.float32
    np.testing.assert_array_equal(out["z"], 2 * a)


def test_errors_are_the_clis(image, run_cli, tmp_path):
    with pytest.raises(wafer.WaferError) as e:
        wafer.run(RESNET20, {"nope": image})
    assert str(e.value) == "the model has no input 'nope' (inputs: input)"
    with pytest.raises(wafer.WaferError) as e:
        wafer.run(RESNET20, precision="fp64")
    cli = run_cli("run", RESNET20 / "model.onnx", "--precision", "fp64")
    assert cli.returncode == 2 and str(e.value) in cli.stderr
    assert "fp64" in str(e.value)
    with pytest.raises(wafer.WaferError) as e:
        wafer.run(RESNET20, backend="gpu")
    assert str(e.value) == run_cli("run", RESNET20 / "model.onnx", "--backend", "gpu").error()
    wide = image.astype(np.float64)
    np.save(tmp_path / "wide.npy", wide)
    with pytest.raises(wafer.WaferError) as e:
        wafer.run(RESNET20, {"input": wide})
    assert str(e.value) == run_cli("run", RESNET20 / "model.onnx", "--input", f"input={tmp_path / 'wide.npy'}").error()
    assert issubclass(wafer.WaferError, Exception)


def test_shapes_as_dict_or_specs():
    a = wafer.inspect(RESNET20, shapes={"input": [4, 3, 32, 32]})
    b = wafer.inspect(RESNET20, shapes=["input=4,3,32,32"])
    assert a["total_macs"] == b["total_macs"]
    assert a["outputs"][0]["shape"] == [4, 10]
