// Tensor-manipulation ops: reference kernels and shape inference on small
// hand-computed cases, edge cases (negative indices, clamping, ties) and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ir/op_registry.h"

namespace wafer {
// Readable failure messages for type comparisons.
void PrintTo(const ValueType& v, std::ostream* os) {
  *os << v.str();
}

namespace {

// One node of `op` at since-version `version`, inputs "i0".. (empty = omitted), outputs "o0"..
struct OpCase {
  Graph graph;
  Node* node;
  OpCase(const std::string& op, int version, size_t inputs, size_t outputs = 1) {
    std::vector<std::string> in, out;
    for (size_t i = 0; i < inputs; ++i) in.push_back(std::string(1, 'i').append(std::to_string(i)));
    for (size_t i = 0; i < outputs; ++i) out.push_back(std::string(1, 'o').append(std::to_string(i)));
    node = &graph.add_node(op, in, out, "n");
    node->op_version = version;
  }
  OpCase& attr(const std::string& name, Attribute::Value v) {
    node->attrs[name] = Attribute{std::move(v)};
    return *this;
  }
  const OpSchema& schema() const {
    const OpSchema* s = OpRegistry::global().find(*node);
    if (!s) throw std::runtime_error("no schema for " + node->op_type);
    return *s;
  }
  // Runs the kernel; nullptr entries are omitted inputs.
  std::vector<Tensor> run(const std::vector<const Tensor*>& inputs) const {
    KernelContext ctx{*node, inputs, nullptr};
    return schema().kernel(ctx);
  }
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const {
    std::vector<const Tensor*> p;
    for (const auto& t : inputs) p.push_back(&t);
    return run(p);
  }
  std::vector<ValueType> infer(std::vector<std::optional<ValueType>> types, std::vector<const Tensor*> consts) const {
    InferContext ctx{*node, std::move(types), std::move(consts)};
    return infer_node(schema(), ctx);
  }
};

Tensor i64(Dims d, std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(std::move(d), v);
}
Tensor i64v(std::vector<int64_t> v) {
  return i64({int64_t(v.size())}, v);
}
Tensor f32(Dims d, std::vector<float> v) {
  return Tensor::from_vector<float>(std::move(d), v);
}
Tensor iota_f(Dims d) {
  Tensor t(DType::Float32, d);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i);
  return t;
}
template <typename T>
std::vector<T> vals(const Tensor& t) {
  auto s = t.values<T>();
  return {s.begin(), s.end()};
}
ValueType vt(DType d, std::vector<Dim> dims) {
  return ValueType{d, Shape(std::move(dims))};
}

// Expects an Error whose message names the node and contains `what`.
template <typename F>
void expect_error(F f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << what << "'";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("\"n\""), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  }
}

TEST(ShapeOps, ReshapeCopiesZerosAndInfersMinusOne) {
  OpCase c("Reshape", 14, 2);
  auto out = c.run({iota_f({2, 3, 4}), i64v({0, -1, 2})});
  EXPECT_EQ(out[0].dims(), (Dims{2, 6, 2}));
  EXPECT_EQ(out[0].data<float>()[23], 23.0f);
  c.attr("allowzero", int64_t(1));
  EXPECT_EQ(c.run({Tensor(DType::Float32, {0, 3}), i64v({3, 0})})[0].dims(), (Dims{3, 0}));
  expect_error([&] { c.run({iota_f({2, 3}), i64v({0, -1})}); }, "when other dimensions are 0");
  OpCase d("Reshape", 13, 2);
  expect_error([&] { d.run({iota_f({2, 3}), i64v({-1, -1})}); }, "more than one -1");
  expect_error([&] { d.run({iota_f({2, 3}), i64v({4, 2})}); }, "cannot reshape");
}

TEST(ShapeOps, ShapeHonoursStartEndFromVersion15) {
  OpCase c("Shape", 15, 1);
  c.attr("start", int64_t(-3)).attr("end", int64_t(-1));
  EXPECT_EQ(vals<int64_t>(c.run({iota_f({2, 3, 4, 5})})[0]), (std::vector<int64_t>{3, 4}));
  c.attr("start", int64_t(10));
  EXPECT_EQ(c.run({iota_f({2, 3})})[0].numel(), 0);
  OpCase old("Shape", 13, 1);
  old.attr("start", int64_t(1));  // not an attribute before v15: ignored
  EXPECT_EQ(vals<int64_t>(old.run({iota_f({2, 3})})[0]), (std::vector<int64_t>{2, 3}));
}

TEST(ShapeOps, SqueezeUnsqueezeAttributeAndInputForms) {
  OpCase u11("Unsqueeze", 11, 1);
  u11.attr("axes", std::vector<int64_t>{0, -1});
  EXPECT_EQ(u11.run({iota_f({3, 4})})[0].dims(), (Dims{1, 3, 4, 1}));
  OpCase u13("Unsqueeze", 13, 2);
  EXPECT_EQ(u13.run({iota_f({3, 4}), i64v({1, 3})})[0].dims(), (Dims{3, 1, 4, 1}));
  expect_error([&] { u13.run({iota_f({3}), i64v({1, 1})}); }, "repeated");
  OpCase s13("Squeeze", 13, 2);
  EXPECT_EQ(s13.run({iota_f({1, 3, 1})})[0].dims(), (Dims{3}));  // no axes: all size-1 dims
  expect_error([&] { s13.run({iota_f({1, 3}), i64v({1})}); }, "cannot squeeze axis 1");
  expect_error([&] { s13.run({Tensor::scalar<float>(1), i64v({0})}); }, "scalar");
  OpCase sp("Split", 13, 1, 2);
  expect_error([&] { sp.run({Tensor::scalar<float>(1)}); }, "rank >= 1");
  OpCase tile("Tile", 13, 2);
  expect_error(
      [&] {
        tile.run({Tensor(DType::Float32, {0, int64_t(1) << 40}), i64v({1, int64_t(1) << 40})});
      },
      "too large");
  OpCase f("Flatten", 13, 1);
  f.attr("axis", int64_t(-1));
  EXPECT_EQ(f.run({iota_f({2, 3, 4})})[0].dims(), (Dims{6, 4}));
}

TEST(ShapeOps, SliceClampsLikeNumpyWithNegativeSteps) {
  OpCase c("Slice", 13, 5);
  Tensor x = iota_f({10});
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  auto run = [&](int64_t s, int64_t e, int64_t st) {
    Tensor a = i64v({s}), b = i64v({e}), ax = i64v({0}), step = i64v({st});
    return vals<float>(c.run({&x, &a, &b, &ax, &step})[0]);
  };
  EXPECT_EQ(run(-1, lo, -2), (std::vector<float>{9, 7, 5, 3, 1}));
  EXPECT_EQ(run(20, -20, -1).size(), 10u);
  EXPECT_EQ(run(2, hi, 3), (std::vector<float>{2, 5, 8}));
  EXPECT_EQ(run(5, 2, 1).size(), 0u);
  EXPECT_EQ(run(-100, 2, 1), (std::vector<float>{0, 1}));
  expect_error([&] { run(0, 5, 0); }, "step cannot be 0");
  // v1: attributes, axes default to the first dims.
  OpCase v1("Slice", 1, 1);
  v1.attr("starts", std::vector<int64_t>{1, 0}).attr("ends", std::vector<int64_t>{2, -1});
  Tensor y = v1.run({iota_f({3, 4})})[0];
  EXPECT_EQ(y.dims(), (Dims{1, 3}));
  EXPECT_EQ(vals<float>(y), (std::vector<float>{4, 5, 6}));
}

TEST(ShapeOps, GatherWrapsNegativeIndicesAndRejectsOutOfRange) {
  OpCase c("Gather", 13, 2);
  c.attr("axis", int64_t(1));
  Tensor y = c.run({iota_f({2, 3}), i64({2}, {-1, 0})})[0];
  EXPECT_EQ(y.dims(), (Dims{2, 2}));
  EXPECT_EQ(vals<float>(y), (std::vector<float>{2, 0, 5, 3}));
  expect_error([&] { c.run({iota_f({2, 3}), i64({1}, {3})}); }, "index 3 is out of range");
  expect_error([&] { c.run({iota_f({2, 3}), i64({1}, {-4})}); }, "out of range");
}

TEST(ShapeOps, GatherScatterElements) {
  OpCase g("GatherElements", 13, 2);
  g.attr("axis", int64_t(1));
  EXPECT_EQ(vals<float>(g.run({iota_f({2, 2}), i64({2, 2}, {0, -1, 1, 0})})[0]), (std::vector<float>{0, 1, 3, 2}));
  expect_error([&] { g.run({iota_f({2, 2}), i64({2, 1}, {2, 0})}); }, "out of range");
  OpCase s("ScatterElements", 16, 3);
  s.attr("axis", int64_t(0)).attr("reduction", std::string("add"));
  // Duplicate indices accumulate with reduction=add.
  Tensor out = s.run({f32({3}, {1, 1, 1}), i64({3}, {2, -1, 0}), f32({3}, {5, 6, 7})})[0];
  EXPECT_EQ(vals<float>(out), (std::vector<float>{8, 1, 12}));
  OpCase sc("Scatter", 9, 3);
  EXPECT_EQ(vals<float>(sc.run({f32({3}, {1, 1, 1}), i64({1}, {1}), f32({1}, {9})})[0]), (std::vector<float>{1, 9, 1}));
}

TEST(ShapeOps, GatherNDWithBatchDimsAndScatterND) {
  OpCase g("GatherND", 12, 2);
  g.attr("batch_dims", int64_t(1));
  // data [2,2,2], indices [2,1]: batch b picks data[b, idx].
  Tensor y = g.run({iota_f({2, 2, 2}), i64({2, 1}, {1, 0})})[0];
  EXPECT_EQ(y.dims(), (Dims{2, 2}));
  EXPECT_EQ(vals<float>(y), (std::vector<float>{2, 3, 4, 5}));
  OpCase s("ScatterND", 16, 3);
  s.attr("reduction", std::string("mul"));
  Tensor out = s.run({f32({4}, {1, 2, 3, 4}), i64({2, 1}, {-1, 3}), f32({2}, {10, 2})})[0];
  EXPECT_EQ(vals<float>(out), (std::vector<float>{1, 2, 3, 80}));
  expect_error([&] { s.run({f32({4}, {1, 2, 3, 4}), i64({1, 1}, {4}), f32({1}, {1})}); }, "out of range");
}

TEST(ShapeOps, PadModesAndNegativePads) {
  Tensor x = f32({4}, {1, 2, 3, 4});
  auto pad = [&](const std::string& mode, std::vector<int64_t> pads) {
    OpCase c("Pad", 13, 3);
    c.attr("mode", mode);
    Tensor p = i64v(pads), v = Tensor::scalar<float>(-1.0f);
    return vals<float>(c.run({&x, &p, &v})[0]);
  };
  EXPECT_EQ(pad("constant", {2, -1}), (std::vector<float>{-1, -1, 1, 2, 3}));
  EXPECT_EQ(pad("reflect", {2, 2}), (std::vector<float>{3, 2, 1, 2, 3, 4, 3, 2}));
  EXPECT_EQ(pad("edge", {1, 2}), (std::vector<float>{1, 1, 2, 3, 4, 4, 4}));
  OpCase v2("Pad", 2, 1);
  v2.attr("pads", std::vector<int64_t>{0, 1, 0, 0}).attr("value", 7.0f);
  EXPECT_EQ(vals<float>(v2.run({f32({1, 1}, {5})})[0]), (std::vector<float>{7, 5}));
  OpCase bad("Pad", 13, 2);
  expect_error([&] { bad.run({x, i64v({-3, -3})}); }, "remove more");
}

TEST(ShapeOps, TopKBreaksTiesByLowerIndex) {
  OpCase c("TopK", 11, 2, 2);
  Tensor x = f32({5}, {1, 3, 3, NAN, 0});
  auto out = c.run({x, i64v({3})});
  EXPECT_TRUE(std::isnan(out[0].data<float>()[0]));  // NaN sorts as the largest
  EXPECT_EQ(vals<int64_t>(out[1]), (std::vector<int64_t>{3, 1, 2}));
  c.attr("largest", int64_t(0));
  EXPECT_EQ(vals<int64_t>(c.run({x, i64v({2})})[1]), (std::vector<int64_t>{4, 0}));
  expect_error([&] { c.run({x, i64v({6})}); }, "out of range");
}

TEST(ShapeOps, UniqueSortedAndInFirstOccurrenceOrder) {
  OpCase c("Unique", 11, 1, 4);
  Tensor x = f32({6}, {2, 1, 1, 3, 4, 3});
  auto s = c.run({x});
  EXPECT_EQ(vals<float>(s[0]), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(vals<int64_t>(s[1]), (std::vector<int64_t>{1, 0, 3, 4}));
  EXPECT_EQ(vals<int64_t>(s[2]), (std::vector<int64_t>{1, 0, 0, 2, 3, 2}));
  EXPECT_EQ(vals<int64_t>(s[3]), (std::vector<int64_t>{2, 1, 2, 1}));
  c.attr("sorted", int64_t(0));
  auto u = c.run({x});
  EXPECT_EQ(vals<float>(u[0]), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_EQ(vals<int64_t>(u[2]), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
}

TEST(ShapeOps, CumSumExclusiveReverse) {
  OpCase c("CumSum", 14, 2);
  c.attr("exclusive", int64_t(1)).attr("reverse", int64_t(1));
  EXPECT_EQ(vals<float>(c.run({f32({4}, {1, 2, 3, 4}), i64({}, {0})})[0]), (std::vector<float>{9, 7, 4, 0}));
  OpCase d("CumSum", 14, 2);
  EXPECT_EQ(vals<float>(d.run({iota_f({2, 2}), Tensor::scalar<int32_t>(-1)})[0]), (std::vector<float>{0, 1, 2, 5}));
}

TEST(ShapeOps, CastCoversHalfTypesAndRejectsStrings) {
  OpCase c("Cast", 13, 1);
  c.attr("to", int64_t(DType::Float16));
  Tensor h = c.run({f32({2}, {1.0f, 65504.0f})})[0];
  EXPECT_EQ(h.dtype(), DType::Float16);
  EXPECT_EQ(h.data<Float16>()[1].bits, 0x7bff);
  c.attr("to", int64_t(DType::Int32));
  EXPECT_EQ(vals<int32_t>(c.run({f32({2}, {-1.7f, 2.9f})})[0]), (std::vector<int32_t>{-1, 2}));
  c.attr("to", int64_t(DType::String));
  EXPECT_THROW(c.run({f32({1}, {1})}), UnsupportedError);
  OpCase like("CastLike", 15, 2);
  EXPECT_EQ(like.run({f32({1}, {2.5f}), Tensor(DType::BFloat16, {})})[0].data<BFloat16>()[0].bits, 0x4020);
}

TEST(ShapeOps, ConstantForms) {
  OpCase c("Constant", 13, 0);
  c.attr("value_ints", std::vector<int64_t>{4, 5});
  EXPECT_EQ(vals<int64_t>(c.run(std::vector<Tensor>{})[0]), (std::vector<int64_t>{4, 5}));
  OpCase f("Constant", 13, 0);
  f.attr("value_float", 2.5f);
  Tensor t = f.run(std::vector<Tensor>{})[0];
  EXPECT_EQ(t.rank(), 0);
  EXPECT_EQ(t.data<float>()[0], 2.5f);
  f.attr("value_int", int64_t(1));
  expect_error([&] { f.run(std::vector<Tensor>{}); }, "exactly one");
  OpCase s("Constant", 13, 0);
  s.attr("value_string", std::string("x"));
  EXPECT_THROW(s.run(std::vector<Tensor>{}), UnsupportedError);
  OpCase cos("ConstantOfShape", 9, 1);
  cos.attr("value", Tensor::from_vector<int32_t>({1}, {7}));
  Tensor y = cos.run({i64v({2, 3})})[0];
  EXPECT_EQ(y.dtype(), DType::Int32);
  EXPECT_EQ(vals<int32_t>(y), (std::vector<int32_t>(6, 7)));
}

TEST(ShapeOps, LayoutOps) {
  OpCase t("Transpose", 13, 1);
  EXPECT_EQ(vals<float>(t.run({iota_f({2, 3})})[0]), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  OpCase cat("Concat", 13, 2);
  cat.attr("axis", int64_t(-1));
  EXPECT_EQ(vals<float>(cat.run({iota_f({2, 1}), f32({2, 2}, {7, 8, 9, 10})})[0]),
            (std::vector<float>{0, 7, 8, 1, 9, 10}));
  expect_error([&] { cat.run({iota_f({2, 1}), iota_f({3, 1})}); }, "incompatible");
  OpCase sp("Split", 13, 2, 2);
  auto parts = sp.run({iota_f({5}), i64v({2, 3})});
  EXPECT_EQ(vals<float>(parts[1]), (std::vector<float>{2, 3, 4}));
  expect_error([&] { sp.run({iota_f({5}), i64v({2, 2})}); }, "add up to 4");
  OpCase sp11("Split", 11, 1, 2);
  expect_error([&] { sp11.run({iota_f({5})}); }, "equal parts");
  OpCase tile("Tile", 13, 2);
  EXPECT_EQ(vals<float>(tile.run({iota_f({1, 2}), i64v({2, 2})})[0]), (std::vector<float>{0, 1, 0, 1, 0, 1, 0, 1}));
  OpCase d2s("DepthToSpace", 13, 1);
  d2s.attr("blocksize", int64_t(2)).attr("mode", std::string("CRD"));
  Tensor y = d2s.run({iota_f({1, 4, 1, 1})})[0];
  EXPECT_EQ(y.dims(), (Dims{1, 1, 2, 2}));
  EXPECT_EQ(vals<float>(y), (std::vector<float>{0, 1, 2, 3}));
  OpCase s2d("SpaceToDepth", 13, 1);
  s2d.attr("blocksize", int64_t(2));
  EXPECT_EQ(vals<float>(s2d.run({iota_f({1, 1, 2, 2})})[0]), (std::vector<float>{0, 1, 2, 3}));
  OpCase ex("Expand", 13, 2);
  EXPECT_EQ(ex.run({iota_f({3, 1}), i64v({2, 1, 4})})[0].dims(), (Dims{2, 3, 4}));
}

TEST(ShapeOps, SelectAndGenerate) {
  OpCase w("Where", 16, 3);
  Tensor cond = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_EQ(vals<float>(w.run({cond, iota_f({2, 2}), f32({}, {-1})})[0]), (std::vector<float>{0, -1, 2, -1}));
  OpCase cp("Compress", 11, 2);
  cp.attr("axis", int64_t(0));
  EXPECT_EQ(vals<float>(cp.run({iota_f({3, 2}), Tensor::from_vector<bool>({2}, {false, true})})[0]),
            (std::vector<float>{2, 3}));
  OpCase nz("NonZero", 13, 1);
  EXPECT_EQ(vals<int64_t>(nz.run({f32({2, 2}, {0, 1, 1, 0})})[0]), (std::vector<int64_t>{0, 1, 1, 0}));
  OpCase oh("OneHot", 11, 3);
  Tensor y = oh.run({i64v({-1, 5}), Tensor::scalar<float>(3), f32({2}, {0, 1})})[0];
  EXPECT_EQ(vals<float>(y), (std::vector<float>{0, 0, 1, 0, 0, 0}));  // -1 wraps, 5 is off-range
  OpCase tr("Trilu", 14, 2);
  tr.attr("upper", int64_t(0));
  EXPECT_EQ(vals<float>(tr.run({iota_f({2, 2}), i64({}, {-1})})[0]), (std::vector<float>{0, 0, 2, 0}));
  OpCase eye("EyeLike", 9, 1);
  eye.attr("k", int64_t(1)).attr("dtype", int64_t(DType::Int32));
  EXPECT_EQ(vals<int32_t>(eye.run({iota_f({2, 3})})[0]), (std::vector<int32_t>{0, 1, 0, 0, 0, 1}));
  OpCase rg("Range", 11, 3);
  EXPECT_EQ(
      vals<int32_t>(rg.run({Tensor::scalar<int32_t>(10), Tensor::scalar<int32_t>(4), Tensor::scalar<int32_t>(-3)})[0]),
      (std::vector<int32_t>{10, 7}));
  expect_error(
      [&] {
        rg.run({Tensor::scalar<int32_t>(0), Tensor::scalar<int32_t>(4), Tensor::scalar<int32_t>(0)});
      },
      "delta cannot be 0");
  OpCase rs("ReverseSequence", 10, 2);
  rs.attr("batch_axis", int64_t(0)).attr("time_axis", int64_t(1));
  EXPECT_EQ(vals<float>(rs.run({iota_f({2, 3}), i64v({2, 3})})[0]), (std::vector<float>{1, 0, 2, 5, 4, 3}));
}

// The shape-computation chain of many exported models, with a symbolic batch:
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
TEST(ShapeOps, InferenceThroughShapeChains) {
  ValueType x = vt(DType::Float32, {Dim::named("batch"), 3, 4});
  OpCase sh("Shape", 13, 1);
  EXPECT_EQ(sh.infer({x}, {nullptr})[0], vt(DType::Int64, {3}));
  OpCase ga("Gather", 13, 2);
  EXPECT_EQ(ga.infer({vt(DType::Int64, {3}), vt(DType::Int64, {})}, {nullptr, nullptr})[0], vt(DType::Int64, {}));
  OpCase un("Unsqueeze", 13, 2);
  Tensor axes = i64v({0});
  EXPECT_EQ(un.infer({vt(DType::Int64, {}), vt(DType::Int64, {1})}, {nullptr, &axes})[0], vt(DType::Int64, {1}));
  OpCase rs("Reshape", 13, 2);
  Tensor shape = i64v({0, -1});
  EXPECT_EQ(rs.infer({x, vt(DType::Int64, {2})}, {nullptr, &shape})[0],
            vt(DType::Float32, {Dim::named("batch"), Dim()}));
  EXPECT_EQ(rs.infer({vt(DType::Float32, {2, 3, 4}), vt(DType::Int64, {2})}, {nullptr, &shape})[0],
            vt(DType::Float32, {2, 12}));
  EXPECT_EQ(rs.infer({x, vt(DType::Int64, {2})}, {nullptr, nullptr})[0], vt(DType::Float32, {Dim(), Dim()}));
  OpCase sl("Slice", 13, 3);
  Tensor s = i64v({1}), e = i64v({-1});
  EXPECT_EQ(sl.infer({x, vt(DType::Int64, {1}), vt(DType::Int64, {1})}, {nullptr, &s, &e})[0],
            vt(DType::Float32, {Dim(), 3, 4}));
  OpCase cat("Concat", 13, 2);
  cat.attr("axis", int64_t(1));
  EXPECT_EQ(cat.infer({x, vt(DType::Float32, {Dim::named("batch"), 5, 4})}, {nullptr, nullptr})[0],
            vt(DType::Float32, {Dim::named("batch"), 8, 4}));
  OpCase ex("Expand", 13, 2);
  Tensor to = i64v({2, 1, 1, 1});
  // [batch,3,4] against [2,1,1,1]: the leading 2 is new, batch stays, 3 and 4 win over 1.
  EXPECT_EQ(ex.infer({x, vt(DType::Int64, {4})}, {nullptr, &to})[0],
            vt(DType::Float32, {2, Dim::named("batch"), 3, 4}));
  OpCase fl("Flatten", 13, 1);
  EXPECT_EQ(fl.infer({x}, {nullptr})[0], vt(DType::Float32, {Dim::named("batch"), 12}));
  OpCase cast("Cast", 13, 1);
  cast.attr("to", int64_t(DType::Int64));
  EXPECT_EQ(cast.infer({x}, {nullptr})[0].dtype, DType::Int64);
  OpCase unknown("Transpose", 13, 1);
  EXPECT_FALSE(unknown.infer({std::nullopt}, {nullptr})[0].shape.rank_known);
}

}  // namespace
}  // namespace wafer
