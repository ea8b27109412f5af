#!/usr/bin/python3
"""Vision models with the ops between convolutions (depthwise convs, HardSwish/HardSigmoid,
squeeze-and-excitation broadcasts, ConvTranspose, Resize, reductions, Pad/Split, LayerNorm,
Softmax), exported from torchvision with random fixed-seed weights, and Wafer (cpu) against
ONNX Runtime on them, alternating, as separate processes; medians over all timed runs.

    bench/vision_models.py WAFER [--dir DIR] [--rounds R] [--threads T] [--models zoo,mnv3,lraspp]

  zoo     a small graph of every op above on odd shapes (1x3x45x31)
  mnv3    torchvision mobilenet_v3_large, 1x3x224x224
  lraspp  torchvision lraspp_mobilenet_v3_large (segmentation: bilinear Resize), 1x3x512x512
Wafer's instruction set follows WAFER_CPU_ISA; ORT picks its own (it has no such cap).
Needs bench/node_modules (bench/run installs it: npm install --ignore-scripts in bench/).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))


def export(out, names):
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision

    class Zoo(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 24, 3, stride=2, padding=1)
            self.dw = nn.Conv2d(24, 24, 3, padding=1, groups=24)
            self.gc = nn.Conv2d(24, 36, 3, padding=1, groups=3)
            self.up = nn.ConvTranspose2d(36, 20, 4, stride=2, padding=1)
            self.up2 = nn.ConvTranspose2d(20, 12, 3, stride=2, padding=1, output_padding=1, groups=4)
            self.ln = nn.LayerNorm(12)
            self.fc = nn.Linear(12, 10)

        def forward(self, x):
            y = F.relu6(self.dw(F.hardswish(self.c1(x))))
            s = torch.sigmoid(self.gc(y))
            y = self.gc(y * F.hardsigmoid(y.mean((2, 3), keepdim=True))) * s
            a, b = torch.split(y, [12, 24], dim=1)
            y = F.interpolate(F.pad(torch.cat([b, a], 1), (1, 2, 0, 1)), scale_factor=2, mode="nearest")
            y = torch.tanh(self.up2(F.leaky_relu(self.up(y), 0.1)))
            y = F.interpolate(y, size=(37, 29), mode="bilinear", align_corners=False)
            z = torch.softmax(self.fc(self.ln(y.permute(0, 2, 3, 1))), -1)
            return z[:, 1:30:2], z.sum(-1) + z.amax(-1)

    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)

        def forward(self, x):
            return self.m(x)["out"]

    makers = {"zoo": (Zoo, (1, 3, 45, 31)), "mnv3": (torchvision.models.mobilenet_v3_large, (1, 3, 224, 224)),
              "lraspp": (Seg, (1, 3, 512, 512))}
    for name in names:
        d = os.path.join(out, name)
        if os.path.exists(os.path.join(d, "input.npy")):
            continue
        torch.manual_seed(0)
        model, shape = makers[name]
        x = torch.randn(*shape)
        os.makedirs(d, exist_ok=True)
        torch.onnx.export(model().eval(), x, os.path.join(d, "model.onnx"), opset_version=17, input_names=["input"])
        np.save(os.path.join(d, "input.npy"), x.numpy())


def times(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    r = json.loads(p.stdout)
    return r.get("times_ms", [r["median_ms"]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("wafer")
    ap.add_argument("--dir", default="/tmp/wafer-vision-models")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--models", default="zoo,mnv3,lraspp")
    a = ap.parse_args()
    names = a.models.split(",")
    export(a.dir, names)
    res = {n: ([], []) for n in names}
    for _ in range(a.rounds):
        for n in names:
            d = os.path.join(a.dir, n)
            common = [os.path.join(d, "model.onnx"), "--input", f"input={d}/input.npy", "--threads", a.threads,
                      "--warmup", "2", "--repeat", "5"]
            res[n][0].extend(times(["node", os.path.join(BENCH, "ort_run.js")] + common))
            res[n][1].extend(times([a.wafer, "run"] + common + ["--backend", "cpu", "--json"]))
    isa = os.environ.get("WAFER_CPU_ISA", "native")
    for n, (ort, waf) in res.items():
        o, w = statistics.median(ort), statistics.median(waf)
        print(f"{n:7s} WAFER_CPU_ISA={isa} threads={a.threads}: ORT {o:.2f} ms, Wafer {w:.2f} ms, "
              f"Wafer/ORT {w / o:.2f} (median of {len(waf)} runs each; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
