#!/usr/bin/python3
"""Writes small ONNX models for the CLI test and the importer fuzzer's seed corpus.

Usage: make_test_models.py OUT_DIR

Models use plain ops the reference backend runs (Add, Sub, Mul, Div, Relu,
If), except unsupported.onnx, whose two ops in a made-up domain exercise the
"every unsupported op at once" error.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model, out, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, name))


def model(nodes, inputs, outputs, inits=(), opset=13, name="g"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="wafer-tests")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    f = TensorProto.FLOAT

    # y = relu(x + w): static shapes.
    w = numpy_helper.from_array(np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32), "w")
    save(model([helper.make_node("Add", ["x", "w"], ["s"], name="add"),
                helper.make_node("Relu", ["s"], ["y"], name="relu")],
               [helper.make_tensor_value_info("x", f, [2, 3])],
               [helper.make_tensor_value_info("y", f, [2, 3])], [w]), out, "add_relu.onnx")

    # Two inputs with a symbolic batch, four outputs in a deliberate order.
    b = helper.make_tensor_value_info
    save(model([helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
                helper.make_node("Sub", ["a", "b"], ["diff"], name="sub"),
                helper.make_node("Mul", ["a", "b"], ["prod"], name="mul"),
                helper.make_node("Div", ["prod", "b"], ["quot"], name="div")],
               [b("a", f, ["batch", 4]), b("b", f, ["batch", 4])],
               [b("prod", f, ["batch", 4]), b("sum", f, ["batch", 4]), b("quot", f, ["batch", 4]),
                b("diff", f, ["batch", 4])]), out, "arith_batch.onnx")

    # Integer arithmetic with typed-field initializers.
    k = helper.make_tensor("k", TensorProto.INT64, [3], [1, 2, 3])
    save(model([helper.make_node("Mul", ["i", "k"], ["o"], name="scale")],
               [b("i", TensorProto.INT64, [3])], [b("o", TensorProto.INT64, [3])], [k]), out, "int_mul.onnx")

    # Weights in an external file next to the model (offset/length recorded).
    w2 = numpy_helper.from_array(np.array([0.5, -1, 2], dtype=np.float32), "w2")
    m = model([helper.make_node("Mul", ["x", "w2"], ["y"], name="scale")], [b("x", f, [3])], [b("y", f, [3])], [w2])
    onnx.save_model(m, os.path.join(out, "external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external.bin", size_threshold=0)

    # Two ops no backend has, in a domain of their own: the import error must list both.
    g = helper.make_graph([helper.make_node("Frobnicate", ["x"], ["t"], name="frob", domain="com.example"),
                           helper.make_node("Twiddle", ["t"], ["y"], name="twiddle", domain="com.example")],
                          "g", [b("x", f, [2])], [b("y", f, [2])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)],
                                producer_name="wafer-tests"), os.path.join(out, "unsupported.onnx"))

    # An If whose branches read an outer value.
    then_g = helper.make_graph([helper.make_node("Add", ["x", "x"], ["t"])], "then", [], [b("t", f, [2])])
    else_g = helper.make_graph([helper.make_node("Relu", ["x"], ["e"])], "else", [], [b("e", f, [2])])
    save(model([helper.make_node("If", ["c"], ["y"], name="branch", then_branch=then_g, else_branch=else_g)],
               [b("x", f, [2]), b("c", TensorProto.BOOL, [])], [b("y", f, [2])]), out, "if_outer.onnx")

    # Types left out where ONNX allows it (shape inference fills them in), as torch exports If:
    # branch outputs without a type, one as a ValueInfoProto with no type at all, one with
    # an element type of UNDEFINED; the If's output is also a graph output and a value_info
    # entry with an empty TypeProto. The checker wants main-graph outputs typed, so no check.
    then_g = helper.make_graph([helper.make_node("Add", ["x", "x"], ["t"])], "then", [],
                               [onnx.ValueInfoProto(name="t")])
    else_g = helper.make_graph([helper.make_node("Relu", ["x"], ["e"])], "else", [],
                               [b("e", TensorProto.UNDEFINED, None)])
    three = numpy_helper.from_array(np.array(3, dtype=np.float32), "three")
    untyped = onnx.ValueInfoProto(name="/If_4_output_0")
    untyped.type.SetInParent()  # present but empty
    m = model([helper.make_node("If", ["c"], ["/If_4_output_0"], name="/If_4", then_branch=then_g,
                                else_branch=else_g),
               helper.make_node("Mul", ["/If_4_output_0", "three"], ["y"], name="scale")],
              [b("x", f, [2]), b("c", TensorProto.BOOL, [])], [b("y", f, [2]), untyped], [three])
    m.graph.value_info.append(untyped)
    onnx.save(m, os.path.join(out, "if_untyped.onnx"))

    # A Loop whose body declares no types at all (inputs and outputs by name only): acc += x, 3 times.
    body = helper.make_graph([helper.make_node("Add", ["acc", "x"], ["acc_out"]),
                              helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
                             [onnx.ValueInfoProto(name=n) for n in ("i", "cond_in", "acc")],
                             [onnx.ValueInfoProto(name=n) for n in ("cond_out", "acc_out")])
    trip = numpy_helper.from_array(np.array(3, dtype=np.int64), "trip")
    save(model([helper.make_node("Loop", ["trip", "", "x"], ["y"], name="repeat", body=body)],
               [b("x", f, [2])], [b("y", f, [2])], [trip]), out, "loop_untyped.onnx")


if __name__ == "__main__":
    main()
