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
    case Op::Relu: break;
  }
}

void* ref_data(Program& p, const MemRef& r) { return r.buffer >= 0 ? p.buffer_data(r.buffer) : p.tensor_data(r.tensor); }

}  // namespace

bool lower_elementwise(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1) return false;
  Op op;
  if (node.op_type == "Relu") op = Op::Relu;
  else if (node.op_type == "Add") op = Op::Add;
  else if (node.op_type == "Sub") op = Op::Sub;
  else if (node.op_type == "Mul") op = Op::Mul;
  else if (node.op_type == "Div") op = Op::Div;
  else return false;
  size_t arity = op == Op::Relu ? 1 : 2;
  if (node.inputs.size() != arity) return false;
  auto yd = p.dims_of(node.outputs[0]);
  if (!yd) return false;
  for (const auto& in : node.inputs)
    if (p.dtype_of_value(in) != DType::Float32 || p.dims_of(in) != yd) return false;
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
    if (op == Op::Relu) relu_f32(a, y, n);
    else binary_f32(op, a, static_cast<const float*>(ref_data(p, ins[1])), y, n);
  };
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
