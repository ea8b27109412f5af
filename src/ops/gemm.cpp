// Gemm: Y = alpha * A' @ B' + beta * C, A' = transA ? A^T : A (same for B),
// C optional (from version 11) and broadcast to [M, N].
#include "ops/gemm_core.h"
#include "ops/nn_util.h"

namespace wafer {
namespace {

// Row-major copy of the transpose of a [rows, cols] matrix, so the multiply
// always streams contiguous rows.
template <typename T>
Tensor transposed(const Tensor& m) {
  int64_t rows = m.dim(0), cols = m.dim(1);
  Tensor out(m.dtype(), {cols, rows});
  const T* src = m.data<T>();
  T* dst = out.data<T>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  return out;
}

template <typename T>
Tensor gemm_typed(const Tensor& a_in, const Tensor& b_in, const Tensor* c, bool trans_a, bool trans_b, float alpha,
                  float beta, const Node& node) {
  Tensor a = trans_a ? transposed<T>(a_in) : a_in;
  Tensor b = trans_b ? transposed<T>(b_in) : b_in;
  int64_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
  check(b.dim(0) == k, node.label(), ": A' is ", dims_to_string(a.dims()), " and B' is ", dims_to_string(b.dims()),
        " (inner dims differ)");
  Tensor y(dtype_of<T>(), {m, n});
  T* py = y.data<T>();
  gemm_accumulate<T>(a.data<T>(), k, b.data<T>(), n, py, n, m, k, n);
  // Integers scale in their own type (alpha and beta are then whole numbers in practice).
  T ta = T(alpha), tb = T(beta);
  if (c && beta != 0.0f) {
    Tensor cb = broadcast_to(*c, {m, n}, node);
    const T* pc = cb.data<T>();
    for (int64_t i = 0; i < m * n; ++i) py[i] = T(ta * py[i] + tb * pc[i]);
  } else if (alpha != 1.0f) {
    for (int64_t i = 0; i < m * n; ++i) py[i] = T(ta * py[i]);
  }
  return y;
}

std::vector<Tensor> gemm(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  const Tensor* c = ctx.has(2) ? ctx.inputs[2] : nullptr;
  const Node& node = ctx.node;
  check(a.rank() == 2 && b.rank() == 2, node.label(), ": A and B must be 2-D, got ", dims_to_string(a.dims()), " and ",
        dims_to_string(b.dims()));
  check(a.dtype() == b.dtype() && (!c || c->dtype() == a.dtype()), node.label(), ": inputs have different types");
  require_dtype(node, a.dtype(),
                {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                 DType::UInt32, DType::UInt64});
  bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  switch (a.dtype()) {
    case DType::Float64:
      return {gemm_typed<double>(a, b, c, ta, tb, alpha, beta, node)};
    case DType::Int32:
      return {gemm_typed<int32_t>(a, b, c, ta, tb, alpha, beta, node)};
    case DType::Int64:
      return {gemm_typed<int64_t>(a, b, c, ta, tb, alpha, beta, node)};
    case DType::UInt32:
      return {gemm_typed<uint32_t>(a, b, c, ta, tb, alpha, beta, node)};
    case DType::UInt64:
      return {gemm_typed<uint64_t>(a, b, c, ta, tb, alpha, beta, node)};
    default: {
      Tensor cf = c ? to_float_compute(*c) : Tensor();
      Tensor y =
          gemm_typed<float>(to_float_compute(a), to_float_compute(b), c ? &cf : nullptr, ta, tb, alpha, beta, node);
      return {from_float_compute(y, a.dtype())};
    }
  }
}

std::vector<ValueType> infer_gemm(const InferContext& ctx) {
  const Shape& a = ctx.in(0).shape;
  const Shape& b = ctx.in(1).shape;
  if (!a.rank_known || !b.rank_known) return {typed(ctx.in(0).dtype, Shape({Dim(), Dim()}))};
  check(a.rank() == 2 && b.rank() == 2, ctx.node.label(), ": A and B must be 2-D, got ", a.str(), " and ", b.str());
  bool ta = ctx.node.attr_int("transA", 0) != 0, tb = ctx.node.attr_int("transB", 0) != 0;
  Dim m = a.dims[ta ? 1 : 0], ka = a.dims[ta ? 0 : 1], kb = b.dims[tb ? 1 : 0], n = b.dims[tb ? 0 : 1];
  check(!(ka.known() && kb.known() && ka.value != kb.value), ctx.node.label(), ": inner dims differ (", a.str(),
        " and ", b.str(), ")");
  return {typed(ctx.in(0).dtype, Shape({m, n}))};
}

// Output elements x K, plus the C add.
OpCounts gemm_counts(const Graph& g, const Node& n) {
  auto a = n.inputs.empty() ? std::nullopt : known_dims(g, n.inputs[0]);
  auto out = n.outputs.empty() ? std::nullopt : known_elements(g, n.outputs[0]);
  if (!a || !out || a->size() != 2) return {};
  int64_t k = n.attr_int("transA", 0) ? (*a)[0] : (*a)[1];
  return macs_and_flops(*out * k, n.has_input(2) ? *out : 0);
}

std::optional<GemmView> gemm_view(const Graph& graph, const Node& node) {
  Dims a = required_dims(graph, node, node.inputs[0]), b = required_dims(graph, node, node.inputs.at(1));
  check(a.size() == 2 && b.size() == 2, node.label(), ": Gemm needs 2-D operands");
  bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  GemmView v;
  v.m = ta ? a[1] : a[0];
  v.k = ta ? a[0] : a[1];
  v.n = tb ? b[0] : b[1];
  v.weight_input = 1;
  return v;
}

WAFER_REGISTER_OP(gemm, {.name = "Gemm",
                         .cost = {.count = gemm_counts, .gemm = gemm_view},
                         .since = 7,
                         .attrs = {{"alpha", AttrType::Float},
                                   {"beta", AttrType::Float},
                                   {"transA", AttrType::Int},
                                   {"transB", AttrType::Int}},
                         .infer = infer_gemm,
                         .kernel = gemm});

}  // namespace
}  // namespace wafer
