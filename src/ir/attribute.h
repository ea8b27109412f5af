// Node attributes, as in ONNX: scalars, lists, tensors and subgraphs.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace wafer {

class Graph;

enum class AttrType { Int, Float, String, Tensor, Graph, Ints, Floats, Strings };
std::string_view attr_type_name(AttrType t);

struct Attribute {
  using Value = std::variant<int64_t, float, std::string, Tensor, std::shared_ptr<Graph>, std::vector<int64_t>,
                             std::vector<float>, std::vector<std::string>>;
  Value value;

  AttrType type() const { return AttrType(value.index()); }
};

}  // namespace wafer
