// MatMul (numpy semantics: batched, broadcast batch dims, 1-D operands),
// MatMulInteger and QLinearMatMul.
#include "ops/gemm_core.h"
#include "ops/matrix_costs.h"
#include "ops/nn_util.h"
#include "ops/quant_util.h"

namespace wafer {

OpCounts matmul_counts(const Graph& g, const Node& n) {
  auto a = n.inputs.empty() ? std::nullopt : known_dims(g, n.inputs[0]);
  auto out = n.outputs.empty() ? std::nullopt : known_elements(g, n.outputs[0]);
  if (!a || !out || a->empty()) return {};
  return macs_and_flops(*out * a->back());
}

namespace {

// Shapes of a numpy matmul: 1-D operands are promoted to matrices and the
// promoted dim is dropped from the result.
struct MatMulPlan {
  int64_t m = 0, k = 0, n = 0;
  Dims batch, a_batch, b_batch;  // broadcast batch dims, and each operand's own
  Dims out;
};

MatMulPlan plan_matmul(const Dims& a, const Dims& b, const Node& node) {
  check(!a.empty() && !b.empty(), node.label(), ": MatMul operands must have rank >= 1, got ", dims_to_string(a),
        " and ", dims_to_string(b));
  Dims ad = a.size() == 1 ? Dims{1, a[0]} : a;
  Dims bd = b.size() == 1 ? Dims{b[0], 1} : b;
  MatMulPlan p;
  p.m = ad[ad.size() - 2];
  p.k = ad.back();
  p.n = bd.back();
  check(bd[bd.size() - 2] == p.k, node.label(), ": cannot multiply ", dims_to_string(a), " by ", dims_to_string(b),
        " (inner dims differ)");
  p.a_batch.assign(ad.begin(), ad.end() - 2);
  p.b_batch.assign(bd.begin(), bd.end() - 2);
  p.batch = broadcast_dims(p.a_batch, p.b_batch, node);
  p.out = p.batch;
  if (a.size() > 1) p.out.push_back(p.m);
  if (b.size() > 1) p.out.push_back(p.n);
  return p;
}

// out[batch] = a[batch] @ b[batch] in T (float, double or an integer type).
template <typename T>
Tensor batched_matmul(const Tensor& a, const Tensor& b, const Node& node) {
  MatMulPlan p = plan_matmul(a.dims(), b.dims(), node);
  Tensor out(dtype_of<T>(), p.out);
  int64_t batches = element_count(p.batch);
  if (out.numel() == 0) return out;
  Dims sa = broadcast_strides(p.a_batch, p.batch), sb = broadcast_strides(p.b_batch, p.batch);
  StridedWalker w(p.batch, {sa, sb});
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = out.data<T>();
  for (int64_t i = 0; i < batches; ++i, w.next())
    gemm_accumulate<T>(pa + w.offset(0) * p.m * p.k, p.k, pb + w.offset(1) * p.k * p.n, p.n, pc + i * p.m * p.n, p.n,
                       p.m, p.k, p.n);
  return out;
}

std::vector<Tensor> matmul(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  check(a.dtype() == b.dtype(), ctx.node.label(), ": inputs have different types ", dtype_name(a.dtype()), " and ",
        dtype_name(b.dtype()));
  require_dtype(ctx.node, a.dtype(),
                {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                 DType::UInt32, DType::UInt64});
  switch (a.dtype()) {
    case DType::Float64:
      return {batched_matmul<double>(a, b, ctx.node)};
    case DType::Int32:
      return {batched_matmul<int32_t>(a, b, ctx.node)};
    case DType::Int64:
      return {batched_matmul<int64_t>(a, b, ctx.node)};
    case DType::UInt32:
      return {batched_matmul<uint32_t>(a, b, ctx.node)};
    case DType::UInt64:
      return {batched_matmul<uint64_t>(a, b, ctx.node)};
    default:  // float32 and the half types, which compute in float32
      return {from_float_compute(batched_matmul<float>(to_float_compute(a), to_float_compute(b), ctx.node), a.dtype())};
  }
}

// Output shape of a numpy matmul with symbolic dims.
Shape matmul_shape(const Shape& a, const Shape& b, const Node& node) {
  if (!a.rank_known || !b.rank_known) return Shape::unknown_rank();
  check(a.rank() >= 1 && b.rank() >= 1, node.label(), ": MatMul operands must have rank >= 1");
  std::vector<Dim> ad = a.dims, bd = b.dims;
  if (ad.size() == 1) ad.insert(ad.begin(), Dim(1));
  if (bd.size() == 1) bd.push_back(Dim(1));
  const Dim& ka = ad.back();
  const Dim& kb = bd[bd.size() - 2];
  check(!(ka.known() && kb.known() && ka.value != kb.value), node.label(), ": cannot multiply ", a.str(), " by ",
        b.str(), " (inner dims differ)");
  Shape batch;
  try {
    batch = broadcast_shapes(Shape(std::vector<Dim>(ad.begin(), ad.end() - 2)),
                             Shape(std::vector<Dim>(bd.begin(), bd.end() - 2)));
  } catch (const Error& e) {
    fail(node.label(), ": batch dims: ", e.what());
  }
  if (a.rank() > 1) batch.dims.push_back(ad[ad.size() - 2]);
  if (b.rank() > 1) batch.dims.push_back(bd.back());
  return batch;
}

std::vector<ValueType> infer_matmul(const InferContext& ctx) {
  return {typed(ctx.in(0).dtype, matmul_shape(ctx.in(0).shape, ctx.in(1).shape, ctx.node))};
}

std::vector<ValueType> infer_matmul_int32(const InferContext& ctx) {
  return {typed(DType::Int32, matmul_shape(ctx.in(0).shape, ctx.in(1).shape, ctx.node))};
}

// A's zero point is per row (its dim -2), B's per column (its dim -1).
int64_t row_axis(const Tensor& t) {
  return t.rank() - 2;
}
int64_t col_axis(const Tensor& t) {
  return t.rank() - 1;
}

std::vector<Tensor> matmul_integer(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  require_dtype(ctx.node, a.dtype(), {DType::UInt8, DType::Int8}, "A");
  require_dtype(ctx.node, b.dtype(), {DType::UInt8, DType::Int8}, "B");
  Tensor ai = subtract_zero_point(a, ctx.has(2) ? ctx.inputs[2] : nullptr, row_axis(a), ctx.node, "A");
  Tensor bi = subtract_zero_point(b, ctx.has(3) ? ctx.inputs[3] : nullptr, col_axis(b), ctx.node, "B");
  return {batched_matmul<int32_t>(ai, bi, ctx.node)};
}

// y = saturate(round((a - a_zp) @ (b - b_zp) * a_scale * b_scale / y_scale) + y_zp),
// with scales per tensor or per row of A / per column of B.
std::vector<Tensor> qlinear_matmul(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& a_scale = ctx.in(1);
  const Tensor& b = ctx.in(3);
  const Tensor& b_scale = ctx.in(4);
  const Tensor& y_scale = ctx.in(6);
  const Tensor& y_zp = ctx.in(7);
  for (const Tensor* s : {&a_scale, &b_scale, &y_scale}) require_dtype(ctx.node, s->dtype(), {DType::Float32}, "scale");
  require_dtype(ctx.node, y_zp.dtype(), {DType::UInt8, DType::Int8}, "y_zero_point");
  check(y_scale.numel() == 1 && y_zp.numel() == 1, ctx.node.label(), ": y_scale and y_zero_point must be scalars");
  Tensor ai = subtract_zero_point(a, &ctx.in(2), row_axis(a), ctx.node, "A");
  Tensor bi = subtract_zero_point(b, &ctx.in(5), col_axis(b), ctx.node, "B");
  Tensor acc = batched_matmul<int32_t>(ai, bi, ctx.node);
  // Scales broadcast like the zero points: per row of A, per column of B.
  int64_t m = a.rank() == 1 ? 1 : a.dim(a.rank() - 2), n = b.rank() == 1 ? 1 : b.dim(b.rank() - 1);
  check(a_scale.numel() == 1 || a_scale.numel() == m, ctx.node.label(), ": a_scale must have 1 or ", m, " elements");
  check(b_scale.numel() == 1 || b_scale.numel() == n, ctx.node.label(), ": b_scale must have 1 or ", n, " elements");
  const float* as = a_scale.data<float>();
  const float* bs = b_scale.data<float>();
  float ys = y_scale.data<float>()[0];
  int64_t zp = y_zp.get_int(0);
  Tensor y(y_zp.dtype(), acc.dims());
  const int32_t* src = acc.data<int32_t>();
  visit_dtype(y_zp.dtype(), [&]<typename Q>() {
    if constexpr (std::is_same_v<Q, uint8_t> || std::is_same_v<Q, int8_t>) {
      Q* dst = y.data<Q>();
      for (int64_t i = 0, total = acc.numel(); i < total; ++i) {
        int64_t col = i % n, row = (i / n) % m;
        float scale = as[per_axis_index(a_scale, row)] * bs[per_axis_index(b_scale, col)] / ys;
        dst[i] = saturate_round<Q>(float(src[i]) * scale, zp);
      }
    }
  });
  return {y};
}

std::vector<ValueType> infer_qlinear_matmul(const InferContext& ctx) {
  DType out = ctx.has(7) ? ctx.in(7).dtype : DType::UInt8;
  return {typed(out, matmul_shape(ctx.in(0).shape, ctx.in(3).shape, ctx.node))};
}

// MatMul as the npu's GEMM: a shared 2-D weight folds the batch dimensions into M (one big GEMM);
// batched operands on both sides are `groups` GEMMs.
std::optional<GemmView> matmul_gemm(const Graph& graph, const Node& node) {
  Dims a = required_dims(graph, node, node.inputs[0]), b = required_dims(graph, node, node.inputs.at(1)),
       y = required_dims(graph, node, node.outputs.at(0));
  check(!a.empty() && !b.empty(), node.label(), ": MatMul of scalars");
  GemmView v;
  v.m = a.size() == 1 ? 1 : a[a.size() - 2];
  v.k = a.back();
  v.n = b.size() == 1 ? 1 : b.back();
  if (b.size() <= 2 && a.size() > 2) {
    v.m = dims_product(a, 0, a.size() - 1);
  } else {
    size_t batch_rank = size_t(std::max<int64_t>(0, int64_t(std::max(a.size(), b.size())) - 2));
    v.groups = dims_product(y, 0, batch_rank);
  }
  v.weight_input = 1;
  return v;
}

WAFER_REGISTER_OP(matmul, {.name = "MatMul",
                           .cost = {.count = matmul_counts, .gemm = matmul_gemm},
                           .since = 1,
                           .infer = infer_matmul,
                           .kernel = matmul});
WAFER_REGISTER_OP(matmul_integer, {.name = "MatMulInteger",
                                   .cost = {.count = matmul_counts},
                                   .since = 10,
                                   .infer = infer_matmul_int32,
                                   .kernel = matmul_integer});
WAFER_REGISTER_OP(qlinear_matmul, {.name = "QLinearMatMul",
                                   .cost = {.count = matmul_counts},
                                   .since = 10,
                                   .infer = infer_qlinear_matmul,
                                   .kernel = qlinear_matmul});

}  // namespace
}  // namespace wafer
