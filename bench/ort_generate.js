#!/usr/bin/env node
// ONNX Runtime side of the decode section of `make bench`: greedy generation with a KV cache on a decoder
// in the text-generation-with-past convention, the way ORT users run one (each step's present outputs are
// the next step's past inputs; the shapes grow by one position per token).
//
//   node bench/ort_generate.js MODEL --prompt 1,2,3 --new-tokens N --batch B --layers L --kv-heads H
//        --head-dim D [--threads 2] [--warmup W]
//
// Prints one JSON object: {load_ms, ttft_ms, tpot_ms, tokens_per_s, decode_tokens_per_s, tokens, peak_rss_kb}.
// W untimed generations first; the times are of the one after them.
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function parseArgs(argv) {
  const a = {threads: 2, warmup: 1, batch: 1};
  const ints = {'--new-tokens': 'newTokens', '--batch': 'batch', '--layers': 'layers', '--kv-heads': 'kvHeads',
                '--head-dim': 'headDim', '--threads': 'threads', '--warmup': 'warmup'};
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    if (k === '--prompt') a.prompt = argv[++i].split(',').map(Number);
    else if (ints[k]) a[ints[k]] = parseInt(argv[++i], 10);
    else if (k.startsWith('--')) throw new Error(`unknown option ${k}`);
    else a.model = k;
  }
  for (const k of ['model', 'prompt', 'newTokens', 'layers', 'kvHeads', 'headDim'])
    if (a[k] === undefined) throw new Error(`missing ${k}`);
  return a;
}

const int64 = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

async function generate(session, a) {
  const b = a.batch, p = a.prompt.length;
  let past = {};
  for (let l = 0; l < a.layers; ++l)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [b, a.kvHeads, 0, a.headDim]);
  let ids = [], pos = [];
  for (let i = 0; i < b; ++i) {
    ids = ids.concat(a.prompt);
    pos = pos.concat(a.prompt.map((_, j) => j));
  }
  let seq = p, total = p;
  const tokens = Array.from({length: b}, () => []);
  const times = [];
  for (let step = 0; step < a.newTokens; ++step) {
    const t = process.hrtime.bigint();
    const feeds = {input_ids: int64(ids, [b, seq]), attention_mask: int64(new Array(b * total).fill(1), [b, total]),
                   position_ids: int64(pos, [b, seq]), ...past};
    const out = await session.run(feeds);
    const logits = out.logits, v = Number(logits.dims[2]);
    ids = [];
    for (let i = 0; i < b; ++i) {
      const row = (i * seq + seq - 1) * v;
      let best = 0;
      for (let k = 1; k < v; ++k)
        if (logits.data[row + k] > logits.data[row + best]) best = k;
      tokens[i].push(best);
      ids.push(best);
    }
    past = {};
    for (let l = 0; l < a.layers; ++l)
      for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`];
    pos = new Array(b).fill(total);
    seq = 1;
    total += 1;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return {tokens, times};
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < a.warmup; ++i) await generate(session, a);
  const {tokens, times} = await generate(session, a);
  const decode = times.slice(1).reduce((x, y) => x + y, 0);
  const total = times.reduce((x, y) => x + y, 0);
  const out = {
    engine: `onnxruntime-node ${require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version}`,
    model: a.model,
    threads: a.threads,
    batch: a.batch,
    load_ms: loadMs,
    ttft_ms: times[0],
    tpot_ms: times.length > 1 ? decode / (times.length - 1) : 0,
    total_ms: total,
    tokens_per_s: a.batch * a.newTokens / (total / 1000),
    decode_tokens_per_s: times.length > 1 ? a.batch * (times.length - 1) / (decode / 1000) : 0,
    tokens,
    peak_rss_kb: process.resourceUsage().maxRSS,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch(e => {
  process.stderr.write(`ort_generate: ${e.message || e}\n`);
  process.exit(1);
});
