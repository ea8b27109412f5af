// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2 and
// ReduceSumSquare (float32, constant axes) on oneDNN's reduction primitive. The
// source is read in the layout its producer left; the result is plain (with
// keepdims=0 the same bytes under the output's dims).
#include <algorithm>
#include <optional>

#include "backends/cpu/program.h"

namespace wafer::cpu {

using dnnl::algorithm;
using dnnl::memory;

namespace {

struct Reduction {
  algorithm alg;
  float p = 0;  // the norm's power (norm_lp_*)
};

std::optional<Reduction> reduction_of(const std::string& op) {
  if (op == "ReduceSum") return Reduction{algorithm::reduction_sum};
  if (op == "ReduceMean") return Reduction{algorithm::reduction_mean};
  if (op == "ReduceMax") return Reduction{algorithm::reduction_max};
  if (op == "ReduceMin") return Reduction{algorithm::reduction_min};
  if (op == "ReduceProd") return Reduction{algorithm::reduction_mul};
  if (op == "ReduceL1") return Reduction{algorithm::reduction_norm_lp_power_p_sum, 1.f};  // sum |x|
  if (op == "ReduceL2") return Reduction{algorithm::reduction_norm_lp_sum, 2.f};          // sqrt(sum x^2)
  if (op == "ReduceSumSquare") return Reduction{algorithm::reduction_norm_lp_power_p_sum, 2.f};
  return std::nullopt;
}

// The reduced axes (normalized; all of them when none are given), or nullopt when they are not
// constants or the node reduces nothing (noop_with_empty_axes).
std::optional<std::vector<bool>> reduced_axes(const Program& p, const Node& node, size_t rank) {
  std::vector<int64_t> axes;
  if (node.has_attr("axes")) {
    axes = node.attr_ints("axes");
  } else if (node.has_input(1)) {
    const Tensor* t = p.graph().initializer(node.inputs[1]);
    if (!t || (t->dtype() != DType::Int64 && t->dtype() != DType::Int32)) return std::nullopt;
    axes = t->to_int_vector();
  }
  std::vector<bool> reduced(rank, axes.empty());
  if (axes.empty() && node.attr_int("noop_with_empty_axes", 0) != 0) return std::nullopt;
  for (int64_t a : axes) {
    if (a < -int64_t(rank) || a >= int64_t(rank)) return std::nullopt;  // the reference kernel reports it
    reduced[size_t(a < 0 ? a + int64_t(rank) : a)] = true;
  }
  return reduced;
}

// The reduced axes as one run [first, last] over a plain tensor: x viewed as [outer, reduced, inner].
struct MiddleRun {
  int64_t outer = 1, reduced = 1, inner = 1;
};
std::optional<MiddleRun> middle_run(const Dims& dims, const std::vector<bool>& reduced) {
  size_t first = reduced.size(), last = 0;
  for (size_t a = 0; a < reduced.size(); ++a)
    if (reduced[a]) first = std::min(first, a), last = a;
  if (first == reduced.size()) return std::nullopt;
  MiddleRun m;
  for (size_t a = 0; a < dims.size(); ++a) {
    if (a >= first && a <= last && !reduced[a]) return std::nullopt;  // not one run
    (a < first ? m.outer : a > last ? m.inner : m.reduced) *= dims[a];
  }
  return m;
}

// Sum, mean, max or min over the middle of [outer, reduced, inner] where oneDNN 2.6 offers only its
// reference kernel (it vectorizes reductions of the innermost axes): the inner axis is the vector loop.
// Silero VAD's ReduceMean over the 129 frequency bins of a [1, 129, 24] spectrogram: 16 us as ref:any.
bool add_middle_reduction(Program& p, const Node& node, const MiddleRun& m, const Dims& out_dims) {
  const std::string& op = node.op_type;
  const int kind = op == "ReduceSum" ? 0 : op == "ReduceMean" ? 1 : op == "ReduceMax" ? 2 : op == "ReduceMin" ? 3 : -1;
  if (kind < 0 || m.reduced == 0) return false;
  const int x = p.plain(node.inputs[0]);
  MemRef dst = p.define(node.outputs[0], plain_md(out_dims));
  Step s;
  s.label = node.label();
  s.node = &node;
  s.kernel = "reduce";
  s.args.push_back({0, dst});
  s.uses = {x};
  s.fn = [&p, x, dst, m, kind] {
    const auto* in = static_cast<const float*>(p.tensor_data(x));
    auto* out = static_cast<float*>(p.data(dst));
    for (int64_t o = 0; o < m.outer; ++o) {
      float* y = out + o * m.inner;
      const float* r0 = in + o * m.reduced * m.inner;
      std::copy(r0, r0 + m.inner, y);
      for (int64_t r = 1; r < m.reduced; ++r) {
        const float* row = r0 + r * m.inner;
        for (int64_t i = 0; i < m.inner; ++i)
          y[i] = kind <= 1 ? y[i] + row[i] : kind == 2 ? std::max(y[i], row[i]) : std::min(y[i], row[i]);
      }
      if (kind == 1)
        for (int64_t i = 0; i < m.inner; ++i) y[i] /= float(m.reduced);
    }
  };
  p.add_step(std::move(s));
  return true;
}

}  // namespace

bool lower_reduce(Program& p, const Node& node) {
  if (!node.domain.empty() || node.outputs.size() != 1 || !node.has_input(0)) return false;
  auto red = reduction_of(node.op_type);
  if (!red) return false;
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x), yd = p.dims_of(y);
  if (!xd || !yd || xd->empty() || xd->size() > 6 || p.dtype_of_value(x) != DType::Float32) return false;
  auto reduced = reduced_axes(p, node, xd->size());
  if (!reduced) return false;
  Dims keep = *xd;
  for (size_t a = 0; a < keep.size(); ++a)
    if ((*reduced)[a]) keep[a] = 1;
  // The output is keep's dims, or the same without the reduced axes (keepdims=0).
  if (element_count(keep) != element_count(*yd) || element_count(*yd) == 0) return false;
  MemRef src = p.current(x);
  if (src.md.data_type() != memory::data_type::f32) src.md = with_type(src.md, memory::data_type::f32);
  auto make_pd = [&](const memory::desc& s) {
    return dnnl::reduction::primitive_desc(dnnl::reduction::desc(red->alg, s, plain_md(keep), red->p, 0.f), p.engine());
  };
  auto pd = make_pd(src.md);
  // Only oneDNN's reference kernel for this layout: read the plain form instead.
  auto is_ref = [](const auto& d) { return std::string(d.impl_info_str()).rfind("ref", 0) == 0; };
  if (is_ref(pd) && !is_plain(src.md, *xd)) pd = make_pd(plain_md(*xd));
  if (is_ref(pd)) {
    auto m = middle_run(*xd, *reduced);
    if (m && add_middle_reduction(p, node, *m, *yd)) return true;
  }
  src = p.operand(x, pd.src_desc());
  MemRef dst = p.define(y, plain_md(*yd));
  dst.md = plain_md(keep);
  Step s;
  s.label = node.label();
  s.node = &node;
  s.prim = dnnl::reduction(pd);
  s.args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  p.add_step(std::move(s));
  return true;
}

}  // namespace wafer::cpu
