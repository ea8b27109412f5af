// Numerical comparison of tensors, as the conformance runner and the tests
// use it: shape and dtype must match; floats within rtol/atol (NaN equals
// NaN), everything else exactly.
#pragma once

#include <string>

#include "core/tensor.h"

namespace wafer {

struct Tolerance {
  double rtol = 1e-3;  // ONNX backend-test defaults
  double atol = 1e-7;
};

struct Comparison {
  bool ok = true;
  double max_abs = 0;     // largest |expected - actual|
  double max_rel = 0;     // largest |expected - actual| / |expected| over nonzero expected
  double rel_l2 = 0;      // ||expected - actual|| / ||expected||
  std::string message;    // why it failed, naming the first offending element
};

Comparison compare_tensors(const Tensor& expected, const Tensor& actual, Tolerance tol = {});

}  // namespace wafer
