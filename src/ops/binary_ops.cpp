// Binary elementwise math with numpy broadcasting: Pow, Mod, BitShift.
#include "ops/math_util.h"

namespace wafer {
namespace {

using math::kNumericTypes;

// out[i] = f(a[..], b[..]) over the broadcast shape, with independent storage
// types A and B and result type R; f gets the raw storage values.
template <typename A, typename B, typename R, typename F>
Tensor broadcast_apply(const Tensor& a, const Tensor& b, const Node& node, F f) {
  Dims out_dims = broadcast_dims(a.dims(), b.dims(), node);
  Tensor out(dtype_of<R>(), out_dims);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  R* dst = out.data<R>();
  StridedWalker w(out_dims, {broadcast_strides(a.dims(), out_dims), broadcast_strides(b.dims(), out_dims)});
  for (int64_t i = 0, n = out.numel(); i < n; ++i, w.next()) dst[i] = f(pa[w.offset(0)], pb[w.offset(1)]);
  return out;
}

// Integer power by squaring with two's complement wrap (numpy semantics).
// Negative exponents: only |base| == 1 gives a non-zero integer result.
template <typename T, typename E>
T int_pow(T base, E exp, const Node& node) {
  if constexpr (std::is_signed_v<E>) {
    if (exp < 0) {
      check(base != 0, node.label(), ": 0 raised to a negative integer power");
      if (base == 1) return T(1);
      if constexpr (std::is_signed_v<T>)
        if (base == -1) return T((exp % 2 == 0) ? 1 : -1);
      return T(0);
    }
  }
  T result = 1;
  auto e = std::make_unsigned_t<E>(exp);
  while (e) {
    if (e & 1) result = math::wrapping_mul(result, base);
    base = math::wrapping_mul(base, base);
    e >>= 1;
  }
  return result;
}

// Pow: the base type decides the result type; from opset 12 the exponent may
// have a different (any numeric) type.
std::vector<Tensor> pow_kernel(const KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& y = ctx.in(1);
  if (ctx.version() < 12) {
    math::require_one_of(ctx.node, x.dtype(), math::kFloatTypes);
    check(x.dtype() == y.dtype(), ctx.node.label(), ": base and exponent types differ before opset 12");
  } else {
    math::require_one_of(ctx.node, x.dtype(),
                         {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64},
                         "base");
    math::require_one_of(ctx.node, y.dtype(), kNumericTypes, "exponent");
  }
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!(is_float_type_v<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>)) {
      return {};
    } else {
      return visit_dtype(y.dtype(), [&]<typename U>() -> std::vector<Tensor> {
        if constexpr (std::is_same_v<U, bool>) {
          return {};
        } else {
          return {broadcast_apply<T, U, T>(x, y, ctx.node, [&](T b, U e) -> T {
            if constexpr (std::is_integral_v<T> && std::is_integral_v<U>) {
              return int_pow(b, e, ctx.node);
            } else {
              return math::saturate_cast<T>(std::pow(double(to_compute(b)), double(to_compute(e))));
            }
          })};
        }
      });
    }
  });
}
WAFER_REGISTER_OP(pow, {.name = "Pow",
                        .cost = op_cost::elementwise({{"exp", 2}, {"mul", 1}}),
                        .since = 7,
                        .infer = infer_broadcast,
                        .kernel = pow_kernel});

// Mod: fmod=1 is C fmod (sign of the dividend); fmod=0 follows Python/numpy
// (sign of the divisor).
template <typename C>
C mod_value(C a, C b, bool c_style, const Node& node) {
  if constexpr (std::is_floating_point_v<C>) {
    C r = std::fmod(a, b);
    if (!c_style && r != C(0) && ((r < C(0)) != (b < C(0)))) r += b;
    return r;
  } else {
    check(b != 0, node.label(), ": integer modulo by zero");
    if constexpr (std::is_unsigned_v<C>) {
      return C(a % b);
    } else {
      if (b == C(-1)) return C(0);  // MIN % -1 overflows in C++
      C r = C(a % b);
      if (!c_style && r != 0 && ((r < 0) != (b < 0))) r = C(r + b);
      return r;
    }
  }
}

std::vector<Tensor> mod_kernel(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  math::require_one_of(ctx.node, a.dtype(), kNumericTypes);
  check(a.dtype() == b.dtype(), ctx.node.label(), ": inputs have different types ", dtype_name(a.dtype()), " and ",
        dtype_name(b.dtype()));
  bool c_style = ctx.node.attr_int("fmod", 0) != 0;
  return visit_dtype(a.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool>) {
      return {};
    } else {
      using C = compute_t<T>;
      return {map_binary<T>(a, b, ctx.node, [&](C x, C y) { return mod_value(x, y, c_style, ctx.node); })};
    }
  });
}
WAFER_REGISTER_OP(mod, {.name = "Mod",
                        .cost = op_cost::elementwise({{"div", 1}}),
                        .since = 10,
                        .attrs = {{"fmod", AttrType::Int}},
                        .infer = infer_broadcast,
                        .kernel = mod_kernel});

// BitShift: shifting by the bit width or more gives 0 (a C++ shift that far is UB).
std::vector<Tensor> bitshift_kernel(const KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  math::require_one_of(ctx.node, a.dtype(), {DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64});
  check(a.dtype() == b.dtype(), ctx.node.label(), ": inputs have different types");
  std::string dir = ctx.node.attr_string("direction");
  check(dir == "LEFT" || dir == "RIGHT", ctx.node.label(), ": direction must be LEFT or RIGHT, got '", dir, "'");
  bool left = dir == "LEFT";
  return visit_dtype(a.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (!std::is_unsigned_v<T> || std::is_same_v<T, bool>) {
      return {};
    } else {
      return {map_binary<T>(a, b, ctx.node, [left](T x, T s) {
        if (s >= T(sizeof(T) * 8)) return T(0);
        return left ? T(uint64_t(x) << s) : T(x >> s);
      })};
    }
  });
}
WAFER_REGISTER_OP(bitshift, {.name = "BitShift",
                             .cost = op_cost::elementwise({{"add", 1}}),
                             .since = 11,
                             .attrs = {{"direction", AttrType::String, true}},
                             .infer = infer_broadcast,
                             .kernel = bitshift_kernel});

}  // namespace
}  // namespace wafer
