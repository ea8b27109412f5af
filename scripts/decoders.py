"""Decoder-only transformers with a KV cache, exported from PyTorch in the Hugging Face Optimum
`text-generation-with-past` convention (used by scripts/export_models.py).

Graph inputs:  input_ids [batch, seq] int64, attention_mask [batch, past+seq] int64,
               position_ids [batch, seq] int64, past_key_values.{i}.key|value [batch, kv_heads, past, head_dim]
Graph outputs: logits [batch, seq, vocab], present.{i}.key|value [batch, kv_heads, past+seq, head_dim]

Two architectures, written here from their papers (no `transformers` package, which Debian lacks):
  * Llama-style (Touvron et al. 2023, "LLaMA"): pre-norm RMSNorm (Zhang & Sennrich 2019), rotary position
    embeddings in the rotate-half form (Su et al. 2021, "RoFormer"), SwiGLU MLP (Shazeer 2020), grouped-query
    attention (Ainslie et al. 2023): kv_heads < heads, each K/V head shared by heads/kv_heads query heads.
  * GPT-2-style (Radford et al. 2019): pre-norm LayerNorm, learned position embeddings, tanh-GELU MLP of 4 d,
    multi-head attention with one fused QKV projection, LM head tied to the token embedding.

Weights are fixed-seed random. Besides the model, each export writes generation.json: torch's own greedy
tokens (a KV-cache loop in float32) for a fixed prompt batch, which `wafer generate` must reproduce.
"""
import json
import math
import os
import time

import numpy as np
import onnx
import torch
import torch.nn as nn

OPSET = 17
MASK_MIN = torch.finfo(torch.float32).min

# name -> architecture and sizes. `micro` ones are small enough to commit (tests/data/decoders).
CONFIGS = {
    "llama_micro": dict(arch="llama", vocab=128, d=64, layers=2, heads=4, kv_heads=2, ffn=96, max_pos=128),
    "gpt2_micro": dict(arch="gpt2", vocab=128, d=64, layers=2, heads=4, kv_heads=4, ffn=256, max_pos=128),
    "llama_tiny": dict(arch="llama", vocab=2048, d=256, layers=4, heads=8, kv_heads=2, ffn=688, max_pos=512),
    "gpt2_tiny": dict(arch="gpt2", vocab=2048, d=256, layers=4, heads=8, kv_heads=8, ffn=1024, max_pos=512),
    # ~150 M parameters: 12 layers of d 768 (GQA 12/4 heads, SwiGLU 2048) and a 32k vocabulary.
    "llama_bench": dict(arch="llama", vocab=32000, d=768, layers=12, heads=12, kv_heads=4, ffn=2048, max_pos=2048),
}

# The fixed prompts of generation.json (two sequences of equal length) and how many tokens to generate.
PROMPTS = [[1, 2, 3, 4, 5, 6, 7], [9, 8, 7, 6, 5, 4, 3]]
NEW_TOKENS = 12


def causal_bias(attention_mask, seq):
    """Additive mask [batch, 1, seq, total]: 0 where query i (absolute position past+i) may see key j
    (j <= past+i and attention_mask[b, j] = 1), the float32 minimum elsewhere."""
    total = attention_mask.shape[1]
    past = total - seq
    q_pos = torch.arange(seq) + past
    k_pos = torch.arange(total)
    allowed = (k_pos[None, :] <= q_pos[:, None])[None, None] & (attention_mask[:, None, None, :] > 0)
    zero = torch.zeros((), dtype=torch.float32)
    return torch.where(allowed, zero, torch.full((), MASK_MIN))


def attend(q, k, v, bias, heads):
    """softmax(q k^T / sqrt(hd) + bias) v with K/V heads repeated to the query heads (GQA)."""
    b, kvh, t, hd = k.shape
    rep = heads // kvh
    if rep > 1:
        k = k[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, heads, t, hd)
        v = v[:, :, None].expand(b, kvh, rep, t, hd).reshape(b, heads, t, hd)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.heads, self.kvh = c["d"], c["heads"], c["kv_heads"]
        self.hd = d // self.heads
        self.attn_norm, self.mlp_norm = RMSNorm(d), RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.v = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate = nn.Linear(d, c["ffn"], bias=False)
        self.up = nn.Linear(d, c["ffn"], bias=False)
        self.down = nn.Linear(c["ffn"], d, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        b, s, d = x.shape
        h = self.attn_norm(x)
        q = self.q(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, s, self.kvh, self.hd).transpose(1, 2)
        v = self.v(h).view(b, s, self.kvh, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        a = attend(q, k, v, bias, self.heads).transpose(1, 2).reshape(b, s, d)
        x = x + self.o(a)
        h = self.mlp_norm(x)
        x = x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))
        return x, k, v


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c["vocab"], c["d"])
        self.layers = nn.ModuleList(LlamaLayer(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["d"])
        self.lm_head = nn.Linear(c["d"], c["vocab"], bias=False)
        hd = c["d"] // c["heads"]
        # RoPE base 10000 (RoFormer, eq. 15; Llama's default).
        self.register_buffer("inv_freq", 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd)), persistent=False)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        x = self.embed(input_ids)
        freqs = position_ids[:, :, None].float() * self.inv_freq  # [b, s, hd/2]
        emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # [b, 1, s, hd]
        cos, sin = emb.cos(), emb.sin()
        bias = causal_bias(attention_mask, input_ids.shape[1])
        presents = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, cos, sin, bias, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        return (self.lm_head(self.norm(x)), *presents)


class Gpt2Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.heads = c["d"], c["heads"]
        self.hd = d // self.heads
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.fc = nn.Linear(d, c["ffn"])
        self.fc_out = nn.Linear(c["ffn"], d)

    def forward(self, x, bias, past_k, past_v):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (t.view(b, s, self.heads, self.hd).transpose(1, 2) for t in (q, k, v))
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        a = attend(q, k, v, bias, self.heads).transpose(1, 2).reshape(b, s, d)
        x = x + self.proj(a)
        x = x + self.fc_out(nn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh"))
        return x, k, v


class Gpt2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.wte = nn.Embedding(c["vocab"], c["d"])
        self.wpe = nn.Embedding(c["max_pos"], c["d"])
        self.layers = nn.ModuleList(Gpt2Layer(c) for _ in range(c["layers"]))
        self.ln_f = nn.LayerNorm(c["d"], eps=1e-5)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        x = self.wte(input_ids) + self.wpe(position_ids)
        bias = causal_bias(attention_mask, input_ids.shape[1])
        presents = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, bias, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        return (torch.matmul(self.ln_f(x), self.wte.weight.t()), *presents)  # tied LM head


def build_decoder(name, gen):
    c = CONFIGS[name]
    model = Llama(c) if c["arch"] == "llama" else Gpt2(c)
    # Normal weights; norms' gains and biases randomised around their defaults so that each parameter
    # matters. The stds are chosen so that the random model's greedy output neither repeats one token
    # (GPT-2's tied head predicts the input token back when embeddings dominate the residual stream)
    # nor has near-ties between the top two logits.
    emb_std, w_std = (0.5, 0.02 * math.sqrt(768 / c["d"])) if c["arch"] == "llama" else (0.1, 0.1)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() >= 2:
                std = emb_std if pname.split(".")[0] in ("embed", "wte", "wpe") else w_std
                p.copy_(torch.randn(p.shape, generator=gen) * std)
            elif pname.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=gen) * 0.5 + 0.75)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    return model.eval()


def empty_past(c, batch, past=0):
    hd = c["d"] // c["heads"]
    return [torch.zeros(batch, c["kv_heads"], past, hd) for _ in range(2 * c["layers"])]


def greedy(model, prompts, new_tokens):
    """Torch's own greedy loop with a KV cache: prefill the prompts, then one token at a time.
    Returns the generated ids per sequence and the smallest top-1/top-2 logit margin seen."""
    c = model.c
    ids = torch.tensor(prompts, dtype=torch.int64)
    b, p = ids.shape
    past = empty_past(c, b)
    out, margin = [[] for _ in range(b)], float("inf")
    pos = torch.arange(p)[None].expand(b, p)
    with torch.no_grad():
        for step in range(new_tokens):
            total = past[0].shape[2] + ids.shape[1]
            mask = torch.ones(b, total, dtype=torch.int64)
            logits, *past = model(ids, mask, pos, *past)
            last = logits[:, -1]
            top2 = torch.topk(last, 2, dim=-1).values
            margin = min(margin, float((top2[:, 0] - top2[:, 1]).min()))
            nxt = last.argmax(-1)
            for i in range(b):
                out[i].append(int(nxt[i]))
            ids = nxt[:, None]
            pos = torch.full((b, 1), total, dtype=torch.int64)
    return out, margin


def export_decoder(name, outdir, force):
    case = os.path.join(outdir, name)
    model_path = os.path.join(case, "model.onnx")
    gen_path = os.path.join(case, "generation.json")
    if not force and os.path.exists(model_path) and os.path.exists(gen_path):
        print(f"{name}: exists in {case}, skipped (--force re-exports)")
        return
    start = time.time()
    c = CONFIGS[name]
    model = build_decoder(name, torch.Generator().manual_seed(0))
    os.makedirs(case, exist_ok=True)

    # Trace with past 3 and seq 2 so that no dim is specialised to 0 or 1.
    b, s, past_len = 2, 2, 3
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, c["vocab"], (b, s), generator=gen)
    mask = torch.ones(b, past_len + s, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + s)[None].expand(b, s).contiguous()
    hd = c["d"] // c["heads"]
    past = [torch.randn(b, c["kv_heads"], past_len, hd, generator=gen) for _ in range(2 * c["layers"])]
    past_names = [f"past_key_values.{i}.{kv}" for i in range(c["layers"]) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(c["layers"]) for kv in ("key", "value")]
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
           "position_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    dyn.update({n: {0: "batch", 2: "past"} for n in past_names})
    dyn.update({n: {0: "batch", 2: "total"} for n in present_names})
    tmp = model_path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask, pos, *past), tmp, opset_version=OPSET, do_constant_folding=True,
                          input_names=["input_ids", "attention_mask", "position_ids", *past_names],
                          output_names=["logits", *present_names], dynamic_axes=dyn)
    proto = onnx.load(tmp)
    onnx.checker.check_model(proto, full_check=False)

    tokens, margin = greedy(model, PROMPTS, NEW_TOKENS)
    with open(gen_path, "w") as f:
        json.dump({"prompt": PROMPTS, "max_new_tokens": NEW_TOKENS, "tokens": tokens,
                   "min_top2_margin": margin, "source": "torch greedy loop with KV cache, float32"}, f, indent=1)
        f.write("\n")
    os.replace(tmp, model_path)
    params = sum(math.prod(i.dims) for i in proto.graph.initializer)
    print(f"{name}: exported in {time.time() - start:.1f} s to {case}: {params / 1e6:.2f} M parameters, "
          f"{len(proto.graph.node)} nodes, {os.path.getsize(model_path) / 1e6:.2f} MB; greedy tokens {tokens}, "
          f"smallest top-2 logit margin {margin:.3g}")
