// Vectorized elementwise kernels: Relu, HardSigmoid and Add/Sub/Mul/Div (same shape, a row
// broadcast over the leading dims, or a scalar). Same-shape ops work on any
// layout (the op is per element, so a blocked oneDNN buffer is processed as a
// flat array, padding included): a Relu or residual Add between convolutions
// does not force a reorder to plain. Operands and results are fp32 or bf16
// (bf16 mode keeps activations in bf16 between GEMMs): the work goes in chunks
// that fit L1, each converted to fp32 on the way in, computed in fp32 and
// rounded on the way out (bf16_convert.h). The fp32 loops are compiled for
// AVX-512, AVX2 and baseline (isa_dispatch.h), chosen at run time; threading is
// outside them.
#include <omp.h>

#include <algorithm>

#include "backends/cpu/bf16_convert.h"
#include "backends/cpu/isa_dispatch.h"
#include "backends/cpu/program.h"

namespace wafer::cpu {

namespace {

using dt = dnnl::memory::data_type;

enum class Op { Relu, HardSigmoid, Add, Sub, Mul, Div };

bool unary(Op op) {
  return op == Op::Relu || op == Op::HardSigmoid;
}

constexpr int64_t kChunk = 1024;         // elements per chunk: three fp32 chunks fit L1
constexpr int64_t kParallelMin = 32768;  // below this a fork/join costs more than it saves

template <class F>
inline __attribute__((always_inline)) void loop(F f, const float* a, bool a_scalar, const float* b, bool b_scalar,
                                                float* y, int64_t n) {
  if (a_scalar) {
    float av = a[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(av, b[i]);
  } else if (b_scalar) {
    float bv = b[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], bv);
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  }
}

// One chunk in fp32: y = a op b (b unused for Relu); a scalar operand is one value.
// `alpha`, `beta`: HardSigmoid's max(0, min(1, alpha x + beta)).
[[gnu::always_inline]] inline void chunk_f32_body(Op op, const float* a, bool a_scalar, const float* b, bool b_scalar,
                                                  float* y, int64_t n, float alpha, float beta) {
  switch (op) {
    case Op::HardSigmoid:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {  // (ternaries: GCC 12 does not vectorize nested std::min/max here)
        float v = alpha * a[i] + beta;
        v = v > 0.f ? v : 0.f;
        y[i] = v < 1.f ? v : 1.f;
      }
      break;
    case Op::Relu:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] > 0.f ? a[i] : 0.f;
      break;
    case Op::Add:
      loop([](float x, float z) { return x + z; }, a, a_scalar, b, b_scalar, y, n);
      break;
    case Op::Sub:
      loop([](float x, float z) { return x - z; }, a, a_scalar, b, b_scalar, y, n);
      break;
    case Op::Mul:
      loop([](float x, float z) { return x * z; }, a, a_scalar, b, b_scalar, y, n);
      break;
    case Op::Div:
      loop([](float x, float z) { return x / z; }, a, a_scalar, b, b_scalar, y, n);
      break;
  }
}

void chunk_f32(Op op, const float* a, bool a_scalar, const float* b, bool b_scalar, float* y, int64_t n, float alpha,
               float beta) {
  isa_dispatch<chunk_f32_body>(op, a, a_scalar, b, b_scalar, y, n, alpha, beta);
}

// How an operand maps onto the output's n elements.
enum class Bcast { Full, Row, Scalar };

struct Operand {
  ElemPtr e;
  Bcast how = Bcast::Full;
};

// y (and/or its bf16 twin y2) = a op b over n elements; Row operands repeat with period m.
void run(Op op, Operand a, Operand b, ElemPtr y, ElemPtr y2, int64_t n, int64_t m, float alpha, float beta) {
  bool rows = a.how == Bcast::Row || b.how == Bcast::Row;
  int64_t period = rows ? m : n;
  int64_t chunks_per_row = (period + kChunk - 1) / kChunk;
  int64_t tasks = (n / period) * chunks_per_row;
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t t = 0; t < tasks; ++t) {
    // fp32 chunks on the stack (12 KiB), not thread_local heap scratch: that made
    // 2-thread runs stall on the loaded machine (see norm_kernel.cpp).
    alignas(64) float s[3 * kChunk];
    int64_t row_at = (t % chunks_per_row) * kChunk;  // offset inside the row (period)
    int64_t at = (t / chunks_per_row) * period + row_at;
    int64_t len = std::min(kChunk, period - row_at);
    auto view = [&](const Operand& o, float* buf) {
      if (o.how == Bcast::Scalar) return f32_view(o.e, 0, 1, buf);
      return f32_view(o.e, o.how == Bcast::Row ? row_at : at, len, buf);
    };
    const float* av = view(a, s);
    const float* bv = unary(op) ? nullptr : view(b, s + kChunk);
    float* yv = f32_target(y, at, s + 2 * kChunk);
    chunk_f32(op, av, a.how == Bcast::Scalar, bv, b.how == Bcast::Scalar, yv, len, alpha, beta);
    store_f32(y, at, len, yv);
    if (y2.p) store_f32(y2, at, len, yv);  // bf16 twin of an fp32 result
  }
}

// Period of `in` when it broadcasts over the leading dims of `out` (its dims,
// leading 1s dropped, are a suffix of out's), else 0.
int64_t suffix_period(Dims in, const Dims& out) {
  while (!in.empty() && in.front() == 1) in.erase(in.begin());
  if (in.size() > out.size()) return 0;
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] != out[out.size() - in.size() + i]) return 0;
  return element_count(in);
}

bool is_bf16(const MemRef& r) {
  return r.md.data_type() == dt::bf16;
}

// The step: operands listed as arguments for liveness and tensor allocation only.
void add_kernel_step(Program& p, const Node& node, Op op, std::vector<MemRef> ins, std::vector<Bcast> how,
                     std::optional<MemRef> y, std::optional<MemRef> y2, int64_t n, int64_t m) {
  float alpha = node.attr_float("alpha", 0.2f), beta = node.attr_float("beta", 0.5f);  // HardSigmoid's
  Step s;
  s.label = node.label();
  s.node = &node;
  s.kernel = "elementwise";
  s.per_isa = true;
  if (y) s.args.push_back({0, *y});
  if (y2) s.args.push_back({1, *y2});
  for (size_t i = 0; i < ins.size(); ++i) s.args.push_back({int(i) + 2, ins[i]});
  s.fn = [&p, op, ins, how, y, y2, n, m, alpha, beta] {
    Operand a{{p.data(ins[0]), is_bf16(ins[0])}, how[0]}, b;
    if (ins.size() > 1) b = Operand{{p.data(ins[1]), is_bf16(ins[1])}, how[1]};
    ElemPtr out{p.data(y ? *y : *y2), !y}, twin;
    if (y && y2) twin = ElemPtr{p.data(*y2), true};
    run(op, a, b, out, twin, n, m, alpha, beta);
  };
  p.add_step(std::move(s));
}

bool lower_broadcast(Program& p, const Node& node, Op op, const Dims& yd) {
  if (unary(op) || node.op_version < 7) return false;  // before 7: legacy axis broadcasting
  auto ad = p.dims_of(node.inputs[0]), bd = p.dims_of(node.inputs[1]);
  if (!ad || !bd) return false;
  int64_t n = element_count(yd);
  int64_t pa = suffix_period(*ad, yd), pb = suffix_period(*bd, yd);
  if (pa == 0 || pb == 0 || (pa != n && pb != n)) return false;
  bool a_full = pa == n, b_full = pb == n;
  // A full operand in a blocked layout goes to oneDNN's binary (binary_kernel.cpp), which reads it as it is.
  for (size_t i : {size_t(0), size_t(1)})
    if (auto f = p.dnnl_form(node.inputs[i]); f && (i == 0 ? a_full : b_full) && !is_plain(f->md, yd)) return false;
  int64_t m = a_full ? pb : pa;
  auto bcast = [&](bool full) { return full ? Bcast::Full : m == 1 ? Bcast::Scalar : Bcast::Row; };
  MemRef a = p.plain_any(node.inputs[0]), b = p.plain_any(node.inputs[1]);
  auto out = p.define_plain_out(node.outputs[0], is_bf16(a_full ? a : b));
  add_kernel_step(p, node, op, {a, b}, {bcast(a_full), bcast(b_full)}, out.f32, out.bf16, n, m);
  return true;
}

}  // namespace

bool lower_elementwise(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1) return false;
  Op op;
  if (node.op_type == "Relu")
    op = Op::Relu;
  else if (node.op_type == "HardSigmoid")
    op = Op::HardSigmoid;
  else if (node.op_type == "Add")
    op = Op::Add;
  else if (node.op_type == "Sub")
    op = Op::Sub;
  else if (node.op_type == "Mul")
    op = Op::Mul;
  else if (node.op_type == "Div")
    op = Op::Div;
  else
    return false;
  size_t arity = unary(op) ? 1 : 2;
  if (node.inputs.size() != arity) return false;
  auto yd = p.dims_of(node.outputs[0]);
  if (!yd) return false;
  if (yd->empty()) return false;
  bool same = true;
  for (const auto& in : node.inputs) {
    if (p.dtype_of_value(in) != DType::Float32) return false;
    same = same && p.dims_of(in) == yd;
  }
  if (!same) return lower_broadcast(p, node, op, *yd);
  // Layout: that of the first input in a oneDNN fp32/bf16 form, else plain. Operands
  // in that layout are read in their own element type; others are reordered into it.
  dnnl::memory::desc layout = plain_md(*yd);
  for (const auto& in : node.inputs)
    if (auto f = p.dnnl_form(in); f && (f->md.data_type() == dt::f32 || f->md.data_type() == dt::bf16)) {
      layout = f->md;
      break;
    }
  std::vector<MemRef> ins;
  for (const auto& in : node.inputs) {
    MemRef cur = p.current(in);
    bool usable = cur.md.data_type() == dt::f32 || cur.md.data_type() == dt::bf16;
    ins.push_back(usable && cur.md == with_type(layout, cur.md.data_type()) ? cur : p.operand(in, layout));
  }
  int64_t n = int64_t(layout.get_size() / (layout.data_type() == dt::bf16 ? 2 : 4));
  std::vector<Bcast> how(ins.size(), Bcast::Full);
  if (is_plain(layout, *yd)) {
    auto out = p.define_plain_out(node.outputs[0], is_bf16(ins[0]));
    add_kernel_step(p, node, op, ins, how, out.f32, out.bf16, n, n);
    return true;
  }
  // A blocked layout: one result, bf16 when the readers want it or the first operand is bf16.
  Program::Wanted w = p.wanted_types(node.outputs[0]);
  bool bf = p.bf16() && (w.bf16 || (!w.f32 && is_bf16(ins[0])));
  MemRef out = p.define(node.outputs[0], with_type(layout, bf ? dt::bf16 : dt::f32));
  add_kernel_step(p, node, op, ins, how, bf ? std::nullopt : std::optional(out), bf ? std::optional(out) : std::nullopt,
                  n, n);
  return true;
}

}  // namespace wafer::cpu
