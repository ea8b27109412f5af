// Element types of activations in bf16 mode. A value is kept in bf16 when the
// steps reading it take bf16 (a bf16 GEMM's A operand; our kernels and oneDNN
// reorders take either and convert in registers; so does the attention kernel,
// reading through its absorbed view chains), and in fp32 where a reader
// needs fp32 (reference kernels, graph outputs): each producer asks
// wanted_types() and writes that form, so no conversion step runs between them.
#include <algorithm>

#include "backends/cpu/program.h"

namespace wafer::cpu {

using dt = dnnl::memory::data_type;

namespace {

// Any: converts on the fly; F32: fp32 in any buffer; Tensor: the plain fp32 tensor.
enum class Want { Any, Bf16, F32, Tensor };

bool is_gemm(const Node& n) {
  return (n.domain.empty() && (n.op_type == "MatMul" || n.op_type == "Gemm")) ||
         (n.domain == "wafer" && n.op_type == "FusedMatMul");
}

// Readers whose steps convert any element type on the fly: our elementwise
// kernels (every operand), norm kernels and oneDNN convolutions (the data
// operand; convolution sources go through a reorder anyway).
bool takes_either(const Node& n, size_t input) {
  if (n.domain == "wafer") return n.op_type == "FusedConv" && input == 0;
  if (!n.domain.empty()) return false;
  static const char* const any_operand[] = {"Add", "Sub", "Mul", "Div", "Relu"};
  static const char* const data_operand[] = {"LayerNormalization", "Softmax", "Conv"};
  auto is = [&](const auto& ops) {
    return std::any_of(std::begin(ops), std::end(ops), [&](const char* op) { return n.op_type == op; });
  };
  return is(any_operand) || (input == 0 && is(data_operand));
}

}  // namespace

Program::Wanted Program::wanted_types(const std::string& v) const {
  Wanted w;
  w.f32 = w.tensor = !bf16_ || std::find(graph_->outputs.begin(), graph_->outputs.end(), v) != graph_->outputs.end();
  if (!bf16_) return w;
  auto it = consumers_.find(v);
  if (it == consumers_.end()) return w;
  for (const Node* n : it->second) {
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      if (n->inputs[i] != v) continue;
      Want want = Want::Tensor;
      if (takes_either(*n, i) || (absorbed_.count(n) && view_sources_.count(v)))
        want = Want::Any;
      else if (is_gemm(*n) && i == 0)
        want = Want::Bf16;  // the bf16 GEMM's source
      else if (is_gemm(*n) && i == 3 && !n->outputs.empty())
        want = gemm_dst_type(n->outputs[0], true) == dt::bf16 ? Want::Bf16 : Want::F32;  // residual: dst's type
      w.bf16 |= want == Want::Bf16;
      w.f32 |= want == Want::F32 || want == Want::Tensor;
      w.tensor |= want == Want::Tensor;
    }
  }
  return w;
}

dt Program::gemm_dst_type(const std::string& out, bool has_sum) const {
  if (!bf16_) return dt::f32;
  Wanted w = wanted_types(out);
  if (w.bf16) return dt::bf16;
  if (w.f32) return dt::f32;
  return has_sum && bf16_residual_f32_ ? dt::f32 : dt::bf16;
}

Program::PlainOut Program::define_plain_out(const std::string& v, bool inputs_bf16) {
  auto dims = dims_of(v);
  check(dims.has_value(), "cpu backend: value '", v, "' has no static shape");
  Wanted w = wanted_types(v);
  bool bf = bf16_ && (w.bf16 || (!w.f32 && inputs_bf16));
  PlainOut out;
  if (!bf || w.f32) out.f32 = define(v, plain_md(*dims));
  if (bf) {
    // The bf16 buffer becomes the value's oneDNN form; an fp32 form written by the
    // same step stays reachable (plain() and fp32 residuals then need no conversion).
    if (out.f32 && out.f32->buffer >= 0) f32_twin_[v] = *out.f32;
    dnnl::memory::desc md = plain_md(*dims, dt::bf16);
    out.bf16 = MemRef{md, new_buffer(md.get_size()), -1};
    dnnl_[v] = *out.bf16;
  }
  return out;
}

MemRef Program::plain_any(const std::string& v, bool prefer_f32) {
  auto dims = dims_of(v);
  check(dims.has_value(), "cpu backend: value '", v, "' has no static shape");
  if (auto it = f32_twin_.find(v); prefer_f32 && it != f32_twin_.end()) return it->second;
  if (auto it = plain_.find(v); prefer_f32 && it != plain_.end()) return MemRef{plain_md(*dims), -1, it->second};
  if (auto f = dnnl_form(v);
      f && is_plain(f->md, *dims) && (f->md.data_type() == dt::f32 || f->md.data_type() == dt::bf16))
    return *f;
  return MemRef{plain_md(*dims), -1, plain(v)};
}

}  // namespace wafer::cpu
