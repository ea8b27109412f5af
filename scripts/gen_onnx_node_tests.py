#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Generate the ONNX backend node-test data (the conformance suite).

Debian's python3-onnx ships the test-case generators
(onnx/backend/test/case/node) but not the generated data.  This script
runs onnx's own `backend-test-tools generate-data` machinery
(onnx.backend.test.cmd_tools.generate_data) restricted to node cases and
writes the standard ONNX test layout:

    <out>/node/<case_name>/model.onnx
    <out>/node/<case_name>/test_data_set_0/input_<i>.pb, output_<j>.pb

Usage (use Debian's Python, which has python3-onnx and python3-numpy):

    /usr/bin/python3 scripts/gen_onnx_node_tests.py build/onnx-node-tests [--force]

Idempotent: on success a stamp file (<out>/.stamp) recording the onnx and
numpy versions is written; if it is present and matches, nothing is done.
Generation goes into a temporary sibling directory that is renamed into
place only on success, so an interrupted run never leaves a half-written
tree behind a valid stamp.  Deterministic: every generator is run after
np.random.seed(0) (onnx does this per export function; we seed as well).
"""

import argparse
import builtins
import os
import shutil
import sys
import time

STAMP_NAME = ".stamp"


def _restore_numpy_aliases(np):
    # onnx 1.12 still uses aliases removed in numpy 1.24.
    for alias, target in (("float", builtins.float), ("int", builtins.int),
                          ("bool", builtins.bool), ("object", builtins.object),
                          ("complex", builtins.complex), ("str", builtins.str)):
        if alias not in np.__dict__:
            setattr(np, alias, target)


def _count_cases(node_dir):
    if not os.path.isdir(node_dir):
        return 0
    return sum(1 for d in os.listdir(node_dir)
               if os.path.isfile(os.path.join(node_dir, d, "model.onnx")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("output", help="output directory (e.g. build/onnx-node-tests)")
    ap.add_argument("--force", action="store_true",
                    help="regenerate even if the stamp file is present")
    args = ap.parse_args()

    import numpy as np
    _restore_numpy_aliases(np)
    import onnx

    out = os.path.abspath(args.output)
    stamp = os.path.join(out, STAMP_NAME)
    stamp_text = "onnx=%s numpy=%s\n" % (onnx.__version__, np.__version__)
    node_dir = os.path.join(out, "node")

    if not args.force and os.path.isfile(stamp):
        with open(stamp) as f:
            if f.read() == stamp_text:
                n = _count_cases(node_dir)
                if n > 0:
                    print("onnx node tests up to date: %d cases in %s" % (n, node_dir))
                    return 0

    np.random.seed(0)
    from onnx.backend.test import cmd_tools

    # Only node cases: drop the 'real' (downloadable model zoo) cases.
    cmd_tools.model_test.collect_testcases = lambda *a, **k: []

    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = out + ".tmp-%d" % os.getpid()
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    t0 = time.time()
    try:
        cmd_tools.generate_data(argparse.Namespace(output=tmp, op_type=None))
        n = _count_cases(os.path.join(tmp, "node"))
        if n == 0:
            raise RuntimeError("no node test cases were generated")
        with open(os.path.join(tmp, STAMP_NAME), "w") as f:
            f.write(stamp_text)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print("generated %d onnx node test cases in %s (%.1fs, onnx %s, numpy %s)"
          % (n, node_dir, time.time() - t0, onnx.__version__, np.__version__))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("gen_onnx_node_tests: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
