// Direct (im2col-free) grouped N-D convolution, shared by Conv, ConvInteger
// and QLinearConv. Spatial dims are handled as three (D, H, W), with 1-D and
// 2-D convolutions padded with leading unit dims.
//
// Per image and group the input is copied once into a zero-padded buffer, so
// the inner loops need no bounds checks. Output is computed in tiles of R
// output channels x TW output columns of one output row, accumulated in a
// fixed-size local array over (input channel, kd, kh, kw); the innermost loop
// runs over contiguous input columns (stride 1) and vectorizes at -O2.
// 1x1 stride-1 unpadded convolutions are exactly a matrix product and use the
// GEMM loop nest.
#pragma once

#include <algorithm>
#include <vector>

#include "ops/gemm_core.h"
#include "ops/nn_util.h"

namespace wafer {

struct ConvParams {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  Dims in, kernel, strides, dilations, pad_begin, out;  // all 3-D (D, H, W)
};

// Validates X [N, C, spatial...], W [M, C/group, k...] and the node's
// attributes (kernel_shape, strides, dilations, pads, auto_pad, group).
ConvParams conv_params(const Node& node, const Dims& x, const Dims& w);

namespace conv_detail {

struct Tile {
  const ConvParams& p;
  int64_t dp, hp, wp;   // padded input dims
  int64_t w_oc_stride;  // elements between output channels in W
  int64_t y_oc_stride;  // elements between output channels in Y
};

template <typename T, int R, int TW>
void tile(const Tile& t, const T* xp, const T* w, const T* bias, T* y, int64_t od, int64_t oh, int64_t ow0,
          int64_t valid) {
  using A = gemm_acc_t<T>;
  const ConvParams& p = t.p;
  const int64_t cg = p.in_channels / p.groups;
  const int64_t kd_n = p.kernel[0], kh_n = p.kernel[1], kw_n = p.kernel[2];
  const int64_t sw = p.strides[2], dw = p.dilations[2];
  A acc[R][TW] = {};
  for (int64_t ic = 0; ic < cg; ++ic) {
    for (int64_t kd = 0; kd < kd_n; ++kd) {
      const int64_t id = od * p.strides[0] + kd * p.dilations[0];
      for (int64_t kh = 0; kh < kh_n; ++kh) {
        const int64_t ih = oh * p.strides[1] + kh * p.dilations[1];
        const T* xrow = xp + ((ic * t.dp + id) * t.hp + ih) * t.wp + ow0 * sw;
        const T* wk = w + ((ic * kd_n + kd) * kh_n + kh) * kw_n;
        for (int64_t kw = 0; kw < kw_n; ++kw) {
          const T* xs = xrow + kw * dw;
          A wv[R];
          for (int r = 0; r < R; ++r) wv[r] = A(wk[r * t.w_oc_stride + kw]);
          if (sw == 1) {
            for (int r = 0; r < R; ++r)
              for (int x = 0; x < TW; ++x) acc[r][x] += wv[r] * A(xs[x]);
          } else {
            for (int r = 0; r < R; ++r)
              for (int x = 0; x < TW; ++x) acc[r][x] += wv[r] * A(xs[x * sw]);
          }
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    A b = bias ? A(bias[r]) : A(0);
    for (int64_t x = 0; x < valid; ++x) y[r * t.y_oc_stride + x] = T(acc[r][x] + b);
  }
}

template <typename T, int R, int TW>
void rows(const Tile& t, const T* xp, const T* w, const T* bias, T* y) {
  const ConvParams& p = t.p;
  for (int64_t od = 0; od < p.out[0]; ++od)
    for (int64_t oh = 0; oh < p.out[1]; ++oh) {
      T* yrow = y + (od * p.out[1] + oh) * p.out[2];
      for (int64_t ow0 = 0; ow0 < p.out[2]; ow0 += TW)
        tile<T, R, TW>(t, xp, w, bias, yrow + ow0, od, oh, ow0, std::min<int64_t>(TW, p.out[2] - ow0));
    }
}

template <typename T, int TW>
void group(const Tile& t, const T* xp, const T* w, const T* bias, T* y, int64_t mg) {
  int64_t oc = 0;
  for (; oc + 4 <= mg; oc += 4)
    rows<T, 4, TW>(t, xp, w + oc * t.w_oc_stride, bias ? bias + oc : nullptr, y + oc * t.y_oc_stride);
  for (; oc < mg; ++oc)
    rows<T, 1, TW>(t, xp, w + oc * t.w_oc_stride, bias ? bias + oc : nullptr, y + oc * t.y_oc_stride);
}

}  // namespace conv_detail

// y[N, M, out] = conv(x[N, C, in], w[M, C/groups, kernel]) + bias[M] (bias may be null).
template <typename T>
void conv_forward(const ConvParams& p, const T* x, const T* w, const T* bias, T* y) {
  const int64_t cg = p.in_channels / p.groups, mg = p.out_channels / p.groups;
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2], out_plane = p.out[0] * p.out[1] * p.out[2];
  const int64_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  bool pointwise = ksize == 1 && in_plane == out_plane;
  for (int i = 0; i < 3; ++i) pointwise = pointwise && p.strides[i] == 1 && p.pad_begin[i] == 0;
  if (pointwise) {
    for (int64_t n = 0; n < p.batch; ++n)
      for (int64_t g = 0; g < p.groups; ++g) {
        T* yg = y + (n * p.out_channels + g * mg) * out_plane;
        for (int64_t oc = 0; oc < mg; ++oc)
          std::fill(yg + oc * out_plane, yg + (oc + 1) * out_plane, bias ? bias[g * mg + oc] : T(0));
        gemm_accumulate<T>(w + g * mg * cg, cg, x + (n * p.in_channels + g * cg) * in_plane, in_plane, yg, out_plane,
                           mg, cg, out_plane);
      }
    return;
  }
  // Output columns per tile: narrow maps waste less on the last partial tile.
  const int tw = p.out[2] > 8 ? 16 : (p.out[2] > 4 ? 8 : 4);
  const int64_t tiles = (p.out[2] + tw - 1) / tw;
  conv_detail::Tile t{p, 0, 0, 0, cg * ksize, out_plane};
  t.dp = std::max(p.in[0] + p.pad_begin[0], (p.out[0] - 1) * p.strides[0] + (p.kernel[0] - 1) * p.dilations[0] + 1);
  t.hp = std::max(p.in[1] + p.pad_begin[1], (p.out[1] - 1) * p.strides[1] + (p.kernel[1] - 1) * p.dilations[1] + 1);
  t.wp = std::max(p.in[2] + p.pad_begin[2], (tiles * tw - 1) * p.strides[2] + (p.kernel[2] - 1) * p.dilations[2] + 1);
  // A Tensor, not a vector: its size check turns absurd pads into an Error.
  Tensor padded(dtype_of<T>(), {cg, t.dp, t.hp, t.wp});
  T* xp = padded.data<T>();
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t g = 0; g < p.groups; ++g) {
      const T* xg = x + (n * p.in_channels + g * cg) * in_plane;
      for (int64_t ic = 0; ic < cg; ++ic)
        for (int64_t d = 0; d < p.in[0]; ++d)
          for (int64_t h = 0; h < p.in[1]; ++h) {
            const T* src = xg + ((ic * p.in[0] + d) * p.in[1] + h) * p.in[2];
            T* dst = xp + ((ic * t.dp + d + p.pad_begin[0]) * t.hp + h + p.pad_begin[1]) * t.wp + p.pad_begin[2];
            std::copy(src, src + p.in[2], dst);
          }
      const T* wg = w + g * mg * t.w_oc_stride;
      const T* bg = bias ? bias + g * mg : nullptr;
      T* yg = y + (n * p.out_channels + g * mg) * out_plane;
      if (tw == 16)
        conv_detail::group<T, 16>(t, xp, wg, bg, yg, mg);
      else if (tw == 8)
        conv_detail::group<T, 8>(t, xp, wg, bg, yg, mg);
      else
        conv_detail::group<T, 4>(t, xp, wg, bg, yg, mg);
    }
}

}  // namespace wafer
