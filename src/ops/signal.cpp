// Signal ops (opset 17): DFT, STFT, the Hann / Hamming / Blackman windows and
// MelWeightMatrix. Complex values are a trailing dimension of 2 (real, imag);
// real inputs have a trailing dimension of 1. Transforms are plain O(n^2) sums
// with twiddles taken modulo n so large indices keep their accuracy.
#include <cmath>
#include <complex>
#include <numbers>

#include "ops/misc_util.h"
#include "ops/op_util.h"

namespace wafer {
namespace {

using cd = std::complex<double>;

// One transform of `in` (length n_in, zero padded / truncated to n) into n bins.
void dft_line(const std::vector<cd>& in, int64_t n, bool inverse, std::vector<cd>& out) {
  out.assign(size_t(n), cd(0, 0));
  int64_t m = std::min<int64_t>(int64_t(in.size()), n);
  double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < n; ++k) {
    cd acc(0, 0);
    for (int64_t t = 0; t < m; ++t) {
      double angle = sign * 2 * std::numbers::pi * double((k * t) % n) / double(n);
      acc += in[size_t(t)] * cd(std::cos(angle), std::sin(angle));
    }
    out[size_t(k)] = inverse ? acc / double(n) : acc;
  }
}

int64_t scalar_int(const KernelContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.in(i);
  require_dtype(ctx.node, t.dtype(), {DType::Int32, DType::Int64}, what);
  check(t.numel() == 1, ctx.node.label(), ": ", what, " must be a scalar, got ", dims_to_string(t.dims()));
  return t.get_int(0);
}

template <typename T>
Tensor complex_tensor(const std::vector<cd>& v, Dims dims, DType dtype) {
  Tensor t(dtype, std::move(dims));
  T* o = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) {
    o[2 * i] = T(compute_t<T>(v[i].real()));
    o[2 * i + 1] = T(compute_t<T>(v[i].imag()));
  }
  return t;
}

std::vector<Tensor> dft(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16});
  check(x.rank() >= 2 && (x.dims().back() == 1 || x.dims().back() == 2), node.label(),
        ": input must be [batch, ..., 1 or 2], got ", dims_to_string(x.dims()));
  int64_t signal_rank = x.rank() - 1;
  int64_t axis = node.attr_int("axis", 1);
  // The axis counts over the signal dims (the complex dim is not a valid axis).
  check(axis >= -signal_rank && axis < signal_rank, node.label(), ": axis ", axis, " out of range");
  if (axis < 0) axis += signal_rank;
  check(axis != 0, node.label(), ": axis must not be the batch axis");
  bool inverse = node.attr_int("inverse", 0) != 0, onesided = node.attr_int("onesided", 0) != 0;
  bool is_complex = x.dims().back() == 2;
  check(!(onesided && is_complex), node.label(), ": onesided needs a real input");
  check(!(onesided && inverse), node.label(), ": onesided inverse DFT is not supported");
  int64_t n_in = x.dim(axis);
  int64_t n = n_in;
  if (ctx.has(1)) {
    n = scalar_int(ctx, 1, "dft_length");
    check(n > 0, node.label(), ": dft_length must be positive, got ", n);
  }
  int64_t bins = onesided ? n / 2 + 1 : n;
  Dims out_dims = x.dims();
  out_dims[size_t(axis)] = bins;
  out_dims.back() = 2;
  check_output_size(node, out_dims, x.dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= x.dim(a);
  for (int64_t a = axis + 1; a < signal_rank; ++a) inner *= x.dim(a);
  int64_t comps = x.dims().back();
  std::vector<cd> result(static_cast<size_t>(outer * bins * inner));
  std::vector<cd> line(static_cast<size_t>(n_in)), spec;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      for (int64_t t = 0; t < n_in; ++t) {
        int64_t off = ((o * n_in + t) * inner + i) * comps;
        line[size_t(t)] = cd(x.get_double(off), comps == 2 ? x.get_double(off + 1) : 0.0);
      }
      dft_line(line, n, inverse, spec);
      for (int64_t k = 0; k < bins; ++k) result[size_t((o * bins + k) * inner + i)] = spec[size_t(k)];
    }
  }
  return visit_dtype(
      x.dtype(), [&]<typename T>() -> std::vector<Tensor> { return {complex_tensor<T>(result, out_dims, x.dtype())}; });
}

std::vector<Tensor> stft(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16});
  check(x.rank() == 3 && (x.dim(2) == 1 || x.dim(2) == 2), node.label(),
        ": signal must be [batch, length, 1 or 2], got ", dims_to_string(x.dims()));
  int64_t step = scalar_int(ctx, 1, "frame_step");
  check(step > 0, node.label(), ": frame_step must be positive");
  std::vector<double> window;
  if (ctx.has(2)) {
    const Tensor& w = ctx.in(2);
    check(w.rank() == 1, node.label(), ": window must be 1-D");
    for (int64_t i = 0; i < w.numel(); ++i) window.push_back(w.get_double(i));
  }
  int64_t frame = 0;
  if (ctx.has(3)) {
    frame = scalar_int(ctx, 3, "frame_length");
    check(window.empty() || int64_t(window.size()) == frame, node.label(), ": window length ", window.size(),
          " differs from frame_length ", frame);
  } else {
    check(!window.empty(), node.label(), ": needs a window or a frame_length");
    frame = int64_t(window.size());
  }
  int64_t len = x.dim(1), batch = x.dim(0), comps = x.dim(2);
  check(frame > 0 && frame <= len, node.label(), ": frame length ", frame, " outside [1, ", len, "]");
  bool onesided = node.attr_int("onesided", 1) != 0;
  check(!(onesided && comps == 2), node.label(), ": onesided needs a real signal");
  int64_t frames = (len - frame) / step + 1;
  int64_t bins = onesided ? frame / 2 + 1 : frame;
  std::vector<cd> result, line(static_cast<size_t>(frame)), spec;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t t = 0; t < frame; ++t) {
        int64_t off = (b * len + f * step + t) * comps;
        double w = window.empty() ? 1.0 : window[size_t(t)];
        line[size_t(t)] = cd(x.get_double(off), comps == 2 ? x.get_double(off + 1) : 0.0) * w;
      }
      dft_line(line, frame, false, spec);
      result.insert(result.end(), spec.begin(), spec.begin() + bins);
    }
  }
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    return {complex_tensor<T>(result, {batch, frames, bins, 2}, x.dtype())};
  });
}

DType output_datatype(const Node& node) {
  int64_t t = node.attr_int("output_datatype", 1);
  check(dtype_is_valid_onnx(int(t)) && DType(t) != DType::Bool && DType(t) != DType::String, node.label(),
        ": unsupported output_datatype ", t);
  return DType(t);
}

Tensor make_output(const std::vector<double>& v, Dims dims, DType dtype) {
  Tensor t(dtype, std::move(dims));
  visit_dtype(dtype, [&]<typename T>() {
    T* o = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) {
      if constexpr (std::is_integral_v<T>)
        o[i] = T(v[i]);
      else
        o[i] = T(compute_t<T>(v[i]));
    }
  });
  return t;
}

// Generalized cosine window: sum_k a_k cos(2 pi k n / N), N = size (periodic) or size - 1.
KernelFn window_kernel(std::vector<double> coeffs) {
  return [coeffs](const KernelContext& ctx) -> std::vector<Tensor> {
    int64_t size = scalar_int(ctx, 0, "size");
    check(size >= 0, ctx.node.label(), ": window size must be >= 0, got ", size);
    bool periodic = ctx.node.attr_int("periodic", 1) != 0;
    check_output_size(ctx.node, {size}, output_datatype(ctx.node));
    double denom = periodic ? double(size) : double(size - 1);
    std::vector<double> v(static_cast<size_t>(size));
    for (int64_t n = 0; n < size; ++n) {
      double acc = 0;
      for (size_t k = 0; k < coeffs.size(); ++k)
        acc += coeffs[k] * (denom == 0 ? 1.0 : std::cos(2 * std::numbers::pi * double(k) * double(n) / denom));
      v[size_t(n)] = acc;
    }
    return {make_output(v, {size}, output_datatype(ctx.node))};
  };
}

std::vector<ValueType> infer_window(const InferContext& ctx) {
  Dim d;
  if (const Tensor* s = ctx.constant(0); s && s->numel() == 1) d = Dim(s->get_int(0));
  return {typed(output_datatype(ctx.node), Shape({d}))};
}

// Triangular mel filters, exactly as the ONNX reference computes them
// (including its mel step of (high - low) / (num_mel_bins + 2)).
std::vector<Tensor> mel_weight_matrix(const KernelContext& ctx) {
  const Node& node = ctx.node;
  int64_t mels = scalar_int(ctx, 0, "num_mel_bins");
  int64_t dft_length = scalar_int(ctx, 1, "dft_length");
  int64_t rate = scalar_int(ctx, 2, "sample_rate");
  check(ctx.in(3).numel() == 1 && ctx.in(4).numel() == 1, node.label(), ": edge frequencies must be scalars");
  double lo = ctx.in(3).get_double(0), hi = ctx.in(4).get_double(0);
  check(mels > 0 && dft_length > 0 && rate > 0, node.label(),
        ": num_mel_bins, dft_length, sample_rate must be positive");
  check(lo >= 0 && hi >= lo && hi <= double(rate), node.label(), ": bad edge frequencies ", lo, " .. ", hi);
  int64_t spec_bins = dft_length / 2 + 1;
  check_output_size(node, {spec_bins, mels}, output_datatype(node));
  auto to_mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  double lo_mel = to_mel(lo), hi_mel = to_mel(hi);
  double step = (hi_mel - lo_mel) / double(mels + 2);
  std::vector<int64_t> bins;
  for (int64_t i = 0; i < mels + 2; ++i) {
    double hz = 700 * (std::pow(10.0, (double(i) * step + lo_mel) / 2595) - 1);
    bins.push_back(int64_t(std::floor(double(dft_length + 1) * hz / double(rate))));
  }
  std::vector<double> out(static_cast<size_t>(spec_bins * mels), 0.0);
  auto set = [&](int64_t j, int64_t i, double v) {
    check(j >= 0 && j < spec_bins, node.label(), ": mel bin ", j, " outside the spectrum");
    out[size_t(j * mels + i)] = v;
  };
  for (int64_t i = 0; i < mels; ++i) {
    int64_t left = bins[size_t(i)], center = bins[size_t(i + 1)], right = bins[size_t(i + 2)];
    if (center == left)
      set(center, i, 1);
    else
      for (int64_t j = left; j <= center; ++j) set(j, i, double(j - left) / double(center - left));
    for (int64_t j = center; j < right; ++j) set(j, i, double(right - j) / double(right - center));
  }
  return {make_output(out, {spec_bins, mels}, output_datatype(node))};
}

std::vector<ValueType> infer_dft(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  if (!x.shape.rank_known || x.shape.rank() < 2) return {typed(x.dtype, Shape::unknown_rank())};
  Shape s = x.shape;
  s.dims.back() = Dim(2);
  int64_t signal_rank = s.rank() - 1;
  int64_t axis = ctx.node.attr_int("axis", 1);
  if (axis < 0) axis += signal_rank;
  if (axis <= 0 || axis >= signal_rank) return {typed(x.dtype, s)};
  Dim n = s.dims[size_t(axis)];
  if (ctx.has(1)) n = ctx.constant(1) && ctx.constant(1)->numel() == 1 ? Dim(ctx.constant(1)->get_int(0)) : Dim();
  bool onesided = ctx.node.attr_int("onesided", 0) != 0;
  s.dims[size_t(axis)] = onesided ? (n.known() ? Dim(n.value / 2 + 1) : Dim()) : n;
  return {typed(x.dtype, s)};
}

WAFER_REGISTER_OP(dft, {.name = "DFT",
                        .since = 17,
                        .attrs = {{"axis", AttrType::Int}, {"inverse", AttrType::Int}, {"onesided", AttrType::Int}},
                        .infer = infer_dft,
                        .kernel = dft});
WAFER_REGISTER_OP(stft, {.name = "STFT", .since = 17, .attrs = {{"onesided", AttrType::Int}}, .kernel = stft});
const std::vector<AttrSpec> kWindowAttrs = {{"output_datatype", AttrType::Int}, {"periodic", AttrType::Int}};
WAFER_REGISTER_OP(hann, {.name = "HannWindow",
                         .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"exp", 2}, {"mul", 2}, {"add", 1}}),
                         .since = 17,
                         .attrs = kWindowAttrs,
                         .infer = infer_window,
                         .kernel = window_kernel({0.5, -0.5})});
WAFER_REGISTER_OP(hamming, {.name = "HammingWindow",
                            .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"exp", 2}, {"mul", 2}, {"add", 1}}),
                            .since = 17,
                            .attrs = kWindowAttrs,
                            .infer = infer_window,
                            .kernel = window_kernel({25.0 / 46.0, -21.0 / 46.0})});
WAFER_REGISTER_OP(blackman, {.name = "BlackmanWindow",
                             .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"exp", 2}, {"mul", 2}, {"add", 1}}),
                             .since = 17,
                             .attrs = kWindowAttrs,
                             .infer = infer_window,
                             .kernel = window_kernel({0.42, -0.5, 0.08})});
WAFER_REGISTER_OP(mel, {.name = "MelWeightMatrix",
                        .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"div", 1}, {"add", 1}, {"max", 1}}),
                        .since = 17,
                        .attrs = {{"output_datatype", AttrType::Int}},
                        .kernel = mel_weight_matrix});

}  // namespace
}  // namespace wafer
