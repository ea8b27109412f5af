// LSTM (ONNX v7/v14, src/ops/recurrent.cpp) in fp32 for the common inference form: one forward
// direction, layout 0, the default activations (Sigmoid, Tanh, Tanh), no peepholes, clip, input_forget
// or sequence_lens. Per step and batch row the four gate pre-activations are one pass over the rows of
// W (4H x I) and R (4H x H) with the dot products vectorized (isa_dispatch); the cell update follows.
// Streaming models (Silero VAD) run a step or a few per call, where the reference kernel's conversion
// of every weight to double each run was most of the model's time.
#include "backends/cpu/lstm_kernel.h"

#include <cmath>
#include <vector>

#include "backends/cpu/isa_dispatch.h"
#include "backends/cpu/program.h"

namespace wafer::cpu {

namespace {

struct LstmJob {
  const float *x = nullptr, *w = nullptr, *r = nullptr, *b = nullptr, *h0 = nullptr, *c0 = nullptr;
  float *y = nullptr, *yh = nullptr, *yc = nullptr;
  int64_t steps = 0, batch = 0, input = 0, hidden = 0;
};

[[gnu::always_inline]] inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

[[gnu::always_inline]] inline float sigmoid(float v) {
  return 1.0f / (1.0f + std::exp(-v));
}

// gates: 4H scratch; h, c: the batch row's state, updated in place.
[[gnu::always_inline]] inline void lstm_step_body(const LstmJob* j, const float* x, float* h, float* c, float* gates) {
  const int64_t H = j->hidden, I = j->input;
  for (int64_t g = 0; g < 4 * H; ++g) {
    float bias = j->b ? j->b[g] + j->b[4 * H + g] : 0.0f;
    gates[g] = bias + dot(x, j->w + g * I, I) + dot(h, j->r + g * H, H);
  }
  // Gate order i, o, f, c (ONNX).
  for (int64_t k = 0; k < H; ++k) {
    float i = sigmoid(gates[k]), o = sigmoid(gates[H + k]), f = sigmoid(gates[2 * H + k]);
    float cell = f * c[k] + i * std::tanh(gates[3 * H + k]);
    c[k] = cell;
    h[k] = o * std::tanh(cell);
  }
}

void lstm_step(const LstmJob* j, const float* x, float* h, float* c, float* gates) {
  isa_dispatch<lstm_step_body>(j, x, h, c, gates);
}

void run_lstm(const LstmJob& j) {
  const int64_t H = j.hidden;
  std::vector<float> h(size_t(j.batch * H), 0.0f), c(size_t(j.batch * H), 0.0f), gates(size_t(4 * H));
  if (j.h0) std::copy(j.h0, j.h0 + j.batch * H, h.begin());
  if (j.c0) std::copy(j.c0, j.c0 + j.batch * H, c.begin());
  for (int64_t t = 0; t < j.steps; ++t)
    for (int64_t b = 0; b < j.batch; ++b) {
      float* hb = h.data() + b * H;
      lstm_step(&j, j.x + (t * j.batch + b) * j.input, hb, c.data() + b * H, gates.data());
      if (j.y) std::copy(hb, hb + H, j.y + (t * j.batch + b) * H);  // Y [T, 1, B, H]
    }
  if (j.yh) std::copy(h.begin(), h.end(), j.yh);
  if (j.yc) std::copy(c.begin(), c.end(), j.yc);
}

bool default_form(const Node& node) {
  if (node.attr_string("direction", "forward") != "forward" || node.attr_int("layout", 0) != 0 ||
      node.attr_int("input_forget", 0) != 0 || node.has_attr("clip"))
    return false;
  if (node.has_attr("activations")) {
    auto acts = node.attr_strings("activations");
    if (acts != std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}) return false;
  }
  return !node.has_input(4) && !node.has_input(7);  // sequence_lens, peepholes
}

}  // namespace

bool lower_lstm(Program& p, const Node& node) {
  if (!node.domain.empty() || node.op_type != "LSTM" || node.inputs.size() < 3 || !default_form(node)) return false;
  for (size_t i = 0; i < node.inputs.size(); ++i)
    if (node.has_input(i) && i != 4 && p.dtype_of_value(node.inputs[i]) != DType::Float32) return false;
  auto xd = p.dims_of(node.inputs[0]), wd = p.dims_of(node.inputs[1]), rd = p.dims_of(node.inputs[2]);
  if (!xd || !wd || !rd || xd->size() != 3 || wd->size() != 3 || rd->size() != 3) return false;
  LstmJob job;
  job.steps = (*xd)[0];
  job.batch = (*xd)[1];
  job.input = (*xd)[2];
  job.hidden = node.has_attr("hidden_size") ? node.attr_int("hidden_size") : (*rd)[2];
  const int64_t H = job.hidden;
  if ((*wd) != Dims{1, 4 * H, job.input} || (*rd) != Dims{1, 4 * H, H}) return false;
  const Dims state{1, job.batch, H};
  auto has = [&](size_t i) { return node.has_input(i); };
  if (has(3) && p.dims_of(node.inputs[3]) != Dims{1, 8 * H}) return false;
  if (has(5) && p.dims_of(node.inputs[5]) != state) return false;
  if (has(6) && p.dims_of(node.inputs[6]) != state) return false;
  auto out = [&](size_t i) { return i < node.outputs.size() && !node.outputs[i].empty(); };
  const Dims ydims{job.steps, 1, job.batch, H};
  if ((out(0) && p.dims_of(node.outputs[0]) != ydims) || (out(1) && p.dims_of(node.outputs[1]) != state) ||
      (out(2) && p.dims_of(node.outputs[2]) != state))
    return false;

  std::vector<MemRef> ins(8, MemRef{}), outs(3, MemRef{});
  for (size_t i : {0, 1, 2, 3, 5, 6})
    if (has(i)) ins[i] = p.operand(node.inputs[i], plain_md(*p.dims_of(node.inputs[i])));
  const Dims out_dims[3] = {ydims, state, state};
  for (size_t i = 0; i < 3; ++i)
    if (out(i)) outs[i] = p.define(node.outputs[i], plain_md(out_dims[i]));
  Step st;
  st.label = node.label();
  st.node = &node;
  st.kernel = "lstm";
  int arg = 0;
  for (size_t i = 0; i < 3; ++i)
    if (out(i)) st.args.push_back({arg++, outs[i]});
  for (size_t i : {0, 1, 2, 3, 5, 6})
    if (has(i)) st.args.push_back({arg++, ins[i]});
  st.fn = [&p, job, ins, outs, present = std::vector<bool>{has(3), has(5), has(6), out(0), out(1), out(2)}]() mutable {
    auto in = [&](size_t i) { return static_cast<const float*>(p.data(ins[i])); };
    job.x = in(0);
    job.w = in(1);
    job.r = in(2);
    job.b = present[0] ? in(3) : nullptr;
    job.h0 = present[1] ? in(5) : nullptr;
    job.c0 = present[2] ? in(6) : nullptr;
    job.y = present[3] ? static_cast<float*>(p.data(outs[0])) : nullptr;
    job.yh = present[4] ? static_cast<float*>(p.data(outs[1])) : nullptr;
    job.yc = present[5] ? static_cast<float*>(p.data(outs[2])) : nullptr;
    run_lstm(job);
  };
  p.add_step(std::move(st));
  return true;
}

}  // namespace wafer::cpu
