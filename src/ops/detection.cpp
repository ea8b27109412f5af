// Detection ops: NonMaxSuppression (v10, v11), RoiAlign (v10, v16) and
// MaxRoiPool (v1). Semantics follow onnxruntime where the specification is
// loose (IoU of degenerate boxes, RoiAlign's max mode).
#include <cmath>
#include <numeric>

#include "ops/misc_util.h"
#include "ops/op_util.h"

namespace wafer {
namespace {

// ---- NonMaxSuppression ----

struct Box {
  double y1, x1, y2, x2;
};

Box read_box(const Tensor& boxes, int64_t offset, bool center) {
  double a = boxes.get_double(offset), b = boxes.get_double(offset + 1), c = boxes.get_double(offset + 2),
         d = boxes.get_double(offset + 3);
  if (center) return {b - d / 2, a - c / 2, b + d / 2, a + c / 2};          // [x_center, y_center, w, h]
  return {std::min(a, c), std::min(b, d), std::max(a, c), std::max(b, d)};  // either diagonal
}

double iou(const Box& p, const Box& q) {
  double area_p = (p.y2 - p.y1) * (p.x2 - p.x1), area_q = (q.y2 - q.y1) * (q.x2 - q.x1);
  if (area_p <= 0 || area_q <= 0) return 0;
  double ih = std::max(0.0, std::min(p.y2, q.y2) - std::max(p.y1, q.y1));
  double iw = std::max(0.0, std::min(p.x2, q.x2) - std::max(p.x1, q.x1));
  double inter = ih * iw;
  return inter / (area_p + area_q - inter);
}

std::vector<Tensor> non_max_suppression(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& boxes = ctx.in(0);
  const Tensor& scores = ctx.in(1);
  require_dtype(node, boxes.dtype(), {DType::Float32}, "boxes");
  require_dtype(node, scores.dtype(), {DType::Float32}, "scores");
  check(boxes.rank() == 3 && boxes.dim(2) == 4, node.label(), ": boxes must be [batches, boxes, 4], got ",
        dims_to_string(boxes.dims()));
  check(scores.rank() == 3 && scores.dim(0) == boxes.dim(0) && scores.dim(2) == boxes.dim(1), node.label(),
        ": scores must be [", boxes.dim(0), ", classes, ", boxes.dim(1), "], got ", dims_to_string(scores.dims()));
  auto scalar = [&](size_t i, const char* what) {
    check(ctx.in(i).numel() == 1, node.label(), ": ", what, " must hold one value");
  };
  int64_t max_out = 0;
  if (ctx.has(2)) {
    scalar(2, "max_output_boxes_per_class");
    max_out = ctx.in(2).get_int(0);
  }
  double iou_threshold = 0;
  if (ctx.has(3)) {
    scalar(3, "iou_threshold");
    iou_threshold = ctx.in(3).get_double(0);
  }
  std::optional<double> score_threshold;
  if (ctx.has(4)) {
    scalar(4, "score_threshold");
    score_threshold = ctx.in(4).get_double(0);
  }
  bool center = node.attr_int("center_point_box", 0) != 0;
  int64_t batches = boxes.dim(0), classes = scores.dim(1), count = boxes.dim(1);
  std::vector<int64_t> selected;  // triples
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<Box> bx;
    for (int64_t i = 0; i < count; ++i) bx.push_back(read_box(boxes, (b * count + i) * 4, center));
    for (int64_t c = 0; c < classes && max_out > 0; ++c) {
      const float* sc = scores.data<float>() + (b * classes + c) * count;
      std::vector<int64_t> order;
      for (int64_t i = 0; i < count; ++i)
        if (!score_threshold || double(sc[i]) > *score_threshold) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return sc[p] > sc[q]; });
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (int64_t(kept.size()) >= max_out) break;
        bool keep = true;
        for (int64_t k : kept)
          if (iou(bx[size_t(i)], bx[size_t(k)]) > iou_threshold) keep = false;
        if (keep) kept.push_back(i);
      }
      for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
    }
  }
  return {Tensor::from_vector<int64_t>({int64_t(selected.size() / 3), 3}, selected)};
}

// ---- RoiAlign ----

std::vector<Tensor> roi_align(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  const Tensor& rois = ctx.in(1);
  const Tensor& batch_indices = ctx.in(2);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16});
  check(x.rank() == 4, node.label(), ": X must be 4-D, got ", dims_to_string(x.dims()));
  check(rois.rank() == 2 && rois.dim(1) == 4, node.label(), ": rois must be [num_rois, 4], got ",
        dims_to_string(rois.dims()));
  check(batch_indices.rank() == 1 && batch_indices.dim(0) == rois.dim(0), node.label(), ": batch_indices must be [",
        rois.dim(0), "], got ", dims_to_string(batch_indices.dims()));
  std::string mode = node.attr_string("mode", "avg");
  check(mode == "avg" || mode == "max", node.label(), ": unknown mode '", mode, "'");
  int64_t out_h = node.attr_int("output_height", 1), out_w = node.attr_int("output_width", 1);
  check(out_h > 0 && out_w > 0, node.label(), ": output_height and output_width must be positive");
  int64_t sampling = node.attr_int("sampling_ratio", 0);
  check(sampling >= 0, node.label(), ": sampling_ratio must be >= 0");
  double scale = node.attr_float("spatial_scale", 1.0f);
  bool half_pixel =
      ctx.version() >= 16 && node.attr_string("coordinate_transformation_mode", "half_pixel") == "half_pixel";
  if (ctx.version() >= 16) {
    std::string ctm = node.attr_string("coordinate_transformation_mode", "half_pixel");
    check(ctm == "half_pixel" || ctm == "output_half_pixel", node.label(), ": unknown coordinate_transformation_mode '",
          ctm, "'");
  }
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), R = rois.dim(0);
  check_output_size(node, {R, C, out_h, out_w}, x.dtype());
  std::vector<double> in(size_t(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) in[size_t(i)] = x.get_double(i);
  std::vector<double> out(size_t(R * C * out_h * out_w));
  double offset = half_pixel ? 0.5 : 0.0;
  for (int64_t r = 0; r < R; ++r) {
    int64_t n = batch_indices.get_int(r);
    check(n >= 0 && n < N, node.label(), ": batch index ", n, " out of range [0, ", N, ")");
    double x1 = rois.get_double(r * 4) * scale - offset, y1 = rois.get_double(r * 4 + 1) * scale - offset;
    double x2 = rois.get_double(r * 4 + 2) * scale - offset, y2 = rois.get_double(r * 4 + 3) * scale - offset;
    double rw = x2 - x1, rh = y2 - y1;
    if (!half_pixel) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);  // legacy: force rois to be at least 1x1
    double bin_h = rh / double(out_h), bin_w = rw / double(out_w);
    double grid_hd = sampling > 0 ? double(sampling) : std::ceil(rh / double(out_h));
    double grid_wd = sampling > 0 ? double(sampling) : std::ceil(rw / double(out_w));
    check(std::isfinite(grid_hd) && std::isfinite(grid_wd) && grid_hd * grid_wd < 1e8, node.label(), ": roi ", r,
          " needs too many samples");
    int64_t grid_h = std::max<int64_t>(int64_t(grid_hd), 0), grid_w = std::max<int64_t>(int64_t(grid_wd), 0);
    double count = double(std::max<int64_t>(grid_h * grid_w, 1));
    for (int64_t c = 0; c < C; ++c) {
      const double* plane = &in[size_t((n * C + c) * H * W)];
      for (int64_t ph = 0; ph < out_h; ++ph) {
        for (int64_t pw = 0; pw < out_w; ++pw) {
          double acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < grid_h; ++iy) {
            double y = y1 + double(ph) * bin_h + (double(iy) + 0.5) * bin_h / double(grid_h);
            for (int64_t ix = 0; ix < grid_w; ++ix) {
              double xx = x1 + double(pw) * bin_w + (double(ix) + 0.5) * bin_w / double(grid_w);
              double v = 0;
              if (!(y < -1.0 || y > double(H) || xx < -1.0 || xx > double(W))) {
                double yy = std::max(y, 0.0), xc = std::max(xx, 0.0);
                int64_t y_lo = int64_t(yy), x_lo = int64_t(xc), y_hi = 0, x_hi = 0;
                if (y_lo >= H - 1)
                  y_hi = y_lo = H - 1, yy = double(y_lo);
                else
                  y_hi = y_lo + 1;
                if (x_lo >= W - 1)
                  x_hi = x_lo = W - 1, xc = double(x_lo);
                else
                  x_hi = x_lo + 1;
                double ly = yy - double(y_lo), lx = xc - double(x_lo), hy = 1 - ly, hx = 1 - lx;
                double v1 = hy * hx * plane[y_lo * W + x_lo], v2 = hy * lx * plane[y_lo * W + x_hi];
                double v3 = ly * hx * plane[y_hi * W + x_lo], v4 = ly * lx * plane[y_hi * W + x_hi];
                v = mode == "avg" ? v1 + v2 + v3 + v4 : std::max(std::max(v1, v2), std::max(v3, v4));
              }
              if (mode == "avg")
                acc += v;
              else
                acc = first ? v : std::max(acc, v);
              first = false;
            }
          }
          out[size_t(((r * C + c) * out_h + ph) * out_w + pw)] = mode == "avg" ? acc / count : acc;
        }
      }
    }
  }
  return visit_dtype(x.dtype(), [&]<typename T>() -> std::vector<Tensor> {
    Tensor t(x.dtype(), {R, C, out_h, out_w});
    T* o = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) o[i] = T(compute_t<T>(out[i]));
    return {t};
  });
}

std::vector<ValueType> infer_roi_align(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  Dim r, c;
  if (ctx.has(1) && ctx.in(1).shape.rank_known && ctx.in(1).shape.rank() == 2) r = ctx.in(1).shape.dims[0];
  if (x.shape.rank_known && x.shape.rank() == 4) c = x.shape.dims[1];
  return {typed(x.dtype,
                Shape({r, c, Dim(ctx.node.attr_int("output_height", 1)), Dim(ctx.node.attr_int("output_width", 1))}))};
}

// ---- MaxRoiPool ----

std::vector<Tensor> max_roi_pool(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  const Tensor& rois = ctx.in(1);
  require_dtype(node, x.dtype(), {DType::Float32, DType::Float64, DType::Float16});
  check(x.rank() == 4, node.label(), ": X must be 4-D, got ", dims_to_string(x.dims()));
  check(rois.rank() == 2 && rois.dim(1) == 5, node.label(), ": rois must be [num_rois, 5], got ",
        dims_to_string(rois.dims()));
  auto pooled = node.attr_ints("pooled_shape");
  check(pooled.size() == 2 && pooled[0] > 0 && pooled[1] > 0, node.label(), ": pooled_shape must be 2 positive ints");
  double scale = node.attr_float("spatial_scale", 1.0f);
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), R = rois.dim(0), PH = pooled[0], PW = pooled[1];
  Tensor out(x.dtype(), {R, C, PH, PW});
  for (int64_t r = 0; r < R; ++r) {
    double bd = rois.get_double(r * 5);
    check(bd >= 0 && bd < double(N), node.label(), ": batch index ", bd, " out of range");
    int64_t n = int64_t(bd);
    auto coord = [&](int k) {
      double v = std::round(rois.get_double(r * 5 + k) * scale);
      check(std::abs(v) < 1e15, node.label(), ": roi coordinate out of range");
      return int64_t(v);
    };
    int64_t x1 = coord(1), y1 = coord(2), x2 = coord(3), y2 = coord(4);
    int64_t rh = std::max<int64_t>(y2 - y1 + 1, 1), rw = std::max<int64_t>(x2 - x1 + 1, 1);
    double bin_h = double(rh) / double(PH), bin_w = double(rw) / double(PW);
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t ph = 0; ph < PH; ++ph) {
        int64_t hs = std::clamp<int64_t>(int64_t(std::floor(double(ph) * bin_h)) + y1, 0, H);
        int64_t he = std::clamp<int64_t>(int64_t(std::ceil(double(ph + 1) * bin_h)) + y1, 0, H);
        for (int64_t pw = 0; pw < PW; ++pw) {
          int64_t ws = std::clamp<int64_t>(int64_t(std::floor(double(pw) * bin_w)) + x1, 0, W);
          int64_t we = std::clamp<int64_t>(int64_t(std::ceil(double(pw + 1) * bin_w)) + x1, 0, W);
          double m = 0;  // empty bins give 0
          bool any = false;
          for (int64_t h = hs; h < he; ++h)
            for (int64_t w = ws; w < we; ++w) {
              double v = x.get_double(((n * C + c) * H + h) * W + w);
              m = any ? std::max(m, v) : v;
              any = true;
            }
          visit_dtype(x.dtype(),
                      [&]<typename T>() { out.data<T>()[((r * C + c) * PH + ph) * PW + pw] = T(compute_t<T>(m)); });
        }
      }
    }
  }
  return {out};
}

WAFER_REGISTER_OP(nms, {.name = "NonMaxSuppression",
                        .since = 10,
                        .until = 11,
                        .attrs = {{"center_point_box", AttrType::Int}},
                        .infer =
                            [](const InferContext&) {
                              return std::vector<ValueType>{typed(DType::Int64, Shape({Dim(), Dim(3)}))};
                            },
                        .kernel = non_max_suppression});
WAFER_REGISTER_OP(roi_align, {.name = "RoiAlign",
                              .cost = op_cost::vector_only(OpCost::Basis::Outputs, {{"mul", 16}, {"add", 16}}),
                              .since = 10,
                              .until = 16,
                              .attrs = {{"coordinate_transformation_mode", AttrType::String},
                                        {"mode", AttrType::String},
                                        {"output_height", AttrType::Int},
                                        {"output_width", AttrType::Int},
                                        {"sampling_ratio", AttrType::Int},
                                        {"spatial_scale", AttrType::Float}},
                              .infer = infer_roi_align,
                              .kernel = roi_align});
WAFER_REGISTER_OP(max_roi_pool, {.name = "MaxRoiPool",
                                 .since = 1,
                                 .attrs = {{"pooled_shape", AttrType::Ints, true}, {"spatial_scale", AttrType::Float}},
                                 .kernel = max_roi_pool});

}  // namespace
}  // namespace wafer
