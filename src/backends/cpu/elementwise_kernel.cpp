// Vectorized elementwise kernels. Relu and same-shape Add work on any layout
// (the op is per element, so a blocked oneDNN buffer is processed as a flat
// array, padding included): a Relu or residual Add between convolutions does
// not force a reorder to plain. Same-shape float Add/Sub/Mul/Div and Relu on
// plain tensors skip the reference kernel's broadcasting machinery.
// target_clones compiles AVX-512, AVX2 and baseline versions, chosen at run time.
#include <omp.h>

#include "backends/cpu/program.h"

namespace wafer::cpu {

namespace {

enum class Op { Relu, Add, Sub, Mul, Div };

__attribute__((target_clones("avx512f", "avx2", "default"))) void relu_f32(const float* x, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void binary_f32(Op op, const float* a, const float* b,
                                                                             float* y, int64_t n) {
  switch (op) {
    case Op::Add:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
      break;
    case Op::Sub:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] - b[i];
      break;
    case Op::Mul:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
      break;
    case Op::Div:
#pragma omp parallel for simd schedule(static) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] / b[i];
      break;
    case Op::Relu:
      break;
  }
}

// y = a op b where one operand repeats with period m (a row or a scalar broadcast
// over the leading dims): rows of m, each a vector loop.
__attribute__((target_clones("avx512f", "avx2", "default"))) void broadcast_f32(Op op, const float* a, bool a_full,
                                                                                const float* b, bool b_full, float* y,
                                                                                int64_t n, int64_t m) {
  int64_t rows = n / m;
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = a_full ? a + r * m : a;
    const float* br = b_full ? b + r * m : b;
    float* yr = y + r * m;
    if (m == 1) {  // scalar operand: one value for the row
      float av = ar[0], bv = br[0];
      yr[0] = op == Op::Add ? av + bv : op == Op::Sub ? av - bv : op == Op::Mul ? av * bv : av / bv;
      continue;
    }
    switch (op) {
      case Op::Add:
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) yr[j] = ar[j] + br[j];
        break;
      case Op::Sub:
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) yr[j] = ar[j] - br[j];
        break;
      case Op::Mul:
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) yr[j] = ar[j] * br[j];
        break;
      case Op::Div:
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) yr[j] = ar[j] / br[j];
        break;
      case Op::Relu:
        break;
    }
  }
}

// Scalar broadcast as a full-length loop (the period-1 case above is per element).
__attribute__((target_clones("avx512f", "avx2", "default"))) void scalar_f32(Op op, const float* a, bool a_scalar,
                                                                             const float* b, float* y, int64_t n) {
  if (a_scalar) {
    float av = a[0];
#pragma omp parallel for simd schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i)
      y[i] = op == Op::Add ? av + b[i] : op == Op::Sub ? av - b[i] : op == Op::Mul ? av * b[i] : av / b[i];
  } else {
    float bv = b[0];
#pragma omp parallel for simd schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i)
      y[i] = op == Op::Add ? a[i] + bv : op == Op::Sub ? a[i] - bv : op == Op::Mul ? a[i] * bv : a[i] / bv;
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

bool lower_broadcast(Program& p, const Node& node, Op op, const Dims& yd) {
  if (op == Op::Relu || node.op_version < 7) return false;  // before 7: legacy axis broadcasting
  auto ad = p.dims_of(node.inputs[0]), bd = p.dims_of(node.inputs[1]);
  if (!ad || !bd) return false;
  int64_t n = element_count(yd);
  int64_t pa = suffix_period(*ad, yd), pb = suffix_period(*bd, yd);
  if (pa == 0 || pb == 0 || (pa != n && pb != n)) return false;
  bool a_full = pa == n, b_full = pb == n;
  int64_t m = a_full ? pb : pa;
  int a = p.plain(node.inputs[0]), b = p.plain(node.inputs[1]);
  MemRef out = p.define(node.outputs[0], plain_md(yd));
  Step s;
  s.label = node.label();
  s.args.push_back({0, out});
  s.uses = {a, b};
  s.fn = [&p, op, a, b, out, a_full, b_full, n, m] {
    auto* y = static_cast<float*>(p.tensor_data(out.tensor));
    auto* av = static_cast<const float*>(p.tensor_data(a));
    auto* bv = static_cast<const float*>(p.tensor_data(b));
    if (m == 1 && !(a_full && b_full))
      scalar_f32(op, av, !a_full, bv, y, n);
    else
      broadcast_f32(op, av, a_full, bv, b_full, y, n, m);
  };
  p.add_step(std::move(s));
  return true;
}

void* ref_data(Program& p, const MemRef& r) {
  return r.buffer >= 0 ? p.buffer_data(r.buffer) : p.tensor_data(r.tensor);
}

}  // namespace

bool lower_elementwise(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1) return false;
  Op op;
  if (node.op_type == "Relu")
    op = Op::Relu;
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
  size_t arity = op == Op::Relu ? 1 : 2;
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
  // Layout: that of the first input in oneDNN f32 form, else plain.
  dnnl::memory::desc md = plain_md(*yd);
  for (const auto& in : node.inputs)
    if (auto f = p.dnnl_form(in); f && f->md.data_type() == dnnl::memory::data_type::f32) {
      md = f->md;
      break;
    }
  std::vector<MemRef> ins;
  for (const auto& in : node.inputs) ins.push_back(p.operand(in, md));
  MemRef out = p.define(node.outputs[0], md);
  int64_t n = int64_t(md.get_size() / sizeof(float));
  Step s;
  s.label = node.label();
  // Operands are listed as arguments only for liveness and tensor allocation.
  s.args.push_back({0, out});
  for (size_t i = 0; i < ins.size(); ++i) s.args.push_back({int(i) + 1, ins[i]});
  s.fn = [&p, op, ins, out, n] {
    auto* y = static_cast<float*>(ref_data(p, out));
    auto* a = static_cast<const float*>(ref_data(p, ins[0]));
    if (op == Op::Relu)
      relu_f32(a, y, n);
    else
      binary_f32(op, a, static_cast<const float*>(ref_data(p, ins[1])), y, n);
  };
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
