// Softmax, LogSoftmax, Hardmax.
//
// Opsets 1 and 11 coerce the input to 2-D [prod(dims[:axis]), prod(dims[axis:])]
// and normalise each row (default axis 1); opset 13 normalises along the single
// axis (default -1). With inner = product of dims after the normalised span,
// both are "outer x len x inner" loops; only len and inner differ.
#include "ops/math_util.h"

namespace wafer {
namespace {

enum class Kind { Softmax, LogSoftmax, Hardmax };

struct Span {
  int64_t outer = 1, len = 1, inner = 1;
};

Span softmax_span(const KernelContext& ctx, const Tensor& x) {
  bool single_axis = ctx.version() >= 13;
  int64_t rank = x.rank();
  int64_t axis = ctx.node.attr_int("axis", single_axis ? -1 : 1);
  if (rank == 0) {
    // A scalar is one row of one element.
    check(axis == 0 || axis == -1, ctx.node.label(), ": axis ", axis, " is out of range for a scalar");
    return {};
  }
  // Opset < 13 allows axis == rank (coerce to [N, 1]).
  if (!single_axis && (axis == rank || axis == -rank - 1))
    axis = axis < 0 ? 0 : rank;
  else
    axis = normalize_axis(axis, rank, ctx.node);
  Span s;
  for (int64_t d = 0; d < axis; ++d) s.outer *= x.dim(d);
  if (single_axis) {
    s.len = x.dim(axis);
    for (int64_t d = axis + 1; d < rank; ++d) s.inner *= x.dim(d);
  } else {
    for (int64_t d = axis; d < rank; ++d) s.len *= x.dim(d);
  }
  return s;
}

template <Kind kind, typename T>
Tensor softmax_typed(const Tensor& x, Span s) {
  using C = compute_t<T>;
  Tensor out(x.dtype(), x.dims());
  const T* src = x.data<T>();
  T* dst = out.data<T>();
  size_t inner = size_t(s.inner);
  std::vector<C> mx(inner);
  std::vector<double> sum(inner);
  std::vector<int64_t> arg(inner);
  for (int64_t o = 0; o < s.outer; ++o) {
    const T* in = src + o * s.len * s.inner;
    T* res = dst + o * s.len * s.inner;
    std::fill(mx.begin(), mx.end(), -std::numeric_limits<C>::infinity());
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(arg.begin(), arg.end(), -1);
    for (int64_t j = 0; j < s.len; ++j)
      for (size_t k = 0; k < inner; ++k) {
        C v = to_compute(in[j * s.inner + int64_t(k)]);
        if (arg[k] < 0 || v > mx[k]) mx[k] = v, arg[k] = j;  // first maximum wins (Hardmax)
      }
    if constexpr (kind == Kind::Hardmax) {
      for (int64_t j = 0; j < s.len; ++j)
        for (size_t k = 0; k < inner; ++k) res[j * s.inner + int64_t(k)] = T(C(arg[k] == j ? 1 : 0));
    } else {
      for (int64_t j = 0; j < s.len; ++j)
        for (size_t k = 0; k < inner; ++k) sum[k] += std::exp(double(to_compute(in[j * s.inner + int64_t(k)]) - mx[k]));
      for (int64_t j = 0; j < s.len; ++j)
        for (size_t k = 0; k < inner; ++k) {
          int64_t i = j * s.inner + int64_t(k);
          double shifted = double(to_compute(in[i]) - mx[k]);
          double r = kind == Kind::Softmax ? std::exp(shifted) / sum[k] : shifted - std::log(sum[k]);
          res[i] = T(C(r));
        }
    }
  }
  return out;
}

template <Kind kind>
std::vector<Tensor> softmax_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  math::require_one_of(ctx.node, x.dtype(), math::kFloatTypes);
  Span s = softmax_span(ctx, x);
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!is_float_type_v<T>)
      return {};
    else
      return {softmax_typed<kind, T>(x, s)};
  });
}

#define WAFER_SOFTMAX(id, NAME, COST, KIND)                  \
  WAFER_REGISTER_OP(id, {.name = NAME,                       \
                         .cost = COST,                       \
                         .since = 1,                         \
                         .attrs = {{"axis", AttrType::Int}}, \
                         .infer = infer_same_as_input,       \
                         .kernel = softmax_kernel<KIND>});

WAFER_SOFTMAX(softmax, "Softmax", op_cost::composite(5, {{"max", 1}, {"exp", 1}, {"reduce", 1}, {"div", 1}}),
              Kind::Softmax)
WAFER_SOFTMAX(log_softmax, "LogSoftmax", op_cost::composite(5, {{"max", 1}, {"exp", 1}, {"reduce", 1}, {"div", 1}}),
              Kind::LogSoftmax)
WAFER_SOFTMAX(hardmax, "Hardmax", op_cost::composite(1, {{"max", 1}, {"exp", 1}, {"reduce", 1}, {"div", 1}}),
              Kind::Hardmax)
#undef WAFER_SOFTMAX

}  // namespace
}  // namespace wafer
