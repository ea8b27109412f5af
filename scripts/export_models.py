#!/usr/bin/python3
"""Exports real PyTorch models to ONNX test layout for `wafer check`.

    scripts/export_models.py OUTDIR [--models resnet50,mobilenetv2,bert,vit] [--force] [--graph-only]

--graph-only writes model.onnx alone (no test data, no float64 reference run): what the simulator's
fidelity report needs, and the only practical way for bert_large (BERT-large encoder, 24 layers,
d 1024, 16 heads, FFN 4096, sequence 384: the MLPerf BERT-99 network without its embeddings and QA head).

Each model lands in OUTDIR/<name>/: model.onnx plus test_data_set_0/input_0.pb
and output_0.pb, a fixed-seed input and PyTorch's output for it. Decoders (llama_*, gpt2_*; scripts/decoders.py) land as
OUTDIR/<name>/model.onnx plus generation.json (torch's greedy tokens). The expected
output is computed in float64 (a double copy of the model), so it measures the
error of a float32 backend, not PyTorch's own float32 rounding.

Weights are fixed-seed random (no downloads). Plain random initialisation makes
degenerate exports, hence the re-initialisations below (see docs/MODELS.md):
  * BatchNorm statistics and affine parameters are randomised: with the
    defaults (mean 0, var 1, weight 1, bias 0) BN is the identity and folds
    into identical zero biases, which hides bias/BN bugs.
  * nn.TransformerEncoder deep-copies one layer; each layer is re-initialised
    separately so layers differ (identical initializers also get shared by the
    exporter, which is not what a real model looks like).
  * ViT's head is zero-initialised (constant output); it is randomised.
Export runs with gradients enabled: under torch.no_grad nn.TransformerEncoder
and nn.MultiheadAttention take fused fast paths the exporter cannot handle.

Uses Debian's python3-torch (1.13) and python3-torchvision (0.14): run it with
/usr/bin/python3. Idempotent: a model whose files exist is skipped unless --force.
"""
import argparse
import collections
import copy
import math
import os
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoders  # noqa: E402  (decoder-only transformers with a KV cache: scripts/decoders.py)

OPSET = 17  # the newest torch 1.13 exports; LayerNorm becomes one LayerNormalization node
SEED = 0
DEFAULT_MODELS = ["resnet50", "mobilenetv2", "bert", "vit"]


def reinit_batchnorm(model, gen):
    """Random BN statistics and affine parameters, kept in a well-conditioned
    range (var in [0.5, 1.5], weight in [0.5, 1.5]) so deep nets neither blow up
    nor collapse."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)


def randomise_vit_constants(model, gen):
    """torchvision initialises ViT's head, class token, LayerNorm biases and
    conv bias to zeros, LayerNorm weights to ones and MLP biases to ~1e-6. A
    zero head makes the output constant; the rest would let the exporter share
    identical initializers (it emits Identity nodes for them) and hide bias
    bugs. All of them get small random values."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5 + 0.75)
            if isinstance(m, (nn.LayerNorm, nn.Linear, nn.Conv2d, nn.MultiheadAttention)):
                for pname in ("bias", "in_proj_bias"):
                    b = getattr(m, pname, None)
                    if isinstance(b, torch.Tensor):
                        b.copy_(torch.randn(b.shape, generator=gen) * 0.02)
        head = model.heads.head
        head.weight.copy_(torch.randn(head.weight.shape, generator=gen) * 0.02)
        model.class_token.copy_(torch.randn(model.class_token.shape, generator=gen) * 0.02)


# --------------------------------------------------------------------------- models


class BasicBlock(nn.Module):
    """CIFAR ResNet basic block; the shortcut projection is a 1x1 conv + BN
    (option B) where shape changes, so the graph needs no Pad/Slice tricks."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-20 for 32x32 images (He et al. 2016, section 4.2): 3 stages of n
    blocks at 16/32/64 channels, global average pool, 10-way linear."""

    def __init__(self, n=3, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(n):
                layers.append(BasicBlock(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = self.pool(self.layers(x))
        return self.fc(torch.flatten(x, 1))


class BertEncoder(nn.Module):
    """BERT-base encoder stack on given embeddings: the embedding LayerNorm,
    then 12 post-LN layers (d_model 768, 12 heads, FFN 3072, exact GELU)."""

    def __init__(self, gen, layers=12, d=768, heads=12, ffn=3072):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-12)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.0, activation="gelu", batch_first=True,
                                           layer_norm_eps=1e-12)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        # TransformerEncoder deep-copies `layer`: give every layer its own weights
        # (BERT's init: normal(0, 0.02) weights), and non-trivial biases and
        # LayerNorm parameters so that every parameter matters.
        for p in self.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):
                with torch.no_grad():
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 0.5 + 0.75)

    def forward(self, x):
        return self.encoder(self.norm(x))


def build(name, gen):
    """Returns (model, example input) for a model name."""
    torch.manual_seed(SEED)  # torchvision's own initialisers use the global generator
    if name == "resnet20":
        model = CifarResNet()
        reinit_batchnorm(model, gen)
        return model, torch.randn(1, 3, 32, 32, generator=gen)
    if name == "resnet50":
        model = torchvision.models.resnet50(weights=None)
        reinit_batchnorm(model, gen)
        return model, torch.randn(1, 3, 224, 224, generator=gen)
    if name == "mobilenetv2":
        model = torchvision.models.mobilenet_v2(weights=None)
        reinit_batchnorm(model, gen)
        return model, torch.randn(1, 3, 224, 224, generator=gen)
    if name == "bert":
        return BertEncoder(gen), torch.randn(1, 128, 768, generator=gen)
    if name == "bert_large":
        return BertEncoder(gen, layers=24, d=1024, heads=16, ffn=4096), torch.randn(1, 384, 1024, generator=gen)
    if name == "vit":
        model = torchvision.models.vit_b_16(weights=None)
        randomise_vit_constants(model, gen)
        return model, torch.randn(1, 3, 224, 224, generator=gen)
    raise SystemExit(f"export_models.py: unknown model '{name}' "
                     f"(known: resnet20, {', '.join(DEFAULT_MODELS)}, bert_large)")


# --------------------------------------------------------------------------- export


def rel_l2(ref, got):
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    return float(np.linalg.norm(ref - got) / max(np.linalg.norm(ref), 1e-300))


def gflop(model, x):
    """GFLOP (2 per multiply-add) of the convolutions, linear layers and
    attention of one forward pass on x, counted with forward hooks (ONNX shape
    inference cannot follow the dynamic-batch Reshapes of the attention)."""
    total = [0]

    def hook(m, inputs, output):
        out = output[0] if isinstance(output, tuple) else output
        if isinstance(m, nn.Conv2d):
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += 2 * out.numel() * m.in_features
        elif isinstance(m, nn.MultiheadAttention):
            # in_proj (3 d x d) and out_proj (d x d) run inside F.multi_head_attention_forward,
            # which calls no Linear module; then Q K^T and A V: 2 L^2 d each per sample.
            # (query is often passed by keyword, so shapes come from the output, shaped like it)
            tokens, seq, d = out.numel() // out.shape[-1], out.shape[1 if m.batch_first else 0], out.shape[-1]
            total[0] += 2 * tokens * d * 4 * d + 2 * 2 * tokens * seq * d

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, nn.MultiheadAttention))]
    model(x)  # with gradients: under no_grad fused fast paths would skip the hooked modules
    for h in handles:
        h.remove()
    return total[0] / 1e9


def op_histogram(model_proto):
    opset = {o.domain or "ai.onnx": o.version for o in model_proto.opset_import}
    counts = collections.Counter(n.op_type for n in model_proto.graph.node)
    return opset, counts


def export(name, outdir, force, graph_only=False):
    case = os.path.join(outdir, name)
    model_path = os.path.join(case, "model.onnx")
    data = os.path.join(case, "test_data_set_0")
    files = [model_path] if graph_only else [model_path, os.path.join(data, "input_0.pb"),
                                             os.path.join(data, "output_0.pb")]
    if not force and all(os.path.exists(f) for f in files):
        print(f"{name}: exists in {case}, skipped (--force re-exports)")
        return
    start = time.time()
    gen = torch.Generator().manual_seed(SEED)
    model, x = build(name, gen)
    model.eval()
    os.makedirs(case if graph_only else data, exist_ok=True)

    input_name, output_name = "input", "output"
    tmp = model_path + ".tmp"
    # Gradients stay enabled on purpose (see the module docstring).
    torch.onnx.export(model, (x,), tmp, opset_version=OPSET, do_constant_folding=True,
                      input_names=[input_name], output_names=[output_name],
                      dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}})
    proto = onnx.load(tmp)
    onnx.checker.check_model(proto, full_check=True)
    if graph_only:
        os.replace(tmp, model_path)
        params = sum(math.prod(i.dims) for i in proto.graph.initializer)
        print(f"{name}: graph exported in {time.time() - start:.1f} s to {case} ({params / 1e6:.1f} M parameters)")
        return

    # Expected output in float64 (a double copy), and float32 for the report.
    y32 = model(x).detach().numpy()
    y64 = copy.deepcopy(model).double()(x.double()).detach().numpy()
    degenerate = float(np.std(y64)) < 1e-6 * max(float(np.abs(y64).max()), 1e-30)
    if degenerate:
        raise SystemExit(f"{name}: output is (nearly) constant, the export would test nothing")

    in_pb = numpy_helper.from_array(x.numpy(), input_name)
    out_pb = numpy_helper.from_array(y64.astype(np.float32), output_name)
    with open(os.path.join(data, "input_0.pb"), "wb") as f:
        f.write(in_pb.SerializeToString())
    with open(os.path.join(data, "output_0.pb"), "wb") as f:
        f.write(out_pb.SerializeToString())
    os.replace(tmp, model_path)  # last: model.onnx present means the case is complete

    seconds = time.time() - start
    flops = gflop(model, x)
    opset, counts = op_histogram(proto)
    params = sum(math.prod(i.dims) for i in proto.graph.initializer)
    print(f"{name}: exported in {seconds:.1f} s to {case}")
    print(f"  model.onnx {os.path.getsize(model_path) / 1e6:.2f} MB, {params / 1e6:.2f} M parameters, "
          f"{len(proto.graph.node)} nodes, {flops:.2f} GFLOP at batch 1")
    print(f"  input {list(x.shape)}, output {list(y64.shape)}; "
          f"float32 PyTorch vs float64 reference: rel L2 {rel_l2(y64, y32):.2e}")
    print(f"  opsets {opset}; ops: " + ", ".join(f"{op} {n}" for op, n in sorted(counts.items())))
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="comma-separated: resnet20 (the committed default model), " + ", ".join(DEFAULT_MODELS)
                        + ", bert_large, and the decoders with a KV cache " + ", ".join(decoders.CONFIGS))
    parser.add_argument("--force", action="store_true", help="re-export models whose files exist")
    parser.add_argument("--graph-only", action="store_true", help="model.onnx alone, no test data")
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name in decoders.CONFIGS:
            decoders.export_decoder(name, args.outdir, args.force)
        else:
            export(name, args.outdir, args.force, args.graph_only)


if __name__ == "__main__":
    main()
