// Functional executor: the GEMM views of Conv (im2col, per group), Gemm and
// MatMul (per broadcast batch) run through the program's tiles.
#include "npu/functional.h"

#include <algorithm>
#include <map>

#include "backends/reference/interpreter.h"
#include "core/error.h"
#include "ir/op_registry.h"
#include "npu/compiler_ops.h"

namespace wafer::npu {

namespace {

std::vector<float> floats_of(const Tensor& t) {
  Tensor f = t.dtype() == DType::Float32 ? t : t.cast(DType::Float32);
  auto v = f.values<float>();
  return {v.begin(), v.end()};
}

void round_to(std::vector<float>& v, DType precision) {
  if (precision == DType::BFloat16)
    for (float& x : v) x = float(BFloat16(x));
  else if (precision == DType::Float16)
    for (float& x : v) x = float(Float16(x));
}

int64_t prod(const Dims& d, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < d.size(); ++i) p *= d[i];
  return p;
}

// Runs the layer's tiles of group `g` on A[M,K] x B[K,N] into C[M,N] and checks
// that they cover every output element's reduction exactly once.
void run_tiles(const Layer& l, const std::vector<const Instr*>& tiles, int64_t g, const std::vector<float>& A,
               const std::vector<float>& B, std::vector<float>& C) {
  const int64_t M = l.gemm_m, K = l.gemm_k, N = l.gemm_n;
  C.assign(size_t(M * N), 0.0f);
  std::vector<int64_t> cover(size_t(M * N), 0);
  for (const Instr* t : tiles) {
    if (t->group != g) continue;
    for (int64_t m = t->m0; m < t->m1; ++m) {
      float* c = C.data() + m * N;
      int64_t* cv = cover.data() + m * N;
      for (int64_t n = t->n0; n < t->n1; ++n) cv[n] += t->k1 - t->k0;
      for (int64_t k = t->k0; k < t->k1; ++k) {
        const float a = A[size_t(m * K + k)];
        const float* b = B.data() + k * N;
        for (int64_t n = t->n0; n < t->n1; ++n) c[n] += a * b[n];
      }
    }
  }
  for (size_t i = 0; i < cover.size(); ++i)
    if (cover[i] != K)
      fail("npu: internal error: the tiles of layer ", l.name, " cover output element ", i, " of group ", g, " over ",
           cover[i], " of ", K, " reduction steps");
}

Tensor finish(const std::vector<float>& y, Dims dims, DType dtype) {
  Tensor t = Tensor::from_vector<float>(std::move(dims), y);
  return dtype == DType::Float32 ? t : t.cast(dtype);
}

Tensor run_conv(const Node& node, const Graph& graph, const Layer& l, const std::vector<const Instr*>& tiles,
                const std::vector<const Tensor*>& in, DType precision) {
  const Tensor& X = *in.at(0);
  const Tensor& W = *in.at(1);
  const Dims& xd = X.dims();
  const Dims& wd = W.dims();
  Dims yd = graph.type_of(node.outputs[0])->shape.concrete();
  const size_t sd = xd.size() - 2;
  const int64_t G = l.groups, Nb = xd[0], C = xd[1], Cg = wd[1], OC = wd[0], OCg = OC / G;
  check(Cg * G == C, node.label(), ": input channels ", C, " do not match weights ", Cg, " x group ", G);
  std::vector<int64_t> S(xd.begin() + 2, xd.end()), Kk(wd.begin() + 2, wd.end()), O(yd.begin() + 2, yd.end());
  auto strides = node.attr_ints("strides", std::vector<int64_t>(sd, 1));
  auto dil = node.attr_ints("dilations", std::vector<int64_t>(sd, 1));
  auto pads = node.attr_ints("pads", std::vector<int64_t>(2 * sd, 0));
  std::string auto_pad = node.attr_string("auto_pad", std::string("NOTSET"));
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")
    for (size_t j = 0; j < sd; ++j) {
      int64_t total = std::max<int64_t>(0, (O[j] - 1) * strides[j] + (Kk[j] - 1) * dil[j] + 1 - S[j]);
      pads[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    }
  else if (auto_pad == "VALID")
    std::fill(pads.begin(), pads.end(), 0);
  const int64_t P = prod(O, 0), KS = prod(Kk, 0), M = Nb * P, K = Cg * KS;
  check(M == l.gemm_m && K == l.gemm_k && OCg == l.gemm_n, node.label(), ": GEMM view does not match the program");
  std::vector<float> x = floats_of(X), w = floats_of(W);
  round_to(x, precision);
  round_to(w, precision);
  // Kernel offsets and output positions as multi-indices, precomputed once.
  std::vector<int64_t> kpos(size_t(KS * int64_t(sd))), opos(size_t(P * int64_t(sd)));
  for (int64_t i = 0; i < KS; ++i)
    for (int64_t r = i, j = int64_t(sd) - 1; j >= 0; --j)
      kpos[size_t(i * int64_t(sd) + j)] = r % Kk[size_t(j)], r /= Kk[size_t(j)];
  for (int64_t i = 0; i < P; ++i)
    for (int64_t r = i, j = int64_t(sd) - 1; j >= 0; --j)
      opos[size_t(i * int64_t(sd) + j)] = r % O[size_t(j)], r /= O[size_t(j)];
  const int64_t spatial = prod(S, 0);
  std::vector<float> y(size_t(Nb * OC * P), 0.0f), A(size_t(M * K)), B(size_t(K * OCg)), Cm;
  std::vector<float> bias;
  if (in.size() > 2 && in[2]) bias = floats_of(*in[2]);
  for (int64_t g = 0; g < G; ++g) {
    for (int64_t m = 0; m < M; ++m) {
      const int64_t n = m / P, p = m % P;
      float* arow = A.data() + m * K;
      for (int64_t kp = 0; kp < KS; ++kp) {
        int64_t off = 0;
        bool inside = true;
        for (size_t j = 0; j < sd && inside; ++j) {
          int64_t c =
              opos[size_t(p * int64_t(sd)) + j] * strides[j] - pads[j] + kpos[size_t(kp * int64_t(sd)) + j] * dil[j];
          inside = c >= 0 && c < S[j];
          off = off * S[j] + c;
        }
        for (int64_t c = 0; c < Cg; ++c)
          arow[c * KS + kp] = inside ? x[size_t((n * C + g * Cg + c) * spatial + off)] : 0.0f;
      }
    }
    for (int64_t k = 0; k < K; ++k)
      for (int64_t oc = 0; oc < OCg; ++oc) B[size_t(k * OCg + oc)] = w[size_t((g * OCg + oc) * K + k)];
    run_tiles(l, tiles, g, A, B, Cm);
    for (int64_t m = 0; m < M; ++m) {
      const int64_t n = m / P, p = m % P;
      for (int64_t oc = 0; oc < OCg; ++oc) {
        const int64_t ch = g * OCg + oc;
        y[size_t((n * OC + ch) * P + p)] = Cm[size_t(m * OCg + oc)] + (bias.empty() ? 0.0f : bias[size_t(ch)]);
      }
    }
  }
  return finish(y, yd, X.dtype());
}

Tensor run_gemm(const Node& node, const Layer& l, const std::vector<const Instr*>& tiles,
                const std::vector<const Tensor*>& in, DType precision) {
  const Tensor& At = *in.at(0);
  const Tensor& Bt = *in.at(1);
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  const int64_t M = l.gemm_m, K = l.gemm_k, N = l.gemm_n;
  std::vector<float> a = floats_of(At), b = floats_of(Bt), A(size_t(M * K)), B(size_t(K * N)), Cm;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) A[size_t(m * K + k)] = ta ? a[size_t(k * M + m)] : a[size_t(m * K + k)];
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) B[size_t(k * N + n)] = tb ? b[size_t(n * K + k)] : b[size_t(k * N + n)];
  round_to(A, precision);
  round_to(B, precision);
  run_tiles(l, tiles, 0, A, B, Cm);
  std::vector<float> y(size_t(M * N));
  std::vector<float> c;
  int64_t cr = 1, cc = 1;
  if (in.size() > 2 && in[2]) {
    c = floats_of(*in[2]);
    Dims cd = in[2]->dims();
    while (cd.size() < 2) cd.insert(cd.begin(), 1);
    check(cd.size() == 2 && (cd[0] == 1 || cd[0] == M) && (cd[1] == 1 || cd[1] == N), node.label(), ": C of shape ",
          dims_to_string(in[2]->dims()), " does not broadcast to [", M, ",", N, "]");
    cr = cd[0], cc = cd[1];
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float v = alpha * Cm[size_t(m * N + n)];
      if (!c.empty()) v += beta * c[size_t((cr == 1 ? 0 : m) * cc + (cc == 1 ? 0 : n))];
      y[size_t(m * N + n)] = v;
    }
  return finish(y, {M, N}, At.dtype());
}

Tensor run_matmul(const Node& node, const Graph& graph, const Layer& l, const std::vector<const Instr*>& tiles,
                  const std::vector<const Tensor*>& in, DType precision) {
  const Tensor& At = *in.at(0);
  const Tensor& Bt = *in.at(1);
  Dims ad = At.dims(), bd = Bt.dims();
  if (bd.size() <= 2 && ad.size() > 2) ad = {prod(Dims(ad.begin(), ad.end() - 1)), ad.back()};  // as compiled
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  const int64_t M = ad[ad.size() - 2], K = ad.back(), N = bd.back();
  check(bd[bd.size() - 2] == K && M == l.gemm_m && K == l.gemm_k && N == l.gemm_n, node.label(),
        ": GEMM view does not match the program");
  Dims abatch(ad.begin(), ad.end() - 2), bbatch(bd.begin(), bd.end() - 2);
  const size_t br = std::max(abatch.size(), bbatch.size());
  while (abatch.size() < br) abatch.insert(abatch.begin(), 1);
  while (bbatch.size() < br) bbatch.insert(bbatch.begin(), 1);
  Dims obatch(br);
  for (size_t i = 0; i < br; ++i) {
    check(abatch[i] == bbatch[i] || abatch[i] == 1 || bbatch[i] == 1, node.label(), ": batch dims do not broadcast");
    obatch[i] = std::max(abatch[i], bbatch[i]);
  }
  const int64_t G = prod(obatch);
  check(G == l.groups, node.label(), ": batch count does not match the program");
  std::vector<float> a = floats_of(At), b = floats_of(Bt), A, B, Cm, y(size_t(G * M * N));
  round_to(a, precision);
  round_to(b, precision);
  for (int64_t g = 0; g < G; ++g) {
    // Offsets by row-major strides of the broadcast batch dims.
    int64_t rem = g, astride = 1, bstride = 1, ao = 0, bo = 0;
    for (int64_t i = int64_t(br) - 1; i >= 0; --i) {
      int64_t idx = rem % obatch[size_t(i)];
      rem /= obatch[size_t(i)];
      if (abatch[size_t(i)] != 1) ao += idx * astride;
      if (bbatch[size_t(i)] != 1) bo += idx * bstride;
      astride *= abatch[size_t(i)];
      bstride *= bbatch[size_t(i)];
    }
    A.assign(a.begin() + ao * M * K, a.begin() + (ao + 1) * M * K);
    B.assign(b.begin() + bo * K * N, b.begin() + (bo + 1) * K * N);
    run_tiles(l, tiles, g, A, B, Cm);
    std::copy(Cm.begin(), Cm.end(), y.begin() + g * M * N);
  }
  Dims yd = graph.type_of(node.outputs[0])->shape.concrete();
  return finish(y, yd, At.dtype());
}

}  // namespace

std::vector<Tensor> run_functional(const Graph& graph, const Program& prog, const std::vector<Tensor>& inputs) {
  check(inputs.size() == graph.inputs.size(), "npu: graph has ", graph.inputs.size(), " input(s), got ", inputs.size());
  check(prog.layers.size() == graph.nodes.size(), "npu: program has ", prog.layers.size(), " layers for ",
        graph.nodes.size(), " nodes");
  check(prog.repeats.empty() &&
            std::all_of(prog.instrs.begin(), prog.instrs.end(), [](const Instr& in) { return in.replicas == 1; }),
        "npu: the program was compiled for timing (a representative tile per wave, repeated waves folded); the "
        "functional executor needs every tile (NpuCompileOptions::for_execution)");
  std::vector<std::vector<const Instr*>> tiles(prog.layers.size());
  for (const Instr& in : prog.instrs)
    if (in.kind == OpKind::MatMul) tiles.at(size_t(in.layer)).push_back(&in);

  std::map<std::string, Tensor> scope(graph.initializers.begin(), graph.initializers.end());
  for (size_t i = 0; i < inputs.size(); ++i) scope[graph.inputs[i]] = inputs[i];
  // Last reader of each value, so intermediate tensors are freed early.
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& in : graph.nodes[i]->inputs) last[in] = i;
  for (const auto& o : graph.outputs) last[o] = graph.nodes.size();

  Interpreter subgraphs;
  const auto& registry = OpRegistry::global();
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = *graph.nodes[i];
    const Layer& l = prog.layers[i];
    check(l.name == node.name, "npu: layer ", i, " is ", l.name, ", node is ", node.name);
    std::vector<const Tensor*> ins;
    for (const auto& in : node.inputs) {
      if (in.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      auto it = scope.find(in);
      if (it == scope.end()) fail(node.label(), ": input '", in, "' has no value");
      ins.push_back(&it->second);
    }
    std::vector<Tensor> outs;
    if (l.unit == "matrix") {
      if (node.op_type == "Conv")
        outs.push_back(run_conv(node, graph, l, tiles[i], ins, prog.precision));
      else if (node.op_type == "Gemm")
        outs.push_back(run_gemm(node, l, tiles[i], ins, prog.precision));
      else if (node.op_type == "MatMul")
        outs.push_back(run_matmul(node, graph, l, tiles[i], ins, prog.precision));
      else
        fail("npu: no functional GEMM for matrix layer ", node.label());
    } else {
      const OpSchema* schema = registry.find(node);
      if (!schema || !schema->kernel) throw UnsupportedError(node.label() + ": no reference kernel");
      KernelContext ctx{node, ins, &subgraphs};
      outs = schema->kernel(ctx);
    }
    for (size_t o = 0; o < node.outputs.size() && o < outs.size(); ++o)
      if (!node.outputs[o].empty()) scope[node.outputs[o]] = std::move(outs[o]);
    for (const auto& in : node.inputs) {
      auto it = last.find(in);
      if (it != last.end() && it->second == i && !graph.is_initializer(in)) scope.erase(in);
    }
  }
  std::vector<Tensor> results;
  for (const auto& o : graph.outputs) {
    auto it = scope.find(o);
    check(it != scope.end(), "npu: output '", o, "' was not produced");
    results.push_back(it->second);
  }
  return results;
}

}  // namespace wafer::npu
