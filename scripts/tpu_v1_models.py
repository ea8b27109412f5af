#!/usr/bin/python3
"""Builds ONNX stand-ins for the six TPU v1 production networks (Jouppi et al., ISCA 2017, Table 1).

    scripts/tpu_v1_models.py OUTDIR [--force] [--check]

Writes OUTDIR/<app>/model.onnx for mlp0, mlp1, lstm0, lstm1, cnn0, cnn1 (batch dimension symbolic; the
fidelity report simulates each at its Table 1 batch size). Weights are fixed-seed random float32:
timing does not depend on their values. --check prints each model's layer counts, weights and MACs
per weight byte next to Table 1's and exits non-zero if one is more than 2 % off.

The paper publishes, per application, the layer counts by kind (FC, Conv, Vector, Pool), the number
of weights, the TPU's operations per weight byte (multiply-accumulates per weight byte, over a batch:
its roofline ridge is 1,350 = 92 TOPS / 2 / 34 GB/s) and the batch size. It does not publish layer
widths, so they are chosen here (docs/FIDELITY.md lists them as assumptions):

  MLP0   5 FC, 2000 wide (20.0 M weights), ReLU.
  MLP1   4 FC, 1118 wide (5.0 M), ReLU.
  LSTM0  24 LSTM cells, one time step, hidden 520: each cell one FC layer (the four gates from
         [input, h], 8 x 520^2 weights) and one vector layer (sigmoid/tanh gates, c and h update);
         the 10 remaining vector layers are residual additions between cells (as in deep stacked LSTMs
         such as GNMT): 24 FC + 34 vector, 51.9 M weights.
  LSTM1  19 LSTM cells with a projection layer (LSTMP, Sak et al. 2014, Google's speech LSTMs), hidden
         624, projection 312; the last cell unprojected: 19 gate FC + 18 projection FC = 37 FC, 19
         vector, 33.9 M weights.
  CNN0   16 3x3 convolutions, 236 channels, on a 19x19 board (2888 MACs per weight byte at batch 8 is
         361 = 19 x 19 positions per weight per sample: a Go board), 8.0 M weights.
  CNN1   72 3x3 convolutions in 6 stages of 12 (channels 32, 64, 128, 256, 384, 512: shallow early
         stages, which the paper names as CNN1's problem), 13 max pools (5 halving between stages, 8
         3x3 stride-1 within the first 4 stages), 4 FC layers holding the rest of the 100 M weights;
         the input side is chosen so MACs per weight byte at batch 32 come to Table 1's 1750.
In every model one time step / one inference of each layer uses each weight once per sample, so for
the FC-only networks MACs per weight byte equal the batch, as Table 1 shows.
"""
import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
SEED = 0
# Table 1: layers by kind, weights, MACs per weight byte, batch.
TABLE1 = {
    "mlp0": dict(fc=5, conv=0, vector=0, pool=0, weights=20e6, ops_per_byte=200, batch=200),
    "mlp1": dict(fc=4, conv=0, vector=0, pool=0, weights=5e6, ops_per_byte=168, batch=168),
    "lstm0": dict(fc=24, conv=0, vector=34, pool=0, weights=52e6, ops_per_byte=64, batch=64),
    "lstm1": dict(fc=37, conv=0, vector=19, pool=0, weights=34e6, ops_per_byte=96, batch=96),
    "cnn0": dict(fc=0, conv=16, vector=0, pool=0, weights=8e6, ops_per_byte=2888, batch=8),
    "cnn1": dict(fc=4, conv=72, vector=0, pool=13, weights=100e6, ops_per_byte=1750, batch=32),
}


class Builder:
    """Collects nodes and initializers; counts layers by Table 1's kinds, weights and MACs per sample."""

    def __init__(self, name, rng):
        self.name, self.rng = name, rng
        self.nodes, self.inits, self.inputs = [], [], []
        self.count = dict(fc=0, conv=0, vector=0, pool=0)
        self.weights = 0
        self.macs = 0  # per sample
        self.n = 0

    def fresh(self, stem):
        self.n += 1
        return f"{stem}_{self.n}"

    def init(self, shape, stem):
        name = self.fresh(stem)
        scale = 1.0 / math.sqrt(max(1, int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]))
        self.inits.append(numpy_helper.from_array(
            (self.rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float32), name))
        return name

    def input(self, shape, stem):
        name = self.fresh(stem)
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N"] + list(shape)))
        return name

    def op(self, op_type, inputs, stem, **attrs):
        out = self.fresh(stem)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def fc(self, x, n_in, n_out, relu=False):
        w = self.init((n_in, n_out), "w")
        b = self.init((n_out,), "b")
        y = self.op("Add", [self.op("MatMul", [x, w], "fc"), b], "fc_bias")
        self.count["fc"] += 1
        self.weights += n_in * n_out
        self.macs += n_in * n_out
        return self.op("Relu", [y], "relu") if relu else y

    def conv(self, x, c_in, c_out, side):
        w = self.init((c_out, c_in, 3, 3), "k")
        b = self.init((c_out,), "b")
        y = self.op("Conv", [x, w, b], "conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        self.count["conv"] += 1
        self.weights += 9 * c_in * c_out
        self.macs += 9 * c_in * c_out * side * side
        return self.op("Relu", [y], "relu")

    def pool(self, x, halve):
        self.count["pool"] += 1
        if halve:
            return self.op("MaxPool", [x], "pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
        return self.op("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])

    def lstm_cell(self, x, n_in, hidden):
        """One time step: gates = [x, h] W + b (one FC layer), then the cell update (one vector layer)."""
        return lstmp_cell(self, x, n_in, hidden, None)

    def residual(self, a, b):
        self.count["vector"] += 1
        return self.op("Add", [a, b], "residual")

    def model(self, x_in, y):
        out = helper.make_tensor_value_info(y, TensorProto.FLOAT, None)
        graph = helper.make_graph(self.nodes, self.name, [x_in] + self.inputs, [out], self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="wafer scripts/tpu_v1_models.py")
        return m


def mlp(name, layers, width, rng):
    b = Builder(name, rng)
    x_in = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])
    y = "x"
    for l in range(layers):
        y = b.fc(y, width, width, relu=l + 1 < layers)
    return b


def lstm0(rng):
    b = Builder("lstm0", rng)
    hidden = 520
    y = "x"
    for cell in range(24):
        h = b.lstm_cell(y, hidden, hidden)
        y = b.residual(h, y) if cell >= 14 else h  # residual additions on the top 10 cells
    return b, hidden


def lstm1(rng):
    b = Builder("lstm1", rng)
    hidden, proj = 624, 312
    y, n_in = "x", proj
    for cell in range(19):
        # LSTMP: the recurrent state is the projection; the last cell is not projected.
        y = lstmp_cell(b, y, n_in, hidden, proj if cell < 18 else None)
        n_in = proj if cell < 18 else hidden
    return b, proj


def lstmp_cell(b, x, n_in, hidden, proj):
    """An LSTM cell whose output (and recurrent input) goes through a projection FC layer."""
    r = proj if proj else hidden
    h_prev = b.input((r,), "h_prev")
    c_prev = b.input((hidden,), "c_prev")
    xh = b.op("Concat", [x, h_prev], "xh", axis=1)
    gates = b.fc(xh, n_in + r, 4 * hidden)
    split = [b.fresh(s) for s in ("i", "f", "g", "o")]
    b.nodes.append(helper.make_node("Split", [gates], split, name=b.fresh("split"), axis=1))
    i, f, o = (b.op("Sigmoid", [t], "sig") for t in (split[0], split[1], split[3]))
    g = b.op("Tanh", [split[2]], "tanh")
    c = b.op("Add", [b.op("Mul", [f, c_prev], "fc_mul"), b.op("Mul", [i, g], "ig_mul")], "c")
    h = b.op("Mul", [o, b.op("Tanh", [c], "tanh")], "h")
    b.count["vector"] += 1
    return b.fc(h, hidden, proj) if proj else h


CNN1_CHANNELS = [32, 64, 128, 256, 384, 512]


def cnn1_side(ch, side):
    """Per-sample conv MACs and conv weights of CNN1's conv stack for an input side, and its last map."""
    c_in, macs, weights, s = 3, 0, 0, side
    for stage, c in enumerate(ch):
        for _ in range(12):
            weights += 9 * c_in * c
            macs += 9 * c_in * c * s * s
            c_in = c
        if stage < 5:
            s = math.ceil(s / 2)
    return macs, weights, c_in * s * s


def cnn1_input_side():
    """The input side whose MACs per weight byte at batch 32 come closest to Table 1's 1750."""
    t = TABLE1["cnn1"]

    def ops_per_byte(side):
        macs, wc, _ = cnn1_side(CNN1_CHANNELS, side)
        return t["batch"] * (macs + (t["weights"] - wc)) / t["weights"]
    return min(range(32, 257), key=lambda s: abs(ops_per_byte(s) - t["ops_per_byte"]))


def cnn0(rng):
    b = Builder("cnn0", rng)
    c, side = 236, 19
    y = "x"
    for _ in range(16):
        y = b.conv(y, c, c, side)
    return b, [c, side, side]


def cnn1(rng):
    b = Builder("cnn1", rng)
    side = cnn1_input_side()
    y, c_in, s = "x", 3, side
    for stage, c in enumerate(CNN1_CHANNELS):
        for l in range(12):
            y = b.conv(y, c_in, c, s)
            c_in = c
            if stage < 4 and l in (3, 7):
                y = b.pool(y, halve=False)
        if stage < 5:
            y = b.pool(y, halve=True)
            s = math.ceil(s / 2)
    flat = c_in * s * s
    y = b.op("Flatten", [y], "flatten", axis=1)
    # Four FC layers hold the rest of the weights: flat -> H -> H -> H -> 1000.
    rest = TABLE1["cnn1"]["weights"] - b.weights
    hidden = int((-(flat + 1000) + math.sqrt((flat + 1000) ** 2 + 8 * rest)) / 4)  # flat H + 2 H^2 + 1000 H
    widths = [flat, hidden, hidden, hidden, 1000]
    for l in range(4):
        y = b.fc(y, widths[l], widths[l + 1], relu=l < 3)
    return b, [3, side, side], y


def build(name, rng):
    if name in ("mlp0", "mlp1"):
        width = 2000 if name == "mlp0" else 1118
        b = mlp(name, TABLE1[name]["fc"], width, rng)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])
        return b, b.model(x, b.nodes[-1].output[0])
    if name == "lstm0":
        b, n = lstm0(rng)
    elif name == "lstm1":
        b, n = lstm1(rng)
    if name.startswith("lstm"):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n])
        return b, b.model(x, b.nodes[-1].output[0])
    if name == "cnn0":
        b, shape = cnn0(rng)
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + shape)
        return b, b.model(x, b.nodes[-1].output[0])
    b, shape, y = cnn1(rng)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + shape)
    return b, b.model(x, y)


def summary(name, b):
    t = TABLE1[name]
    ops = t["batch"] * b.macs / b.weights
    rows = [("FC", b.count["fc"], t["fc"]), ("Conv", b.count["conv"], t["conv"]),
            ("Vector", b.count["vector"], t["vector"]), ("Pool", b.count["pool"], t["pool"]),
            ("weights (M)", b.weights / 1e6, t["weights"] / 1e6), ("MACs/weight byte", ops, t["ops_per_byte"])]
    bad = [r for r in rows if abs(r[1] - r[2]) > 0.02 * max(1, r[2])]
    text = ", ".join(f"{k} {v:.4g} (Table 1: {w:.4g})" for k, v, w in rows)
    return f"{name}: {text}", bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--force", action="store_true", help="rebuild models whose files exist")
    ap.add_argument("--check", action="store_true", help="compare with Table 1 only, write nothing")
    a = ap.parse_args()
    failed = False
    for name in TABLE1:
        path = os.path.join(a.outdir, name, "model.onnx")
        if not a.check and os.path.exists(path) and not a.force:
            print(f"{name}: {path} exists")
            continue
        b, m = build(name, np.random.default_rng(SEED))
        line, bad = summary(name, b)
        print(line, flush=True)
        failed |= bool(bad)
        if a.check:
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        onnx.save(m, path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
