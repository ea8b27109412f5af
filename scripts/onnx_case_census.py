#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Census of the generated ONNX backend node tests.

Usage:

    /usr/bin/python3 scripts/onnx_case_census.py build/onnx-node-tests [> docs/conformance-census.txt]

The argument is the directory produced by scripts/gen_onnx_node_tests.py
(either <out> or <out>/node).  For every case prints one line:

    <case> | ops=<op,...> | opset=<default-domain version>[ +<domain>:<v>] | in=<types> | out=<types>

Op types include ops inside subgraphs (If/Loop/Scan bodies) and model-local
functions; ops of a non-default domain are printed as <domain>::<op>.
Types are tensor element types, seq(T), opt(T), map(K,V).

Then summaries: cases per op type (a case counts once per distinct op it
uses), dtypes with case counts, cases using non-default domains, cases
using sequence/optional/map/string types, and a greedy implementation
order: ops ordered so that each step unlocks the most cases (a case is
passable only when all of its ops are implemented).
"""

import collections
import os
import sys

import onnx
from onnx import TensorProto

DTYPE_NAMES = {v: k.lower() for k, v in TensorProto.DataType.items()}
DEFAULT_DOMAINS = ("", "ai.onnx")


def op_name(domain, op_type):
    if domain in DEFAULT_DOMAINS:
        return op_type
    return "%s::%s" % (domain, op_type)


def graph_ops(graph, out):
    for node in graph.node:
        out.add(op_name(node.domain, node.op_type))
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                graph_ops(attr.g, out)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    graph_ops(g, out)


def model_ops(model):
    ops = set()
    graph_ops(model.graph, ops)
    local = {(f.domain, f.name) for f in model.functions}
    for f in model.functions:
        for node in f.node:
            ops.add(op_name(node.domain, node.op_type))
    # Calls to model-local functions are not real ops; keep their bodies only.
    for dom, name in local:
        ops.discard(op_name(dom, name))
    return ops


def type_str(tp, dtypes):
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        name = DTYPE_NAMES.get(tp.tensor_type.elem_type, "undefined")
        dtypes.add(name)
        return name
    if kind == "sparse_tensor_type":
        name = DTYPE_NAMES.get(tp.sparse_tensor_type.elem_type, "undefined")
        dtypes.add(name)
        return "sparse(%s)" % name
    if kind == "sequence_type":
        return "seq(%s)" % type_str(tp.sequence_type.elem_type, dtypes)
    if kind == "optional_type":
        return "opt(%s)" % type_str(tp.optional_type.elem_type, dtypes)
    if kind == "map_type":
        k = DTYPE_NAMES.get(tp.map_type.key_type, "undefined")
        dtypes.add(k)
        return "map(%s,%s)" % (k, type_str(tp.map_type.value_type, dtypes))
    return "none"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    if os.path.isdir(os.path.join(root, "node")):
        root = os.path.join(root, "node")
    names = sorted(d for d in os.listdir(root)
                   if os.path.isfile(os.path.join(root, d, "model.onnx")))
    if not names:
        print("no cases found under %s" % root, file=sys.stderr)
        return 1

    case_ops = {}
    dtype_cases = collections.defaultdict(set)
    domain_cases = collections.defaultdict(set)
    kind_cases = collections.defaultdict(set)   # seq / opt / map / string
    opset_cases = collections.Counter()

    print("# ONNX backend node-test census: %d cases (onnx %s)" % (len(names), onnx.__version__))
    print("# case | ops | opset (default domain [+others]) | input types | output types")
    for name in names:
        model = onnx.load(os.path.join(root, name, "model.onnx"))
        ops = model_ops(model)
        case_ops[name] = ops
        default_v = None
        others = []
        for imp in model.opset_import:
            if imp.domain in DEFAULT_DOMAINS:
                default_v = imp.version
            else:
                others.append("%s:%d" % (imp.domain, imp.version))
                domain_cases[imp.domain].add(name)
        for op in ops:
            if "::" in op:
                domain_cases[op.split("::")[0]].add(name)
        opset_cases[default_v] += 1
        dts = set()
        ins = [type_str(v.type, dts) for v in model.graph.input]
        outs = [type_str(v.type, dts) for v in model.graph.output]
        for d in dts:
            dtype_cases[d].add(name)
        for t in ins + outs:
            if "seq(" in t:
                kind_cases["sequence"].add(name)
            if "opt(" in t:
                kind_cases["optional"].add(name)
            if "map(" in t:
                kind_cases["map"].add(name)
            if "string" in t:
                kind_cases["string"].add(name)
        opset = "none" if default_v is None else str(default_v)
        if others:
            opset += " +" + " +".join(others)
        print("%s | ops=%s | opset=%s | in=%s | out=%s" % (
            name, ",".join(sorted(ops)), opset, ",".join(ins), ",".join(outs)))

    print()
    op_count = collections.Counter()
    for ops in case_ops.values():
        op_count.update(ops)
    print("# Cases per op type (%d distinct ops; a case counts once per distinct op)" % len(op_count))
    for op, n in sorted(op_count.items(), key=lambda kv: (-kv[1], kv[0])):
        print("%-48s %d" % (op, n))

    print()
    print("# Cases per default-domain opset version")
    for v, n in sorted(opset_cases.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        print("opset %s: %d" % ("none (no default-domain import)" if v is None else v, n))

    print()
    print("# Dtypes appearing in graph inputs/outputs (number of cases)")
    for d, cs in sorted(dtype_cases.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print("%-12s %d" % (d, len(cs)))
    print()
    print("# Cases by dtype, for the less common dtypes (< 100 cases)")
    for d, cs in sorted(dtype_cases.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(cs) < 100:
            print("%s (%d): %s" % (d, len(cs), " ".join(sorted(cs))))

    print()
    print("# Cases using non-default domains")
    for dom, cs in sorted(domain_cases.items()):
        print("%s (%d): %s" % (dom, len(cs), " ".join(sorted(cs))))

    print()
    print("# Cases with sequence / optional / map / string graph inputs or outputs")
    for k in ("sequence", "optional", "map", "string"):
        cs = kind_cases.get(k, set())
        print("%s (%d): %s" % (k, len(cs), " ".join(sorted(cs))))

    print()
    print("# Greedy implementation order (each step adds the op set that unlocks the")
    print("# most cases per op added; a case passes only when all its ops exist)")
    print("# step  ops-added  +cases-unlocked-this-step  cumulative-passable  cumulative-ops")
    implemented = set()
    passable = set()
    step = 0
    while True:
        pending = {c: ops - implemented for c, ops in case_ops.items() if c not in passable}
        if not pending:
            break
        candidates = {frozenset(m) for m in pending.values()}
        best = None
        for cand in candidates:
            gain = sum(1 for m in pending.values() if m <= cand)
            key = (gain / max(1, len(cand)), gain, -len(cand), sorted(cand))
            if best is None or key[:3] > best[0][:3] or (key[:3] == best[0][:3] and key[3] < best[0][3]):
                best = (key, cand, gain)
        _, cand, gain = best
        implemented |= cand
        newly = {c for c, m in pending.items() if m <= cand}
        passable |= newly
        step += 1
        added = ",".join(sorted(cand)) if cand else "(none)"
        print("%3d  %-40s +%-3d %4d  %3d" % (step, added, gain, len(passable), len(implemented)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
