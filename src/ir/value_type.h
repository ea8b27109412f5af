// Static type of a graph value: element type plus a shape whose dims are
// known integers, named symbols (e.g. "batch"), or unknown.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace wafer {

struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // set when the dim is a named unknown

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: implicit from integers reads naturally in shapes
  static Dim named(std::string name) {
    Dim d;
    d.symbol = std::move(name);
    return d;
  }
  bool known() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
  std::string str() const { return known() ? std::to_string(value) : (symbol.empty() ? "?" : symbol); }
};

struct Shape {
  std::vector<Dim> dims;
  bool rank_known = true;  // false: nothing is known, not even the rank

  Shape() = default;
  Shape(std::vector<Dim> d) : dims(std::move(d)) {}  // NOLINT
  static Shape from(const Dims& d) {
    Shape s;
    for (int64_t v : d) s.dims.push_back(Dim(v));
    return s;
  }
  static Shape unknown_rank() {
    Shape s;
    s.rank_known = false;
    return s;
  }
  int64_t rank() const { return int64_t(dims.size()); }
  bool fully_known() const {
    if (!rank_known) return false;
    for (const Dim& d : dims)
      if (!d.known()) return false;
    return true;
  }
  Dims concrete() const;  // throws unless fully_known()
  bool operator==(const Shape&) const = default;
  std::string str() const;
};

struct ValueType {
  DType dtype = DType::Undefined;
  Shape shape = Shape::unknown_rank();
  bool operator==(const ValueType&) const = default;
  std::string str() const;  // "float32[batch,3,224,224]"
};

// Symbol name -> value, e.g. {"batch": 8}.
using SymbolBindings = std::map<std::string, int64_t>;

}  // namespace wafer
