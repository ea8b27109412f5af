"""wafer.generate against `wafer generate --json` and PyTorch's greedy tokens (the committed micro decoder)."""

import json

import pytest

import wafer
from conftest import REPO

LLAMA = REPO / "tests" / "data" / "decoders" / "llama_micro"


def test_greedy_tokens_match_cli_and_pytorch(run_cli):
    torch = json.load(open(LLAMA / "generation.json"))
    got = wafer.generate(LLAMA, torch["prompt"], max_new_tokens=torch["max_new_tokens"], threads=1)
    args = ["generate", LLAMA / "model.onnx", "--max-new-tokens", str(torch["max_new_tokens"]), "--threads", "1",
            "--json"]
    for p in torch["prompt"]:
        args += ["--prompt", ",".join(map(str, p))]
    want = run_cli(*args).json()
    assert got["tokens"] == want["tokens"] == torch["tokens"]
    assert got["tpot_ms"] > 0 and got["tokens_per_s"] == pytest.approx(
        2 * torch["max_new_tokens"] / (got["total_ms"] / 1000))


def test_one_prompt_batch_and_errors(run_cli):
    r = wafer.generate(LLAMA, [5, 6, 7], max_new_tokens=3, batch=2, backend="reference")
    assert len(r["tokens"]) == 2 and r["tokens"][0] == r["tokens"][1] and len(r["tokens"][0]) == 3
    with pytest.raises(wafer.WaferError) as e:
        wafer.generate(LLAMA, [1, 999])
    assert str(e.value) == run_cli("generate", LLAMA / "model.onnx", "--prompt", "1,999").error()
