#!/usr/bin/python3
"""`wafer generate` against PyTorch's greedy loop on an exported decoder (ctest -L models).

    tests/generate_vs_torch.py WAFER MODEL_DIR [--backend cpu|reference]

MODEL_DIR holds model.onnx and generation.json (scripts/export_models.py): the prompts and the tokens
torch's own greedy loop with a KV cache generated. Exit 0 when wafer generates exactly those tokens.
"""
import argparse
import json
import os
import subprocess
import sys

parser = argparse.ArgumentParser()
parser.add_argument("wafer")
parser.add_argument("model_dir")
parser.add_argument("--backend", default="cpu")
args = parser.parse_args()
want = json.load(open(os.path.join(args.model_dir, "generation.json")))
cmd = [args.wafer, "generate", os.path.join(args.model_dir, "model.onnx"), "--backend", args.backend, "--json",
       "--max-new-tokens", str(want["max_new_tokens"])]
for p in want["prompt"]:
    cmd += ["--prompt", ",".join(map(str, p))]
run = subprocess.run(cmd, capture_output=True, text=True)
if run.returncode != 0:
    sys.exit(f"{' '.join(cmd)} failed ({run.returncode}): {run.stderr.strip()}")
got = json.loads(run.stdout)
print(f"{os.path.basename(args.model_dir)} on {args.backend}: TTFT {got['ttft_ms']:.2f} ms, "
      f"TPOT {got['tpot_ms']:.2f} ms, {got['tokens_per_s']:.1f} tokens/s")
if got["tokens"] != want["tokens"]:
    sys.exit(f"tokens differ from PyTorch's greedy loop:\n  wafer {got['tokens']}\n  torch {want['tokens']}")
print(f"greedy tokens equal PyTorch's: {got['tokens']}")
