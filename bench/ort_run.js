#!/usr/bin/env node
// ONNX Runtime side of `make bench`: loads one model, runs it on .npy inputs,
// times it and writes its outputs as .npy for the comparison in bench/run.
//
//   node bench/ort_run.js MODEL --input NAME=FILE.npy [--input ...] [--threads 2]
//        [--warmup W] [--repeat N] [--out DIR]
//
// Prints one JSON object: {load_ms, median_ms, min_ms, times_ms, peak_rss_kb, outputs}.
// Uses the CPU execution provider only, intraOpNumThreads=threads,
// interOpNumThreads=1, all graph optimizations (ORT's defaults for a server).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function parseArgs(argv) {
  const a = {inputs: [], threads: 2, warmup: 1, repeat: 5, out: ''};
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--input') a.inputs.push(next());
    else if (k === '--threads') a.threads = parseInt(next(), 10);
    else if (k === '--warmup') a.warmup = parseInt(next(), 10);
    else if (k === '--repeat') a.repeat = parseInt(next(), 10);
    else if (k === '--out') a.out = next();
    else if (k.startsWith('--')) throw new Error(`unknown option ${k}`);
    else a.model = k;
  }
  if (!a.model) throw new Error('usage: ort_run.js MODEL --input NAME=FILE.npy ...');
  return a;
}

// numpy dtype descr -> [ORT type name, TypedArray]
const NPY_TYPES = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array],
  '|u1': ['uint8', Uint8Array],
  '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order is not supported`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const t = NPY_TYPES[descr];
  if (!t) throw new Error(`${file}: unsupported dtype ${descr}`);
  const [type, Arr] = t;
  const count = shape.reduce((x, y) => x * y, 1);
  // Copy into an aligned buffer: the data offset inside the file need not be a multiple of the element size.
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + start, count * Arr.BYTES_PER_ELEMENT).slice();
  return new ort.Tensor(type, new Arr(bytes.buffer), shape);
}

function writeNpy(file, tensor) {
  const descr = Object.keys(NPY_TYPES).find(k => NPY_TYPES[k][0] === tensor.type);
  if (!descr) throw new Error(`cannot write ${tensor.type} output`);
  const dims = tensor.dims.map(Number);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), data]));
}

function median(sorted) {
  if (sorted.length === 0) return 0;
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const feeds = {};
  for (const spec of a.inputs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--input expects NAME=FILE, got '${spec}'`);
    feeds[spec.slice(0, eq)] = readNpy(spec.slice(eq + 1));
  }
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

  let results;
  const times = [];
  for (let i = 0; i < a.warmup + Math.max(a.repeat, 1); ++i) {
    const t = process.hrtime.bigint();
    results = await session.run(feeds);
    if (i >= a.warmup) times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((x, y) => x - y);

  const outputs = [];
  if (a.out) fs.mkdirSync(a.out, {recursive: true});
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    outputs.push({name, dtype: t.type, shape: t.dims.map(Number)});
    if (a.out) writeNpy(path.join(a.out, `output_${i}.npy`), t);
  });
  const out = {
    engine: `onnxruntime-node ${require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version}`,
    model: a.model,
    threads: a.threads,
    load_ms: loadMs,
    median_ms: median(times),
    min_ms: times[0],
    runs: times.length,
    times_ms: times,
    peak_rss_kb: process.resourceUsage().maxRSS,  // kB, like getrusage's ru_maxrss
    outputs,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch(e => {
  process.stderr.write(`ort_run: ${e.message || e}\n`);
  process.exit(1);
});
