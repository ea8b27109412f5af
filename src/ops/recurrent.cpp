// RNN, GRU and LSTM (v7, v14): one direction at a time, one batch row at a
// time, so that per-row sequence_lens fall out naturally. Everything computes
// in double and is rounded to the input type at the end.
#include <cctype>
#include <cmath>

#include "ops/op_util.h"

namespace wafer {
namespace {

enum class Cell { Rnn, Gru, Lstm };

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(uint8_t(c)));
  return s;
}

struct Activation {
  std::string name;  // lower case
  double alpha = 0, beta = 0;

  double operator()(double x) const {
    if (name == "sigmoid") return 1 / (1 + std::exp(-x));
    if (name == "tanh") return std::tanh(x);
    if (name == "relu") return std::max(0.0, x);
    if (name == "affine") return alpha * x + beta;
    if (name == "leakyrelu") return x >= 0 ? x : alpha * x;
    if (name == "thresholdedrelu") return x > alpha ? x : 0;
    if (name == "scaledtanh") return alpha * std::tanh(beta * x);
    if (name == "hardsigmoid") return std::clamp(alpha * x + beta, 0.0, 1.0);
    if (name == "elu") return x >= 0 ? x : alpha * (std::exp(x) - 1);
    if (name == "softsign") return x / (1 + std::abs(x));
    if (name == "softplus") return std::log1p(std::exp(x));
    return x;  // unreachable: names are validated in parse_activations
  }
};

// Activation list with alphas/betas consumed in order by the functions that take them.
std::vector<Activation> parse_activations(const Node& node, Cell cell, int64_t dirs) {
  std::vector<std::string> defaults = cell == Cell::Rnn   ? std::vector<std::string>{"Tanh"}
                                      : cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                          : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<std::string> names;
  if (node.has_attr("activations")) {
    names = node.attr_strings("activations");
  } else {
    for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  }
  check(names.size() == defaults.size() * size_t(dirs), node.label(), ": expected ", defaults.size() * size_t(dirs),
        " activations, got ", names.size());
  std::vector<float> alphas = node.attr_floats("activation_alpha", std::vector<float>{});
  std::vector<float> betas = node.attr_floats("activation_beta", std::vector<float>{});
  size_t ai = 0, bi = 0;
  std::vector<Activation> acts;
  for (const auto& n : names) {
    Activation a{lower(n)};
    static const std::map<std::string, std::pair<double, double>> known = {
        {"sigmoid", {0, 0}},      {"tanh", {0, 0}},
        {"relu", {0, 0}},         {"affine", {1, 0}},
        {"leakyrelu", {0.01, 0}}, {"thresholdedrelu", {1, 0}},
        {"scaledtanh", {1, 1}},   {"hardsigmoid", {0.2, 0.5}},
        {"elu", {1, 0}},          {"softsign", {0, 0}},
        {"softplus", {0, 0}}};
    auto it = known.find(a.name);
    check(it != known.end(), node.label(), ": unknown activation '", n, "'");
    a.alpha = it->second.first;
    a.beta = it->second.second;
    bool takes_alpha = a.name == "affine" || a.name == "leakyrelu" || a.name == "thresholdedrelu" ||
                       a.name == "scaledtanh" || a.name == "hardsigmoid" || a.name == "elu";
    bool takes_beta = a.name == "affine" || a.name == "scaledtanh" || a.name == "hardsigmoid";
    if (takes_alpha && ai < alphas.size()) a.alpha = alphas[ai++];
    if (takes_beta && bi < betas.size()) a.beta = betas[bi++];
    acts.push_back(a);
  }
  return acts;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.get_double(i);
  return v;
}

int64_t gate_count(Cell c) {
  return c == Cell::Rnn ? 1 : c == Cell::Gru ? 3 : 4;
}

struct RecurrentOp {
  const KernelContext& ctx;
  Cell cell;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1, gates = 1;
  bool batch_first = false;
  std::string direction;
  std::optional<double> clip;
  bool linear_before_reset = false, input_forget = false;
  std::vector<Activation> acts;
  std::vector<double> x, w, r, b, h0, c0, p;
  std::vector<int64_t> lens;

  RecurrentOp(const KernelContext& c, Cell k) : ctx(c), cell(k), gates(gate_count(k)) {}

  void parse() {
    const Node& node = ctx.node;
    const Tensor& X = ctx.in(0);
    const Tensor& W = ctx.in(1);
    const Tensor& R = ctx.in(2);
    require_dtype(node, X.dtype(), {DType::Float32, DType::Float64, DType::Float16});
    check(W.dtype() == X.dtype() && R.dtype() == X.dtype(), node.label(), ": X, W and R must have the same type");
    batch_first = ctx.version() >= 14 && node.attr_int("layout", 0) != 0;
    check(X.rank() == 3, node.label(), ": X must be 3-D, got ", dims_to_string(X.dims()));
    seq = batch_first ? X.dim(1) : X.dim(0);
    batch = batch_first ? X.dim(0) : X.dim(1);
    input = X.dim(2);
    direction = node.attr_string("direction", "forward");
    check(direction == "forward" || direction == "reverse" || direction == "bidirectional", node.label(),
          ": unknown direction '", direction, "'");
    dirs = direction == "bidirectional" ? 2 : 1;
    check(R.rank() == 3, node.label(), ": R must be 3-D, got ", dims_to_string(R.dims()));
    hidden = node.attr_int("hidden_size", R.dim(2));
    check(hidden > 0, node.label(), ": hidden_size must be positive");
    auto expect_dims = [&](const Tensor& t, const Dims& d, const char* what) {
      check(t.dims() == d, node.label(), ": ", what, " must have shape ", dims_to_string(d), ", got ",
            dims_to_string(t.dims()));
    };
    expect_dims(W, {dirs, gates * hidden, input}, "W");
    expect_dims(R, {dirs, gates * hidden, hidden}, "R");
    x = to_doubles(X);
    w = to_doubles(W);
    r = to_doubles(R);
    b.assign(size_t(dirs * 2 * gates * hidden), 0.0);
    if (ctx.has(3)) {
      expect_dims(ctx.in(3), {dirs, 2 * gates * hidden}, "B");
      b = to_doubles(ctx.in(3));
    }
    lens.assign(size_t(batch), seq);
    if (ctx.has(4)) {
      expect_dims(ctx.in(4), {batch}, "sequence_lens");
      lens = ctx.in(4).to_int_vector();
      for (int64_t l : lens)
        check(l >= 0 && l <= seq, node.label(), ": sequence length ", l, " outside [0, ", seq, "]");
    }
    Dims state_dims = batch_first ? Dims{batch, dirs, hidden} : Dims{dirs, batch, hidden};
    h0.assign(size_t(dirs * batch * hidden), 0.0);
    if (ctx.has(5)) {
      expect_dims(ctx.in(5), state_dims, "initial_h");
      h0 = to_state_order(to_doubles(ctx.in(5)));
    }
    if (cell == Cell::Lstm) {
      c0.assign(h0.size(), 0.0);
      if (ctx.has(6)) {
        expect_dims(ctx.in(6), state_dims, "initial_c");
        c0 = to_state_order(to_doubles(ctx.in(6)));
      }
      p.assign(size_t(dirs * 3 * hidden), 0.0);
      if (ctx.has(7)) {
        expect_dims(ctx.in(7), {dirs, 3 * hidden}, "P");
        p = to_doubles(ctx.in(7));
      }
      input_forget = node.attr_int("input_forget", 0) != 0;
    }
    if (node.has_attr("clip")) {
      clip = node.attr_float("clip");
      check(*clip > 0, node.label(), ": clip must be positive");
    }
    if (cell == Cell::Gru) linear_before_reset = node.attr_int("linear_before_reset", 0) != 0;
    acts = parse_activations(node, cell, dirs);
  }

  // States arrive as [batch, dirs, H] with layout 1; work in [dirs, batch, H].
  std::vector<double> to_state_order(std::vector<double> v) const {
    if (!batch_first) return v;
    std::vector<double> o(v.size());
    for (int64_t bb = 0; bb < batch; ++bb)
      for (int64_t d = 0; d < dirs; ++d)
        for (int64_t j = 0; j < hidden; ++j)
          o[size_t((d * batch + bb) * hidden + j)] = v[size_t((bb * dirs + d) * hidden + j)];
    return o;
  }

  double x_at(int64_t t, int64_t bb, int64_t i) const {
    return batch_first ? x[size_t((bb * seq + t) * input + i)] : x[size_t((t * batch + bb) * input + i)];
  }
  double clipped(double v) const { return clip ? std::clamp(v, -*clip, *clip) : v; }

  // Runs all directions; y is [seq, dirs, batch, H], yh / yc are [dirs, batch, H].
  void run(std::vector<double>& y, std::vector<double>& yh, std::vector<double>& yc) {
    y.assign(size_t(seq * dirs * batch * hidden), 0.0);
    yh = h0;
    yc = c0;
    int64_t gh = gates * hidden;
    std::vector<double> xw(static_cast<size_t>(gh)), hr(static_cast<size_t>(gh)), tmp(static_cast<size_t>(hidden));
    for (int64_t d = 0; d < dirs; ++d) {
      bool reverse = direction == "reverse" || d == 1;
      const double* W = &w[size_t(d * gh * input)];
      const double* R = &r[size_t(d * gh * hidden)];
      const double* Wb = &b[size_t(d * 2 * gh)];
      const double* Rb = Wb + gh;
      const Activation* f = &acts[size_t(d) * acts.size() / size_t(dirs)];
      for (int64_t bb = 0; bb < batch; ++bb) {
        double* h = &yh[size_t((d * batch + bb) * hidden)];
        double* c = cell == Cell::Lstm ? &yc[size_t((d * batch + bb) * hidden)] : nullptr;
        int64_t len = lens[size_t(bb)];
        for (int64_t step = 0; step < len; ++step) {
          int64_t t = reverse ? len - 1 - step : step;
          for (int64_t g = 0; g < gh; ++g) {
            double sx = Wb[g], sh = Rb[g];
            for (int64_t i = 0; i < input; ++i) sx += x_at(t, bb, i) * W[g * input + i];
            for (int64_t k = 0; k < hidden; ++k) sh += h[k] * R[g * hidden + k];
            xw[size_t(g)] = sx;
            hr[size_t(g)] = sh;
          }
          step_cell(d, R, Rb, f, h, c, xw, hr, tmp);
          for (int64_t j = 0; j < hidden; ++j) y[size_t(((t * dirs + d) * batch + bb) * hidden + j)] = h[j];
        }
      }
    }
  }

  void step_cell(int64_t d, const double* R, const double* Rb, const Activation* f, double* h, double* c,
                 const std::vector<double>& xw, const std::vector<double>& hr, std::vector<double>& tmp) const {
    int64_t H = hidden;
    if (cell == Cell::Rnn) {
      for (int64_t j = 0; j < H; ++j) h[j] = f[0](clipped(xw[size_t(j)] + hr[size_t(j)]));
      return;
    }
    if (cell == Cell::Gru) {
      // Gate order z, r, h.
      std::vector<double> z(static_cast<size_t>(H)), rg(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        z[size_t(j)] = f[0](clipped(xw[size_t(j)] + hr[size_t(j)]));
        rg[size_t(j)] = f[0](clipped(xw[size_t(H + j)] + hr[size_t(H + j)]));
      }
      for (int64_t j = 0; j < H; ++j) {
        double rec = 0;
        if (linear_before_reset) {
          rec = rg[size_t(j)] * hr[size_t(2 * H + j)];
        } else {
          rec = Rb[2 * H + j];
          for (int64_t k = 0; k < H; ++k) rec += rg[size_t(k)] * h[k] * R[(2 * H + j) * H + k];
        }
        tmp[size_t(j)] = f[1](clipped(xw[size_t(2 * H + j)] + rec));
      }
      for (int64_t j = 0; j < H; ++j) h[j] = (1 - z[size_t(j)]) * tmp[size_t(j)] + z[size_t(j)] * h[j];
      return;
    }
    // LSTM: gate order i, o, f, c; peepholes P = [Pi, Po, Pf].
    const double* P = &p[size_t(d * 3 * H)];
    for (int64_t j = 0; j < H; ++j) {
      auto pre = [&](int64_t g) { return xw[size_t(g * H + j)] + hr[size_t(g * H + j)]; };
      double it = f[0](clipped(pre(0) + P[j] * c[j]));
      double ft = input_forget ? 1 - it : f[0](clipped(pre(2) + P[2 * H + j] * c[j]));
      double ct = f[1](clipped(pre(3)));
      double cn = ft * c[j] + it * ct;
      double ot = f[0](clipped(pre(1) + P[H + j] * cn));
      c[j] = cn;
      h[j] = ot * f[2](cn);
    }
  }
};

template <typename T>
Tensor from_doubles(const std::vector<double>& v, const Dims& dims) {
  Tensor t(dtype_of<T>(), dims);
  T* o = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) o[i] = T(compute_t<T>(v[i]));
  return t;
}

KernelFn recurrent_kernel(Cell cell) {
  return [cell](const KernelContext& ctx) {
    RecurrentOp op(ctx, cell);
    op.parse();
    std::vector<double> y, yh, yc;
    op.run(y, yh, yc);
    int64_t S = op.seq, D = op.dirs, B = op.batch, H = op.hidden;
    Dims y_dims{S, D, B, H}, h_dims{D, B, H};
    if (op.batch_first) {
      // [seq, dirs, batch, H] -> [batch, seq, dirs, H]; [dirs, batch, H] -> [batch, dirs, H].
      std::vector<double> y2(y.size()), h2(yh.size()), c2(yc.size());
      for (int64_t s = 0; s < S; ++s)
        for (int64_t d = 0; d < D; ++d)
          for (int64_t b = 0; b < B; ++b)
            for (int64_t j = 0; j < H; ++j)
              y2[size_t(((b * S + s) * D + d) * H + j)] = y[size_t(((s * D + d) * B + b) * H + j)];
      for (int64_t d = 0; d < D; ++d)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t j = 0; j < H; ++j) {
            h2[size_t((b * D + d) * H + j)] = yh[size_t((d * B + b) * H + j)];
            if (!yc.empty()) c2[size_t((b * D + d) * H + j)] = yc[size_t((d * B + b) * H + j)];
          }
      y = std::move(y2);
      yh = std::move(h2);
      yc = std::move(c2);
      y_dims = {B, S, D, H};
      h_dims = {B, D, H};
    }
    return visit_dtype(ctx.in(0).dtype(), [&]<typename T>() -> std::vector<Tensor> {
      if constexpr (!is_float_type_v<T>) {
        return {};
      } else {
        std::vector<Tensor> outs{from_doubles<T>(y, y_dims), from_doubles<T>(yh, h_dims)};
        if (cell == Cell::Lstm) outs.push_back(from_doubles<T>(yc, h_dims));
        return outs;
      }
    });
  };
}

InferFn recurrent_infer(Cell cell) {
  return [cell](const InferContext& ctx) -> std::vector<ValueType> {
    const ValueType& x = ctx.in(0);
    const Node& node = ctx.node;
    Dim dirs = node.attr_string("direction", "forward") == "bidirectional" ? 2 : 1;
    Dim hidden;
    if (node.has_attr("hidden_size"))
      hidden = node.attr_int("hidden_size");
    else if (ctx.has(2) && ctx.in(2).shape.rank_known && ctx.in(2).shape.rank() == 3)
      hidden = ctx.in(2).shape.dims[2];
    if (!x.shape.rank_known || x.shape.rank() != 3) return {};
    bool batch_first = node.op_version >= 14 && node.attr_int("layout", 0) != 0;
    Dim seq = x.shape.dims[batch_first ? 1 : 0], batch = x.shape.dims[batch_first ? 0 : 1];
    Shape y = batch_first ? Shape({batch, seq, dirs, hidden}) : Shape({seq, dirs, batch, hidden});
    Shape h = batch_first ? Shape({batch, dirs, hidden}) : Shape({dirs, batch, hidden});
    std::vector<ValueType> out{typed(x.dtype, y), typed(x.dtype, h)};
    if (cell == Cell::Lstm) out.push_back(typed(x.dtype, h));
    return out;
  };
}

const std::vector<AttrSpec> kCommonAttrs = {{"activation_alpha", AttrType::Floats},
                                            {"activation_beta", AttrType::Floats},
                                            {"activations", AttrType::Strings},
                                            {"clip", AttrType::Float},
                                            {"direction", AttrType::String},
                                            {"hidden_size", AttrType::Int},
                                            {"layout", AttrType::Int}};

std::vector<AttrSpec> with(std::vector<AttrSpec> a, AttrSpec extra) {
  a.push_back(std::move(extra));
  return a;
}

WAFER_REGISTER_OP(rnn, {.name = "RNN",
                        .since = 7,
                        .until = 14,
                        .attrs = kCommonAttrs,
                        .infer = recurrent_infer(Cell::Rnn),
                        .kernel = recurrent_kernel(Cell::Rnn)});
WAFER_REGISTER_OP(gru, {.name = "GRU",
                        .since = 7,
                        .until = 14,
                        .attrs = with(kCommonAttrs, {"linear_before_reset", AttrType::Int}),
                        .infer = recurrent_infer(Cell::Gru),
                        .kernel = recurrent_kernel(Cell::Gru)});
WAFER_REGISTER_OP(lstm, {.name = "LSTM",
                         .since = 7,
                         .until = 14,
                         .attrs = with(kCommonAttrs, {"input_forget", AttrType::Int}),
                         .infer = recurrent_infer(Cell::Lstm),
                         .kernel = recurrent_kernel(Cell::Lstm)});

}  // namespace
}  // namespace wafer
