#include "ir/op_cost.h"

#include "core/error.h"

namespace wafer {

namespace op_cost {

OpCost elementwise(VectorClasses vector, bool epilogue) {
  return {.flops_per_element = 1, .vector = std::move(vector), .epilogue = epilogue};
}

OpCost view() {
  return {.flops_per_element = 0, .vector = VectorClasses{}};
}

OpCost movement() {
  return {.flops_per_element = 0, .vector = VectorClasses{{"move", 1}}};
}

OpCost strided_view() {
  OpCost c = movement();
  c.strided_view = true;
  return c;
}

OpCost row_lookup() {
  OpCost c = movement();
  c.reads_gathered_rows = true;
  return c;
}

OpCost reduction() {
  return composite(1, {{"reduce", 1}});
}

OpCost composite(int flops, VectorClasses vector) {
  return {.basis = OpCost::Basis::Input, .flops_per_element = flops, .vector = std::move(vector)};
}

OpCost vector_only(OpCost::Basis basis, VectorClasses vector) {
  return {.basis = basis, .vector = std::move(vector)};
}

}  // namespace op_cost

std::optional<Dims> known_dims(const Graph& graph, const std::string& value) {
  if (value.empty()) return std::nullopt;
  auto t = graph.type_of(value);
  if (!t || !t->shape.fully_known()) return std::nullopt;
  return t->shape.concrete();
}

std::optional<int64_t> known_elements(const Graph& graph, const std::string& value) {
  auto d = known_dims(graph, value);
  if (!d) return std::nullopt;
  try {
    return element_count(*d);
  } catch (const Error&) {
    return std::nullopt;  // overflows int64: not countable
  }
}

Dims required_dims(const Graph& graph, const Node& node, const std::string& value) {
  auto d = known_dims(graph, value);
  if (!d) throw UnsupportedError(node.label() + ": shape of '" + value + "' is not known at compile time");
  return *d;
}

int64_t dims_product(const Dims& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < d.size(); ++i) p *= d[i];
  return p;
}

OpCounts macs_and_flops(std::optional<int64_t> macs, int64_t extra_flops) {
  if (!macs) return {};
  return {macs, 2 * *macs + extra_flops};
}

OpCounts flops_only(std::optional<int64_t> elements, int64_t per_element) {
  if (!elements) return {};
  return {int64_t(0), *elements * per_element};
}

}  // namespace wafer
