// wafer.RotaryEmbedding (src/ops/rotary.cpp) on plain fp32 operands: per row of the last axis, the cos and
// sin rows found through their broadcast strides, the two halves rotated in one pass (the loops
// vectorize). Rows are spread over the OpenMP pool when there are enough of them (a prefill; a decode
// step's few rows run on the calling thread).
#include <omp.h>

#include "backends/cpu/program.h"
#include "backends/cpu/threading.h"

namespace wafer::cpu {

namespace {

struct RotaryJob {
  const float *x = nullptr, *cos = nullptr, *sin = nullptr;
  float* y = nullptr;
  Dims rows_dims;           // X's dims without the last
  Dims cos_rows, sin_rows;  // element strides of cos/sin per row dim (0 where broadcast)
  int64_t rows = 0, d = 0;
  int threads = 1;
};

// Element offset of row r's first element in a broadcast operand.
int64_t row_offset(const Dims& dims, const Dims& strides, int64_t r) {
  int64_t off = 0;
  for (size_t i = dims.size(); i-- > 0;) {
    off += (r % dims[i]) * strides[i];
    r /= dims[i];
  }
  return off;
}

void run_rotary(const RotaryJob& j) {
  const int64_t h = j.d / 2;
#pragma omp parallel for schedule(static) num_threads(j.threads) if (j.rows * j.d > 65536)
  for (int64_t r = 0; r < j.rows; ++r) {
    const float* x = j.x + r * j.d;
    const float* c = j.cos + row_offset(j.rows_dims, j.cos_rows, r);
    const float* s = j.sin + row_offset(j.rows_dims, j.sin_rows, r);
    float* y = j.y + r * j.d;
#pragma omp simd
    for (int64_t i = 0; i < h; ++i) y[i] = x[i] * c[i] - x[i + h] * s[i];
#pragma omp simd
    for (int64_t i = h; i < j.d; ++i) y[i] = x[i] * c[i] + x[i - h] * s[i];
  }
}

// Strides per row dim of a row-major operand of dims `t` broadcast to rows `rows` (+ a last axis of d).
std::optional<Dims> row_strides(const Dims& t, const Dims& rows, int64_t d) {
  if (t.empty() || t.back() != d || t.size() > rows.size() + 1) return std::nullopt;
  Dims strides(rows.size(), 0);
  int64_t stride = d;
  for (size_t i = 1; i < t.size(); ++i) {
    int64_t dim = t[t.size() - 1 - i];
    size_t at = rows.size() - i;
    if (dim != 1 && dim != rows[at]) return std::nullopt;
    strides[at] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  return strides;
}

}  // namespace

bool lower_rotary(Program& p, const Node& node) {
  if (node.domain != "wafer" || node.op_type != "RotaryEmbedding" || node.inputs.size() != 3 ||
      node.outputs.size() != 1)
    return false;
  const std::string &x = node.inputs[0], &y = node.outputs[0];
  auto xd = p.dims_of(x), cd = p.dims_of(node.inputs[1]), sd = p.dims_of(node.inputs[2]);
  if (!xd || !cd || !sd || xd->empty() || p.dims_of(y) != xd) return false;
  for (const auto& v : node.inputs)
    if (p.dtype_of_value(v) != DType::Float32) return false;
  RotaryJob job;
  job.d = xd->back();
  if (job.d % 2 != 0) return false;
  job.rows_dims = Dims(xd->begin(), xd->end() - 1);
  job.rows = element_count(job.rows_dims);
  auto cs = row_strides(*cd, job.rows_dims, job.d), ss = row_strides(*sd, job.rows_dims, job.d);
  if (!cs || !ss) return false;
  job.cos_rows = *cs;
  job.sin_rows = *ss;
  job.threads = std::max(1, current_threads());
  MemRef in = p.operand(x, plain_md(*xd)), c = p.operand(node.inputs[1], plain_md(*cd)),
         s = p.operand(node.inputs[2], plain_md(*sd));
  MemRef out = p.define(y, plain_md(*xd));
  Step st;
  st.label = node.label();
  st.node = &node;
  st.kernel = "rotary";
  st.args = {{0, out}, {1, in}, {2, c}, {3, s}};
  st.fn = [&p, job, in, c, s, out]() mutable {
    job.x = static_cast<const float*>(p.data(in));
    job.cos = static_cast<const float*>(p.data(c));
    job.sin = static_cast<const float*>(p.data(s));
    job.y = static_cast<float*>(p.data(out));
    run_rotary(job);
  };
  p.add_step(std::move(st));
  return true;
}

}  // namespace wafer::cpu
