#!/bin/bash
# End-to-end tests of the wafer CLI: input handling, outputs, timing JSON,
# exit codes (0 ok, 1 a check failed, 2 bad usage or bad input) and the
# one-line "wafer: error: ..." convention.
# Usage: cli_test.sh WAFER_BINARY SOURCE_DIR WORK_DIR
set -u
wafer=$1
src=$2
work=$3
py=/usr/bin/python3
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
$py "$src/scripts/make_test_models.py" models || exit 1

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect CODE PATTERN -- ARGS...: runs wafer, checks the exit code and, for
# errors, that stderr is one "wafer: error:" line containing PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 3
  "$wafer" "$@" >out.txt 2>err.txt
  local rc=$?
  if [ "$rc" != "$code" ]; then
    fail "wafer $* exited $rc, expected $code; stderr: $(cat err.txt)"
    return
  fi
  if [ "$code" != 0 ] && [ -n "$pattern" ]; then
    [ "$(wc -l <err.txt)" = 1 ] || fail "wafer $*: stderr is not one line: $(cat err.txt)"
    grep -q '^wafer: error: ' err.txt || fail "wafer $*: stderr does not start with 'wafer: error:': $(cat err.txt)"
    grep -qF -- "$pattern" err.txt || fail "wafer $*: stderr lacks '$pattern': $(cat err.txt)"
  fi
}

# ---- help and usage ----
for sub in "" run check inspect; do
  expect 0 "" -- $sub --help
  grep -q "Usage" out.txt || fail "wafer $sub --help printed no usage"
done
expect 2 "not expected" -- run models/add_relu.onnx --no-such-option
expect 2 "model is required" -- run
expect 2 "subcommand" --

# ---- run with seeded random inputs: deterministic ----
expect 0 "" -- run models/add_relu.onnx --out r1
expect 0 "" -- run models/add_relu.onnx --out r2
cmp -s r1/output_0.pb r2/output_0.pb || fail "two seeded runs differ"
expect 0 "" -- run models/add_relu.onnx --seed 7 --out r3
cmp -s r1/output_0.pb r3/output_0.pb && fail "--seed 7 gave the same output as seed 0"

# ---- --input NAME=FILE with .npy and .pb; --out round-trips ----
$py - <<'PY' || fail "could not write input files"
import numpy as np
from onnx import numpy_helper
x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
np.save("x.npy", x)
open("x.pb", "wb").write(numpy_helper.from_array(x * -1, "x").SerializeToString())
np.save("x_wrong_shape.npy", np.zeros((3, 2), np.float32))
np.save("x_wrong_dtype.npy", np.zeros((2, 3), np.float64))
a = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
b = np.full((3, 4), 2, dtype=np.float32)
import os
os.makedirs("ins", exist_ok=True)
np.save("ins/a.npy", a)
np.save("b3.npy", np.full((3, 4), 3, dtype=np.float32))
open("ins/whatever.pb", "wb").write(numpy_helper.from_array(b, "b").SerializeToString())
PY
check_out() {  # check_out DIR PYTHON_EXPR_OF_EXPECTED_LIST NAMES
  $py - "$@" <<'PY' || fail "outputs in $1 do not match: $2"
import sys, glob, numpy as np, onnx
from onnx import numpy_helper
d, expr, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
w = np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32)
a = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
b = np.full((3, 4), 2, dtype=np.float32)
b3 = np.full((3, 4), 3, dtype=np.float32)
expected = eval(expr)
files = sorted(glob.glob(d + "/output_*.pb"))
assert len(files) == len(expected), (files, len(expected))
for i, e in enumerate(expected):
    t = onnx.TensorProto()
    t.ParseFromString(open(f"{d}/output_{i}.pb", "rb").read())
    assert t.name == names[i], (i, t.name, names[i])
    got = numpy_helper.to_array(t)
    assert got.shape == e.shape and got.dtype == e.dtype, (i, got.shape, e.shape, got.dtype)
    np.testing.assert_allclose(got, e, rtol=1e-6)
PY
}
expect 0 "" -- run models/add_relu.onnx --input x=x.npy --out npy_out
check_out npy_out "[np.maximum(x + w, 0)]" y
expect 0 "" -- run models/add_relu.onnx --input x=x.pb --out pb_out
check_out pb_out "[np.maximum(-x + w, 0)]" y

# ---- --inputs DIR (by file stem and by the name stored in the .pb), several outputs in order ----
expect 0 "" -- run models/arith_batch.onnx --inputs ins --out dir_out
check_out dir_out "[a * b, a + b, a * b / b, a - b]" prod,sum,quot,diff

# --input overrides a folder's file; two files for one input are an error.
expect 0 "" -- run models/arith_batch.onnx --inputs ins --input b=b3.npy --out override_out
check_out override_out "[a * b3, a + b3, a * b3 / b3, a - b3]" prod,sum,quot,diff
cp ins/a.npy ins/input_0.npy
expect 2 "more than one file" -- run models/arith_batch.onnx --inputs ins
rm ins/input_0.npy
cp ins/a.npy ins/input_x.npy
expect 2 "input_x" -- run models/arith_batch.onnx --inputs ins
rm ins/input_x.npy
expect 2 "given twice" -- run models/add_relu.onnx --input x=x.npy --input x=x.pb
touch a_file
expect 2 "cannot create folder" -- run models/add_relu.onnx --out a_file/sub

# ---- --shape binds a symbolic dim (either by symbol or by input shape) ----
expect 0 "" -- run models/arith_batch.onnx --shape batch=5 --json
$py -c "import json,sys; j=json.load(open('out.txt')); assert [o['shape'] for o in j['outputs']] == [[5,4]]*4, j" ||
  fail "--shape batch=5 did not give [5,4] outputs"
expect 0 "" -- run models/arith_batch.onnx --shape a=7,4 --shape b=7,4 --json
$py -c "import json; j=json.load(open('out.txt')); assert j['outputs'][0]['shape'] == [7,4], j" ||
  fail "--shape a=7,4 did not give [7,4] outputs"
expect 2 "'a'" -- run models/arith_batch.onnx --shape a=7,5

# ---- external data next to the model ----
$py -c "import numpy as np; np.save('x3.npy', np.array([2, 2, -2], np.float32))"
expect 0 "" -- run models/external.onnx --input x=x3.npy --out ext_out
$py -c "
import onnx, numpy as np
from onnx import numpy_helper
t = onnx.TensorProto(); t.ParseFromString(open('ext_out/output_0.pb', 'rb').read())
np.testing.assert_array_equal(numpy_helper.to_array(t), np.array([1, -2, -4], np.float32))" ||
  fail "external-data model gave wrong output"
cp models/external.onnx lonely.onnx
expect 2 "external.bin" -- run lonely.onnx

# ---- timing JSON ----
expect 0 "" -- run models/add_relu.onnx --repeat 5 --warmup 2 --json
$py - <<'PY' || fail "--json lacks timing fields: $(cat out.txt)"
import json
j = json.load(open("out.txt"))
for k in ("median_ms", "min_ms", "load_ms"):
    assert isinstance(j[k], (int, float)) and j[k] >= 0, k
assert j["runs"] == 5 and j["min_ms"] <= j["median_ms"]
assert j["outputs"] == [{"name": "y", "dtype": "float32", "shape": [2, 3]}]
PY
expect 2 "must not be negative" -- run models/add_relu.onnx --repeat -1
# The cpu backend says which CPU and instruction set the times are from, and its program's fingerprint.
expect 0 "" -- run models/add_relu.onnx --backend cpu --repeat 2 --json
$py - <<'PY' || fail "cpu --json lacks cpu, cpu_isa or program: $(cat out.txt)"
import json
j = json.load(open("out.txt"))
assert j["cpu_isa"] in ("avx512", "avx2", "scalar") and j["cpu"], j
assert j["program"]["steps"] > 0 and len(j["program"]["fingerprint"]) == 16, j
PY

# ---- --profile: per-step table and JSON (cpu and reference); other backends say who has one ----
expect 0 "" -- run "$src/models/resnet20/model.onnx" --backend cpu --repeat 3 --warmup 1 --profile \
  --profile-json prof.json
grep -q "^profile: .* steps" out.txt || fail "--profile printed no table: $(cat out.txt)"
grep -q "oneDNN" out.txt || fail "--profile names no oneDNN kernel: $(cat out.txt)"
grep -q "^by op type:" out.txt || fail "--profile printed no per-op summary: $(cat out.txt)"
$py - <<'PY' || fail "--profile-json is not the profile: $(head -c 600 prof.json)"
import json
j = json.load(open("prof.json"))
assert j["runs"] == 3 and j["steps"], j.keys()
keys = {"label", "op", "kernel", "isa", "mean_ms", "share", "flops", "bytes", "gflops", "gbps"}
for s in j["steps"]:
    assert keys <= s.keys(), s
    assert s["kernel"], s
assert abs(sum(s["share"] for s in j["steps"]) - 1) < 1e-6
assert any(s["op"] == "wafer.FusedConv" and s["flops"] > 0 and s["gflops"] for s in j["steps"])
PY
expect 0 "" -- run models/add_relu.onnx --repeat 2 --profile
grep -q 'reference .*Relu "relu"' out.txt || fail "--profile on reference lists no node: $(cat out.txt)"
expect 2 "--profile: backend npu:edge-npu has no per-step profile" -- \
  run models/add_relu.onnx --backend npu:edge-npu --repeat 1 --profile
expect 2 "give --repeat N" -- run models/add_relu.onnx --backend cpu --profile

# ---- types a model leaves out (If branch outputs, If output, Loop body) are inferred ----
for backend in reference cpu; do
  expect 0 "" -- run models/if_untyped.onnx --backend "$backend" --json
  grep -q '"/If_4_output_0"' out.txt || fail "if_untyped on $backend: $(cat out.txt)"
  expect 0 "" -- run models/loop_untyped.onnx --backend "$backend"
done

# ---- bad inputs: exit 2 naming the input ----
expect 2 "'nosuch'" -- run models/add_relu.onnx --input nosuch=x.npy
expect 2 "input 'x'" -- run models/add_relu.onnx --input x=x_wrong_shape.npy
expect 2 "input 'x'" -- run models/add_relu.onnx --input x=x_wrong_dtype.npy
expect 2 "missing.npy" -- run models/add_relu.onnx --input x=missing.npy
expect 2 "NAME=FILE" -- run models/add_relu.onnx --input x.npy
expect 2 "no_model.onnx" -- run no_model.onnx
expect 2 "not_a_folder" -- run models/add_relu.onnx --inputs not_a_folder
printf 'garbage' >garbage.pb
expect 2 "garbage.pb" -- run models/add_relu.onnx --input x=garbage.pb
expect 2 "unknown tensor file type" -- run models/add_relu.onnx --input x=models/add_relu.onnx
expect 2 "is a directory" -- run models
printf 'garbage' >garbage.onnx
expect 2 "garbage.onnx" -- run garbage.onnx
expect 2 "2 unsupported op(s)" -- run models/unsupported.onnx
grep -q "Twiddle" err.txt || fail "unsupported-op error does not list every op"
expect 0 "" -- run models/if_outer.onnx

# ---- unknown backend: exit 2 listing the known ones ----
expect 2 "reference" -- run models/add_relu.onnx --backend warp-drive
grep -q "warp-drive" err.txt || fail "unknown backend message does not name it"

# ---- check: 0 when outputs match, 1 when they do not ----
$py - <<'PY' || fail "could not write check cases"
import os, shutil, numpy as np
from onnx import numpy_helper
x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
w = np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32)
for case, y in (("good", np.maximum(x + w, 0)), ("bad", np.maximum(x + w, 0) + 1)):
    d = f"cases/{case}/test_data_set_0"
    os.makedirs(d, exist_ok=True)
    shutil.copy("models/add_relu.onnx", f"cases/{case}/model.onnx")
    open(f"{d}/input_0.pb", "wb").write(numpy_helper.from_array(x, "x").SerializeToString())
    open(f"{d}/output_0.pb", "wb").write(numpy_helper.from_array(y, "y").SerializeToString())
PY
expect 0 "" -- check cases/good
expect 1 "" -- check cases/bad
grep -q "FAIL" out.txt || fail "check on a bad case printed no FAIL"
expect 1 "" -- check cases
expect 2 "not a folder" -- check cases/none

# ---- bench on the simulated NPU: virtual time, deterministic, throughput from the simulator ----
npu_bench=(bench "$src/models/resnet20/model.onnx" --target npu:edge-npu:int8 --scenario Offline --max-batch 4 --target-qps 100000
           --min-queries 1 --duration-ms 100 --json)
expect 0 "" -- "${npu_bench[@]}"
cp out.txt npu1.json
expect 0 "" -- "${npu_bench[@]}"
cmp -s out.txt npu1.json || fail "two identical NPU bench runs differ"
expect 0 "" -- sim "$src/models/resnet20" --hw edge-npu --precision int8 --batch 4 --json
$py - npu1.json out.txt <<'PY' || fail "NPU Offline throughput is not max_batch / simulated batch-4 latency"
import json, sys
bench, sim = (json.load(open(p)) for p in sys.argv[1:])
expected = 4 / sim["latency_s"]
assert bench["valid"], bench
assert abs(bench["samples_per_s"] - expected) / expected < 0.01, (bench["samples_per_s"], expected)
PY
expect 2 "accuracy" -- bench "$src/models/resnet20/model.onnx" --target npu:edge-npu:int8 --mode accuracy

# ---- --mode find-peak: the highest VALID Server rate (a device of 100 us + 10 us a sample, batches of 8:
# at most 8 / 180 us = 44,444 samples/s) ----
expect 0 "" -- bench --sut device --service-us 100,10 --max-batch 8 --scenario Server --target-qps 1000 \
  --target-latency-ms 15 --min-queries 200000 --duration-ms 0 --mode find-peak --json
$py - out.txt <<'PY' || fail "find-peak did not end at a VALID rate within 2 % of the device's 44,444 samples/s"
import json, sys
j = json.load(open(sys.argv[1]))
runs = j["peak_search"]
assert j["valid"] and runs and runs[0]["target_qps"] == 1000, j
best = max(r["target_qps"] for r in runs if r["valid"])
assert j["settings"]["target_qps"] == best, (j["settings"]["target_qps"], best)
assert min(r["target_qps"] for r in runs if not r["valid"]) <= best * 1.006, runs
assert 0.98 * 44444 < best < 1.02 * 44444, best
PY
expect 2 "searches the Server scenario" -- bench --sut device --service-us 100 --scenario Offline --mode find-peak

# ---- --precision: one parser, and each backend says what it cannot compute in ----
expect 2 "--precision: expected auto, fp32, bf16, fp16 or int8, got 'fp64'" -- run models/add_relu.onnx --precision fp64
expect 2 "cpu backend: computes in fp32 or bf16, not int8" -- run models/add_relu.onnx --backend cpu --precision int8
expect 2 "reference backend: computes in the model's own types" -- run models/add_relu.onnx --precision bf16
expect 0 "" -- run models/add_relu.onnx --backend cpu --precision bf16
expect 2 "the target says int8 but --precision says fp16" -- \
  bench "$src/models/resnet20/model.onnx" --target npu:edge-npu:int8 --precision fp16 --scenario Offline

# ---- wafer sim in LLM mode: an architecture config, the JSON keys, capacity errors (exit 2) ----
cat >tiny_llm.json <<'JSON'
{"model_type": "llama", "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
 "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000, "max_position_embeddings": 4096}
JSON
expect 0 "" -- sim tiny_llm.json --hw h100 --prompt-len 32 --gen-len 8 --batch 2 --json
$py - out.txt <<'PY' || fail "wafer sim --prompt-len --json lacks the LLM keys or its KV cache is not 2 x L x kv x hd x ctx x B x 2 B"
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("ttft_s", "tpot_s", "tokens_per_s", "weights_bytes", "kv_cache_bytes", "bandwidth_floor_s"):
    assert k in r, k
assert r["kv_cache_bytes"] == 2 * 2 * 2 * 64 * 40 * 2 * 2, r["kv_cache_bytes"]
assert r["tpot_s"] >= r["bandwidth_floor_s"] > 0, r
PY
expect 0 "" -- sim tiny_llm.json --hw wse-3 --prompt-len 16 --gen-len 4
grep -q "in on-chip SRAM" out.txt || fail "wse-3 does not keep the KV cache in on-chip SRAM: $(cat out.txt)"
expect 2 "at least 2 such chips" -- sim "$src/models/llm/llama-3.1-70b.json" --hw h100 --prompt-len 128 --gen-len 128
grep -q "does not fit on one h100" err.txt || fail "70B on h100: no 'does not fit': $(cat err.txt)"
# An exported decoder (text-generation-with-past convention): symbols bound per phase, KV from its inputs.
$py - <<'PY' || fail "could not write decoder.onnx"
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper
import numpy as np
rng = np.random.default_rng(0)
w = lambda n, *s: numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
nodes = [
    h.make_node("Gather", ["embed", "input_ids"], ["x"]),                              # [b, s, 16]
    h.make_node("MatMul", ["x", "wk"], ["k2"]),                                        # [b, s, 16]
    h.make_node("Reshape", ["k2", "heads_shape"], ["k3"]),                             # [b, s, 2, 8]
    h.make_node("Transpose", ["k3"], ["k"], perm=[0, 2, 1, 3]),                        # [b, 2, s, 8]
    h.make_node("Concat", ["past_key_values.0.key", "k"], ["present.0.key"], axis=2),
    h.make_node("Concat", ["past_key_values.0.value", "k"], ["present.0.value"], axis=2),
    h.make_node("MatMul", ["x", "head"], ["logits"]),
]
f = lambda n, t, s: h.make_tensor_value_info(n, t, s)
g = h.make_graph(nodes, "decoder",
    [f("input_ids", T.INT64, ["batch", "seq"]), f("attention_mask", T.INT64, ["batch", "total"]),
     f("past_key_values.0.key", T.FLOAT, ["batch", 2, "past", 8]),
     f("past_key_values.0.value", T.FLOAT, ["batch", 2, "past", 8])],
    [f("logits", T.FLOAT, ["batch", "seq", 50]), f("present.0.key", T.FLOAT, ["batch", 2, "total", 8]),
     f("present.0.value", T.FLOAT, ["batch", 2, "total", 8])],
    [w("embed", 50, 16), w("wk", 16, 16), w("head", 16, 50),
     numpy_helper.from_array(np.array([0, 0, 2, 8], dtype=np.int64), "heads_shape")])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), "decoder.onnx")
PY
expect 0 "" -- sim decoder.onnx --hw h100 --prompt-len 8 --gen-len 4 --batch 2 --json
$py - out.txt <<'PY' || fail "wafer sim on an ONNX decoder: wrong KV cache or parameters"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["kv_cache_bytes"] == 2 * 2 * 8 * 12 * 2 * 2, r["kv_cache_bytes"]  # K+V x heads x hd x ctx x batch x bf16
assert r["parameters"] == 50 * 16 + 16 * 16 + 16 * 50, r["parameters"]
assert r["ttft_s"] > 0 and r["tpot_s"] >= r["bandwidth_floor_s"] > 0, r
PY
expect 2 "not a decoder with a KV cache" -- sim models/add_relu.onnx --hw h100 --prompt-len 8 --gen-len 8
expect 2 "--prompt-len must be at least 1" -- sim tiny_llm.json --hw h100 --prompt-len 0
expect 2 "exceeds the model's max_position_embeddings (4096)" -- sim tiny_llm.json --hw h100 --prompt-len 4000 --gen-len 200
# ---- generate: a decoder with a KV cache (the committed micro Llama); JSON keys; bad input ----
llama=$src/tests/data/decoders/llama_micro/model.onnx
expect 0 "" -- generate "$llama" --prompt 1,2,3,4,5,6,7 --prompt 9,8,7,6,5,4,3 --max-new-tokens 12 --backend cpu --json
$py - "$src/tests/data/decoders/llama_micro/generation.json" <<'PY' || fail "wafer generate --json: wrong keys or tokens"
import json, sys
got, want = json.load(open("out.txt")), json.load(open(sys.argv[1]))
for key in ("tokens", "ttft_ms", "tpot_ms", "tokens_per_s"):
    assert key in got, key
assert got["tokens"] == want["tokens"], (got["tokens"], want["tokens"])  # PyTorch's greedy tokens
PY
expect 2 "not a decoder with a KV cache" -- generate models/add_relu.onnx --prompt 1,2
expect 2 "token 500 is out of the model's vocabulary [0, 128)" -- generate "$llama" --prompt 1,500
expect 2 "'a' is not a token id" -- generate "$llama" --prompt 1,a
expect 2 "--top-p must be in (0, 1]" -- generate "$llama" --prompt 1 --temperature 1 --top-p 2

# ---- systems of chips (docs/SYSTEMS.md) ----
expect 0 "" -- hw dgx-h100
grep -q "8 x h100 on a switch" out.txt || fail "wafer hw dgx-h100: no summary: $(cat out.txt)"
expect 0 "" -- hw tpu-v4-slice --json
$py -c 'import json; j = json.load(open("out.txt")); assert j["dims"] == [4, 4, 4] and j["chip"]["name"] == "tpu-v4", j' ||
  fail "wafer hw tpu-v4-slice --json"
printf 'kind: system\nname: bad\nchip: h100\ncount: 2\ntopology: switch\nlinks: {per_chip: 1, bandwidth: -1 GB/s, latency: 1 us, pj_per_byte: 1}\n' >bad_system.yaml
expect 2 "bad_system.yaml: links.bandwidth: must be at least" -- hw bad_system.yaml
# a model that is not an LLM runs data parallel: one copy per chip (api/simulate.h)
expect 0 "" -- sim models/add_relu.onnx --hw dgx-h100 --batch 16 --json
$py -c 'import json; j = json.load(open("out.txt")); assert j["chips"] == 8 and j["batch"] == 16, j' ||
  fail "wafer sim --hw dgx-h100: not 8 chips: $(head -c 300 out.txt)"
expect 2 "it fits with --hw dgx-h100 --tp 2" -- sim "$src/models/llm/llama-3.1-70b.json" --hw h100 --prompt-len 128 --gen-len 8
expect 2 "needs a system of chips" -- sim "$src/models/llm/llama-3.1-8b.json" --hw h100 --tp 2 --prompt-len 16 --gen-len 4
expect 0 "" -- sim "$src/models/llm/llama-3.1-8b.json" --hw dgx-h100 --tp 2 --prompt-len 16 --gen-len 4 --layers 1
grep -q "2 chips = tp 2 x pp 1 x dp 1 x ep 1" out.txt || fail "wafer sim --tp 2: no split line: $(cat out.txt)"
# pipeline / data / expert parallelism and the search (docs/SYSTEMS.md, "Parallelism")
expect 2 "4 x 4 x 1 x 1 = 16 chips, more than the 8 chips of dgx-h100" -- sim llama-3.1-8b --hw dgx-h100 --tp 4 --pp 4 --prompt-len 16 --gen-len 4
expect 2 "is a dense model" -- sim llama-3.1-8b --hw dgx-h100 --ep 2 --prompt-len 16 --gen-len 4
expect 0 "" -- sim llama-3.1-8b --hw dgx-h100 --tp 2 --pp 2 --dp 2 --prompt-len 16 --gen-len 4 --layers 2 --batch 2 --json
$py -c 'import json; j = json.load(open("out.txt")); assert j["pp"] == 2 and j["dp"] == 2 and j["chips"] == 8 and abs(j["pipeline_bubble"] - 1/3) < 1e-12 and 0 < j["comm_fraction"] < 1, j' ||
  fail "wafer sim --tp 2 --pp 2 --dp 2 --json"
expect 0 "" -- sim llama-3.1-8b --hw dgx-h100 --parallel auto --prompt-len 16 --gen-len 4 --layers 2
grep -q "ranked by total tokens/s" out.txt || fail "wafer sim --parallel auto: no ranking: $(cat out.txt)"
expect 0 "" -- sim llama-3.1-8b --hw h100 --prompt-len 64 --gen-len 8 --layers 1 --out llm_report
grep -q 'id="latency-throughput"' llm_report/report.html || fail "wafer sim --out (LLM): no latency-throughput plot"
/usr/bin/python3 -c "import json,sys; c=json.load(open('llm_report/llm.json'))['curve']; sys.exit(not (len(c) >= 3 and c[0]['batch'] == 1))" ||
  fail "wafer sim --out (LLM): llm.json has no curve"
# Cost (docs/COST.md): the keys of the LLM report, $/M tokens from the capex and power it reports, and a bad cost field.
expect 0 "" -- sim llama-3.1-8b --hw dgx-h100 --tp 2 --prompt-len 16 --gen-len 4 --layers 1 --json
/usr/bin/python3 - out.txt <<'PY' || fail "wafer sim --json (LLM): cost keys missing or inconsistent: $(head -c 400 out.txt)"
import json, math, sys
j = json.load(open(sys.argv[1]))
c = j["cost"]
assert c["chips"] == 2 and c["system_cost_usd"] == 2 * 25000 + 20000 * 2 / 8, c
a = j["cost_assumptions"]
usd_s = c["system_cost_usd"] / (a["lifetime_years"] * 365.25 * 86400) + c["power_w"] / 1000 * a["usd_per_kwh"] / 3600
assert math.isclose(j["usd_per_million_tokens"], usd_s / j["tokens_per_s"] * 1e6, rel_tol=1e-9), j
assert math.isclose(j["tokens_per_joule"], 1 / j["energy_per_token_j"], rel_tol=1e-12)
for k in ("die_area_mm2", "yield", "cost_per_good_die_usd", "power_w", "perf_per_w", "perf_per_usd"):
    assert c[k] > 0, k
PY
expect 2 "cost.clustering_alpha: must be at least" -- sim llama-3.1-8b --hw h100 --set cost.clustering_alpha=0 --prompt-len 8 --gen-len 2 --layers 1

# ---- cmake --install: the installed binary finds its presets beside itself; WAFER_HW_PATH adds folders ----
build_dir=$(dirname "$wafer")
prefix=$work/prefix
if cmake --install "$build_dir" --prefix "$prefix" >install.log 2>&1; then
  built=$wafer
  wafer=$prefix/bin/wafer
  [ -f "$prefix/share/wafer/hw/tpu-v1.yaml" ] || fail "cmake --install put no presets in share/wafer/hw"
  cp "$prefix/share/wafer/hw/tpu-v1.yaml" "$prefix/share/wafer/hw/installed-only.yaml"
  expect 0 "" -- hw installed-only
  [ -f "$prefix/share/wafer/hw/systems/dgx-h100.yaml" ] || fail "cmake --install put no systems in share/wafer/hw/systems"
  expect 0 "" -- hw dgx-h100
  [ -f "$prefix/share/wafer/models/llm/llama-3.1-8b.json" ] || fail "cmake --install put no LLM configs in share/wafer/models/llm"
  cp "$prefix/share/wafer/models/llm/llama-3.1-8b.json" "$prefix/share/wafer/models/llm/installed-only-llm.json"
  expect 0 "" -- sim installed-only-llm --hw h100 --prompt-len 8 --gen-len 2 --layers 1
  grep -q "^installed-only-llm on h100" out.txt || fail "installed LLM config by name: $(head -1 out.txt)"
  wafer=$built
  expect 2 "nor a shipped LLM config" -- sim installed-only-llm --hw h100 --prompt-len 8 --gen-len 2 --layers 1
  expect 0 "" -- sim llama-3.1-8b --hw h100 --prompt-len 8 --gen-len 2 --layers 1  # the source tree's configs
  mkdir -p extra_models
  cp "$src/models/llm/llama-3.1-8b.json" extra_models/from-env-llm.json
  WAFER_MODEL_PATH=$work/extra_models expect 0 "" -- sim from-env-llm --hw h100 --prompt-len 8 --gen-len 2 --layers 1
  expect 2 "unknown hardware preset 'installed-only'" -- hw installed-only  # the build tree's binary: not there
  mkdir -p extra_hw
  cp "$src/hw/edge-npu.yaml" extra_hw/from-env.yaml
  WAFER_HW_PATH=$work/extra_hw expect 0 "" -- hw from-env
  expect 2 "WAFER_HW_PATH" -- hw from-env
else
  fail "cmake --install failed: $(tail -3 install.log)"
fi

if [ "$failures" != 0 ]; then
  echo "$failures CLI check(s) failed" >&2
  exit 1
fi
echo "all CLI checks passed"
