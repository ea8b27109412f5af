// ONNX importer: every bad-input path gives an Error naming the file, the node
// and the reason; every storage form and graph feature imports correctly.
// Models are built with the ONNX protobuf classes, serialized and imported.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <variant>

#include "backends/backend.h"
#include "backends/reference/interpreter.h"
#include "frontend/inputs.h"
#include "frontend/onnx/importer.h"
#include "ir/op_registry.h"
#include "passes/shape_propagation.h"

namespace wafer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using AP = onnx::AttributeProto;
using TP = onnx::TensorProto;

// A test-only op with a declared float attribute, to check that the importer
// enforces declared attribute types.
WAFER_REGISTER_OP(importer_test_attr_op,
                  {.name = "AttrOp",
                   .domain = "test.wafer",
                   .since = 1,
                   .attrs = {{"alpha", AttrType::Float}},
                   .kernel = [](const KernelContext& ctx) { return std::vector<Tensor>{ctx.in(0)}; }});

using DimSpec = std::variant<int64_t, std::string>;

onnx::ModelProto new_model(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("importer_test");
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  m.mutable_graph()->set_name("main");
  return m;
}

void set_type(onnx::ValueInfoProto* vi, const std::string& name, int elem, const std::vector<DimSpec>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) {
    if (auto* v = std::get_if<int64_t>(&d))
      shape->add_dim()->set_dim_value(*v);
    else
      shape->add_dim()->set_dim_param(std::get<std::string>(d));
  }
}
void add_input(onnx::GraphProto* g, const std::string& name, const std::vector<DimSpec>& dims, int elem = TP::FLOAT) {
  set_type(g->add_input(), name, elem, dims);
}
void add_output(onnx::GraphProto* g, const std::string& name, const std::vector<DimSpec>& dims = {},
                int elem = TP::FLOAT) {
  set_type(g->add_output(), name, elem, dims);
}
onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> ins,
                          std::vector<std::string> outs, const std::string& name = {}) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return n;
}
TP* add_float_init(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(TP::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float f : v) t->add_float_data(f);
  return t;
}
void add_graph_attr(onnx::NodeProto* n, const std::string& name, const onnx::GraphProto& g) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(AP::GRAPH);
  *a->mutable_g() = g;
}

// y = Relu(x + w), x: float[2], w = [1, -5].
onnx::ModelProto add_relu_model() {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2)});
  add_float_init(g, "w", {2}, {1, -5});
  add_node(g, "Add", {"x", "w"}, {"s"}, "add");
  add_node(g, "Relu", {"s"}, {"y"}, "relu");
  add_output(g, "y", {int64_t(2)});
  return m;
}

ImportOptions lenient() {
  ImportOptions o;
  o.reject_unsupported = false;
  return o;
}

Model import(const onnx::ModelProto& m, const ImportOptions& options = {}) {
  return import_onnx_bytes(m.SerializeAsString(), "bad.onnx", ".", options);
}

// The message of the Error importing `bytes` throws ("" if none).
std::string error_of_bytes(const std::string& bytes, const ImportOptions& options = {}) {
  try {
    import_onnx_bytes(bytes, "bad.onnx", ".", options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
std::string error_of(const onnx::ModelProto& m, const ImportOptions& options = {}) {
  return error_of_bytes(m.SerializeAsString(), options);
}

// A fresh folder for models with external data, removed at the end.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("wafer_importer_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_ / "model");
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path model_dir() const { return path_ / "model"; }
  fs::path root() const { return path_; }
  void write(const fs::path& p, const std::string& bytes) const {
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }

 private:
  fs::path path_;
};

std::string floats_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

void set_external(TP* t, const std::string& location, std::optional<std::string> offset = {},
                  std::optional<std::string> length = {}) {
  t->clear_float_data();
  t->set_data_location(TP::EXTERNAL);
  auto kv = [&](const char* k, const std::string& v) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", location);
  if (offset) kv("offset", *offset);
  if (length) kv("length", *length);
}

std::vector<float> run_floats(const Model& m, const std::vector<Tensor>& inputs, size_t output = 0) {
  Interpreter interp;
  auto outs = interp.run(*m.graph, inputs);
  auto v = outs.at(output).values<float>();
  return {v.begin(), v.end()};
}

// ---- Malformed files --------------------------------------------------------

TEST(ImporterErrors, GarbageTruncatedAndEmptyFiles) {
  EXPECT_THAT(error_of_bytes("this is not a protobuf \xff\xff\xff\xff"),
              AllOf(HasSubstr("bad.onnx"), HasSubstr("not a valid ONNX model")));
  EXPECT_THAT(error_of_bytes(""), AllOf(HasSubstr("bad.onnx"), HasSubstr("empty")));

  auto m = add_relu_model();
  std::vector<float> big(100, 1.0f);
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("big");
  t->set_data_type(TP::FLOAT);
  t->add_dims(100);
  t->set_raw_data(floats_bytes(big));
  std::string bytes = m.SerializeAsString();
  // Cut inside the raw_data: the declared length runs past the end.
  EXPECT_THAT(error_of_bytes(bytes.substr(0, bytes.size() - 200)), HasSubstr("truncated"));
}

TEST(ImporterErrors, ModelWithoutGraphOrOutputs) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  EXPECT_THAT(error_of(m), AllOf(HasSubstr("bad.onnx"), HasSubstr("no graph")));
  auto m2 = new_model();
  add_input(m2.mutable_graph(), "x", {int64_t(1)});
  EXPECT_THAT(error_of(m2), HasSubstr("no outputs"));
}

TEST(ImporterErrors, MissingInitializerNamesNodeAndValue) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2)});
  add_node(g, "Add", {"x", "weights"}, {"y"}, "the_add");
  add_output(g, "y");
  EXPECT_THAT(error_of(m),
              AllOf(HasSubstr("bad.onnx"), HasSubstr("\"the_add\""), HasSubstr("'weights'"), HasSubstr("not defined")));
}

TEST(ImporterErrors, CycleNamesTheNodes) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2)});
  add_node(g, "Add", {"x", "b"}, {"a"}, "first");
  add_node(g, "Add", {"a", "x"}, {"b"}, "second");
  add_node(g, "Relu", {"b"}, {"y"}, "out");
  add_output(g, "y");
  EXPECT_THAT(error_of(m),
              AllOf(HasSubstr("bad.onnx"), HasSubstr("cycle"), HasSubstr("\"first\""), HasSubstr("\"second\"")));
}

TEST(ImporterErrors, DuplicateNames) {
  {  // one value produced by two nodes
    auto m = new_model();
    auto* g = m.mutable_graph();
    add_input(g, "x", {int64_t(2)});
    add_node(g, "Relu", {"x"}, {"y"}, "r1");
    add_node(g, "Relu", {"x"}, {"y"}, "r2");
    add_output(g, "y");
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("'y'"), HasSubstr("\"r1\""), HasSubstr("\"r2\"")));
  }
  {  // a node output that redefines a graph input
    auto m = new_model();
    auto* g = m.mutable_graph();
    add_input(g, "x", {int64_t(2)});
    add_input(g, "other", {int64_t(2)});
    add_node(g, "Relu", {"other"}, {"x"}, "again");
    add_output(g, "x");
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("\"again\""), HasSubstr("'x' is already defined")));
  }
  {  // a node output that redefines an initializer
    auto m = add_relu_model();
    add_node(m.mutable_graph(), "Relu", {"x"}, {"w"}, "shadow");
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("\"shadow\""), HasSubstr("'w' is already defined")));
  }
  {  // initializer twice, input twice
    auto m = add_relu_model();
    add_float_init(m.mutable_graph(), "w", {2}, {0, 0});
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("initializer 'w' appears twice")));
    auto m2 = add_relu_model();
    add_input(m2.mutable_graph(), "x", {int64_t(2)});
    EXPECT_THAT(error_of(m2), HasSubstr("input 'x' is listed twice"));
  }
  {  // repeated node names are made unique so every error is unambiguous
    auto m = add_relu_model();
    m.mutable_graph()->mutable_node(1)->set_name("add");
    Model model = import(m);
    EXPECT_EQ(model.graph->nodes[0]->name, "add");
    EXPECT_EQ(model.graph->nodes[1]->name, "add~2");
  }
  {  // an opset domain imported twice
    auto m = add_relu_model();
    m.add_opset_import()->set_version(12);
    EXPECT_THAT(error_of(m), AllOf(HasSubstr("opset_import"), HasSubstr("imported twice")));
  }
}

TEST(ImporterErrors, InitializerDataDoesNotMatchShape) {
  auto m = add_relu_model();
  add_float_init(m.mutable_graph(), "short", {2, 3}, {1, 2, 3, 4, 5});
  EXPECT_THAT(error_of(m), AllOf(HasSubstr("bad.onnx"), HasSubstr("initializer 'short'"), HasSubstr("[2,3]"),
                                 HasSubstr("data for 5")));
  auto m2 = add_relu_model();
  auto* t = m2.mutable_graph()->add_initializer();
  t->set_name("raw");
  t->set_data_type(TP::FLOAT);
  t->add_dims(2);
  t->set_raw_data(std::string(9, '\0'));  // 8 + 1 bytes
  EXPECT_THAT(error_of(m2), AllOf(HasSubstr("initializer 'raw'"), HasSubstr("9 bytes")));
}

TEST(ImporterErrors, OverflowingAndGiganticShapesFailWithoutAllocating) {
  auto m = add_relu_model();
  add_float_init(m.mutable_graph(), "overflow", {int64_t(1) << 40, int64_t(1) << 40}, {});
  EXPECT_THAT(error_of(m), AllOf(HasSubstr("initializer 'overflow'"), HasSubstr("64 bits")));

  auto m2 = add_relu_model();
  auto* t = m2.mutable_graph()->add_initializer();
  t->set_name("huge");
  t->set_data_type(TP::FLOAT);
  t->add_dims(int64_t(1) << 38);  // 1 TiB declared, 4 bytes present
  t->set_raw_data(std::string(4, '\0'));
  EXPECT_THAT(error_of(m2), AllOf(HasSubstr("initializer 'huge'"), HasSubstr("holds data for 1")));

  auto m3 = add_relu_model();
  add_float_init(m3.mutable_graph(), "negative", {2, -3}, {});
  EXPECT_THAT(error_of(m3), AllOf(HasSubstr("initializer 'negative'"), HasSubstr("negative dimension")));
}

TEST(ImporterErrors, ValueInfoDims) {
  auto m = add_relu_model();
  set_type(m.mutable_graph()->add_value_info(), "s", TP::FLOAT, {int64_t(-4)});
  EXPECT_THAT(error_of(m), AllOf(HasSubstr("'s'"), HasSubstr("negative dimension -4")));

  auto m2 = add_relu_model();
  m2.mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->set_dim_value(-1);
  EXPECT_THAT(error_of(m2), AllOf(HasSubstr("input 'x'"), HasSubstr("negative dimension")));

  // A huge declared input imports (it is only a declaration) but generating
  // an input of that size is an error naming the input, not an allocation.
  auto m3 = new_model();
  auto* g = m3.mutable_graph();
  add_input(g, "big", {int64_t(1) << 40, int64_t(1) << 40});
  add_node(g, "Relu", {"big"}, {"y"});
  add_output(g, "y");
  Model model = import(m3);
  try {
    make_inputs(*model.graph, {}, {}, 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), AllOf(HasSubstr("input 'big'"), HasSubstr("64 bits")));
  }
}

TEST(ImporterErrors, UndeclaredDomainAndBadOpsets) {
  auto m = add_relu_model();
  m.mutable_graph()->mutable_node(1)->set_domain("com.example");
  EXPECT_THAT(error_of(m), AllOf(HasSubstr("bad.onnx"), HasSubstr("\"relu\""), HasSubstr("'com.example'"),
                                 HasSubstr("not declared")));
  auto m2 = add_relu_model();
  m2.mutable_opset_import(0)->set_version(-3);
  EXPECT_THAT(error_of(m2), AllOf(HasSubstr("opset_import"), HasSubstr("invalid version -3")));
  auto m3 = add_relu_model();
  m3.mutable_opset_import(0)->set_version(int64_t(1) << 33);  // would truncate to 0 as int
  EXPECT_THAT(error_of(m3), HasSubstr("invalid version"));
}

TEST(ImporterErrors, AttributesOfTheWrongType) {
  auto with_attr = [](auto fill) {
    auto m = add_relu_model();
    auto* os = m.add_opset_import();
    os->set_domain("test.wafer");
    os->set_version(1);
    auto* g = m.mutable_graph();
    auto* n = add_node(g, "AttrOp", {"y"}, {"z"}, "attr_node");
    n->set_domain("test.wafer");
    auto* a = n->add_attribute();
    a->set_name("alpha");
    fill(a);
    g->mutable_output(0)->set_name("z");
    return m;
  };
  // Declared type INT, value in `f`: would silently read as 0.
  EXPECT_THAT(error_of(with_attr([](AP* a) {
                a->set_type(AP::INT);
                a->set_f(0.5f);
              })),
              AllOf(HasSubstr("\"attr_node\""), HasSubstr("'alpha'"), HasSubstr("declared INT but holds a FLOAT")));
  // Declared FLOAT, no value at all.
  EXPECT_THAT(error_of(with_attr([](AP* a) { a->set_type(AP::FLOAT); })),
              AllOf(HasSubstr("\"attr_node\""), HasSubstr("field 'f' is not set")));
  // No type, no value.
  EXPECT_THAT(error_of(with_attr([](AP*) {})), AllOf(HasSubstr("'alpha'"), HasSubstr("no type and no value")));
  // Consistent proto, but the op declares alpha as float.
  EXPECT_THAT(error_of(with_attr([](AP* a) {
                a->set_type(AP::STRING);
                a->set_s("fast");
              })),
              AllOf(HasSubstr("\"attr_node\""), HasSubstr("'alpha' is string, expected float")));
  // Function attribute references are only valid inside functions.
  EXPECT_THAT(error_of(with_attr([](AP* a) {
                a->set_type(AP::FLOAT);
                a->set_ref_attr_name("outer_alpha");
              })),
              HasSubstr("function attribute 'outer_alpha'"));
  // The right type imports and runs.
  Model ok = import(with_attr([](AP* a) {
    a->set_type(AP::FLOAT);
    a->set_f(0.5f);
  }));
  EXPECT_FLOAT_EQ(ok.graph->nodes.back()->attr_float("alpha"), 0.5f);
}

TEST(ImporterErrors, UnsupportedTypes) {
  auto m = add_relu_model();
  auto* in = m.mutable_graph()->add_input();
  in->set_name("seq");
  in->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(TP::FLOAT);
  try {
    import(m);
    ADD_FAILURE() << "no error";
  } catch (const UnsupportedError& e) {
    EXPECT_THAT(std::string(e.what()), AllOf(HasSubstr("'seq'"), HasSubstr("sequence")));
  }
  auto m2 = add_relu_model();
  m2.mutable_graph()->mutable_initializer(0)->set_data_type(99);
  EXPECT_THAT(error_of(m2), AllOf(HasSubstr("initializer 'w'"), HasSubstr("element type 99")));
}

// An If nested `depth` levels deep: each then_branch holds the next level,
// each else_branch a single Relu, so the file grows linearly with depth.
onnx::ModelProto nested_model(int depth) {
  onnx::GraphProto leaf;
  add_node(&leaf, "Relu", {"x"}, {"r"});
  add_output(&leaf, "r");
  onnx::GraphProto g = leaf;
  for (int i = 0; i < depth; ++i) {
    onnx::GraphProto outer;
    outer.set_name("level" + std::to_string(i));
    auto* n = add_node(&outer, "If", {"cond"}, {"r"}, "if" + std::to_string(i));
    add_graph_attr(n, "then_branch", g);
    add_graph_attr(n, "else_branch", leaf);
    add_output(&outer, "r");
    g = std::move(outer);
  }
  auto m = new_model();
  *m.mutable_graph() = g;
  m.mutable_graph()->set_name("main");
  add_input(m.mutable_graph(), "x", {int64_t(2)});
  add_input(m.mutable_graph(), "cond", {}, TP::BOOL);
  return m;
}

TEST(ImporterErrors, DeeplyNestedSubgraphs) {
  // Moderate nesting imports: depth If nodes plus depth + 1 Relus.
  Model ok = import(nested_model(10), lenient());
  EXPECT_EQ(ok.graph->node_count_recursive(), 21u);
  // Just past the limit: a clear message.
  EXPECT_THAT(error_of(nested_model(33), lenient()), AllOf(HasSubstr("bad.onnx"), HasSubstr("nested more than 32")));
  // Far past it, the protobuf parser stops first (bounded recursion).
  EXPECT_THAT(error_of(nested_model(300), lenient()), AllOf(HasSubstr("bad.onnx"), HasSubstr("nested")));
}

TEST(ImporterErrors, SubgraphErrorsNameTheEnclosingNode) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "cond", {}, TP::BOOL);
  add_input(g, "x", {int64_t(2)});
  auto* n = add_node(g, "If", {"cond"}, {"y"}, "branchy");
  onnx::GraphProto then_g;
  add_node(&then_g, "Add", {"x", "nowhere"}, {"t"}, "inner_add");
  add_output(&then_g, "t");
  onnx::GraphProto else_g;
  add_node(&else_g, "Relu", {"x"}, {"e"});
  add_output(&else_g, "e");
  add_graph_attr(n, "then_branch", then_g);
  add_graph_attr(n, "else_branch", else_g);
  add_output(g, "y");
  EXPECT_THAT(error_of(m, lenient()), AllOf(HasSubstr("bad.onnx"), HasSubstr("\"branchy\""), HasSubstr("\"inner_add\""),
                                            HasSubstr("'nowhere'")));
}

TEST(ImporterErrors, WrongRanksAreReportedAtRunTimeNamingTheNode) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2), int64_t(3)});
  add_float_init(g, "w", {4}, {1, 2, 3, 4});
  add_node(g, "Add", {"x", "w"}, {"y"}, "mismatch");
  add_output(g, "y");
  Model model = import(m);
  Interpreter interp;
  try {
    interp.run(*model.graph, {Tensor(DType::Float32, {2, 3})});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("\"mismatch\""));
  }
}

// ---- External data ----------------------------------------------------------

TEST(ImporterExternalData, ReadsOffsetAndLength) {
  TempDir dir;
  dir.write(dir.model_dir() / "weights.bin", floats_bytes({9, 9, 1, -5, 9}));
  auto m = add_relu_model();
  set_external(m.mutable_graph()->mutable_initializer(0), "weights.bin", "8", "8");
  fs::path model_path = dir.model_dir() / "m.onnx";
  dir.write(model_path, m.SerializeAsString());
  Model model = import_onnx_file(model_path.string());
  const Tensor* w = model.graph->initializer("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->get_double(0), 1.0);
  EXPECT_EQ(w->get_double(1), -5.0);
  EXPECT_EQ(run_floats(model, {Tensor::from_vector<float>({2}, {1, 1})}), (std::vector<float>{2, 0}));

  // Without offset/length: from the start of the file, in a subfolder.
  fs::create_directories(dir.model_dir() / "data");
  dir.write(dir.model_dir() / "data" / "w.bin", floats_bytes({3, 4}));
  auto m2 = add_relu_model();
  set_external(m2.mutable_graph()->mutable_initializer(0), "data/w.bin");
  dir.write(model_path, m2.SerializeAsString());
  Model model2 = import_onnx_file(model_path.string());
  EXPECT_EQ(model2.graph->initializer("w")->get_double(1), 4.0);
}

TEST(ImporterExternalData, Errors) {
  TempDir dir;
  dir.write(dir.model_dir() / "w.bin", floats_bytes({1, 2}));
  dir.write(dir.root() / "secret.bin", floats_bytes({1, 2}));
  fs::path model_path = dir.model_dir() / "m.onnx";
  auto error_with = [&](const std::string& location, std::optional<std::string> offset = {},
                        std::optional<std::string> length = {}, std::vector<int64_t> dims = {2}) {
    auto m = add_relu_model();
    auto* t = m.mutable_graph()->mutable_initializer(0);
    t->clear_dims();
    for (int64_t d : dims) t->add_dims(d);
    set_external(t, location, offset, length);
    dir.write(model_path, m.SerializeAsString());
    try {
      import_onnx_file(model_path.string());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto names_file = AllOf(HasSubstr(model_path.string()), HasSubstr("initializer 'w'"));
  EXPECT_THAT(error_with("../secret.bin"), AllOf(names_file, HasSubstr("outside the model's folder")));
  EXPECT_THAT(error_with("data/../../secret.bin"), HasSubstr("outside the model's folder"));
  EXPECT_THAT(error_with((dir.root() / "secret.bin").string()), HasSubstr("outside the model's folder"));
  EXPECT_THAT(error_with("missing.bin"), AllOf(names_file, HasSubstr("does not exist")));
  EXPECT_THAT(error_with("."), HasSubstr("not a regular file"));
  EXPECT_THAT(error_with("w.bin", "4"), AllOf(names_file, HasSubstr("past the end")));
  EXPECT_THAT(error_with("w.bin", "1000"), HasSubstr("past the end"));
  EXPECT_THAT(error_with("w.bin", "-4"), HasSubstr("negative external data offset"));
  EXPECT_THAT(error_with("w.bin", "0", "4"), HasSubstr("length is 4 bytes but the tensor needs 8"));
  EXPECT_THAT(error_with("w.bin", "0", "-8"), HasSubstr("negative external data length"));
  EXPECT_THAT(error_with("w.bin", "12abc"), HasSubstr("'offset' is not a number"));
  EXPECT_THAT(error_with("w.bin", "99999999999999999999999"), HasSubstr("'offset' is not a number"));
  EXPECT_THAT(error_with(""), HasSubstr("without a location"));
  // 4 GiB declared, 8 bytes on disk: an error before any allocation.
  EXPECT_THAT(error_with("w.bin", {}, {}, {int64_t(1) << 30}), HasSubstr("past the end"));
  EXPECT_THAT(error_with("w.bin", {}, {}, {int64_t(1) << 40}), HasSubstr("over the tensor size limit"));
  EXPECT_EQ(error_with("w.bin"), "");
}

// ---- .npy input files -------------------------------------------------------

std::string npy_error(const std::string& header, const std::string& data) {
  TempDir dir;
  fs::path p = dir.root() / "t.npy";
  std::string h = header + std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(h.size() & 0xff) + char(h.size() >> 8) + h + data;
  dir.write(p, bytes);
  try {
    read_tensor_file(p.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(NpyErrors, MalformedFilesNameTheFile) {
  EXPECT_EQ(npy_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", std::string(8, '\0')), "");
  EXPECT_THAT(npy_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", std::string(8, '\0')),
              AllOf(HasSubstr("t.npy"), HasSubstr("needs 12")));
  EXPECT_THAT(npy_error("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", ""),
              AllOf(HasSubstr("t.npy"), HasSubstr("too large")));
  EXPECT_THAT(npy_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648), }", ""),
              AllOf(HasSubstr("t.npy"), HasSubstr("too large")));
  EXPECT_THAT(npy_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", ""),
              HasSubstr("not a tuple of sizes"));
  EXPECT_THAT(npy_error("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", ""), HasSubstr("'<U3'"));
  EXPECT_THAT(npy_error("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", ""), HasSubstr("Fortran"));
  TempDir dir;
  dir.write(dir.root() / "short.npy", "\x93NUMPY\x01");
  EXPECT_THROW(read_tensor_file((dir.root() / "short.npy").string()), Error);
  dir.write(dir.root() / "bad.pb", "\xff\xff\xff");
  EXPECT_THROW(read_tensor_file((dir.root() / "bad.pb").string()), Error);
}

// ---- Storage forms ----------------------------------------------------------

// Imports a model whose only initializer is `t` (named "c", also the output).
Tensor import_initializer(const TP& t) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  *g->add_initializer() = t;
  g->mutable_initializer(0)->set_name("c");
  add_input(g, "x", {int64_t(1)});
  add_node(g, "Relu", {"x"}, {"y"});
  add_output(g, "y");
  Model model = import(m);
  return *model.graph->initializer("c");
}

TP typed(int dtype, std::vector<int64_t> dims) {
  TP t;
  t.set_data_type(dtype);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

TEST(ImporterStorage, RawAndTypedFields) {
  TP raw = typed(TP::FLOAT, {2});
  raw.set_raw_data(floats_bytes({1.5f, -2}));
  Tensor r = import_initializer(raw);
  EXPECT_EQ(r.dims(), (Dims{2}));
  EXPECT_EQ(r.values<float>()[1], -2.0f);

  TP f = typed(TP::FLOAT, {1, 3});
  for (float v : {1.f, 2.f, 3.f}) f.add_float_data(v);
  EXPECT_EQ(import_initializer(f).values<float>()[2], 3.0f);

  // int32_data carries every narrow type.
  auto int32_field = [](int dtype, std::vector<int32_t> v) {
    TP t = typed(dtype, {int64_t(v.size())});
    for (int32_t x : v) t.add_int32_data(x);
    return import_initializer(t);
  };
  Tensor i8 = int32_field(TP::INT8, {-128, 127});
  EXPECT_EQ(i8.dtype(), DType::Int8);
  EXPECT_EQ(i8.values<int8_t>()[0], -128);
  EXPECT_EQ(int32_field(TP::UINT8, {255, 7}).values<uint8_t>()[0], 255);
  EXPECT_EQ(int32_field(TP::INT16, {-30000}).values<int16_t>()[0], -30000);
  EXPECT_EQ(int32_field(TP::UINT16, {65535}).values<uint16_t>()[0], 65535);
  EXPECT_EQ(int32_field(TP::INT32, {-7}).values<int32_t>()[0], -7);
  Tensor b = int32_field(TP::BOOL, {0, 1, 1});
  EXPECT_EQ(b.dtype(), DType::Bool);
  EXPECT_EQ(b.get_int(0), 0);
  EXPECT_EQ(b.get_int(2), 1);
  Tensor h = int32_field(TP::FLOAT16, {0x3c00, 0xc000});  // 1, -2
  EXPECT_EQ(h.dtype(), DType::Float16);
  EXPECT_EQ(h.get_double(1), -2.0);
  Tensor bf = int32_field(TP::BFLOAT16, {0x3f80, 0x4040});  // 1, 3
  EXPECT_EQ(bf.dtype(), DType::BFloat16);
  EXPECT_EQ(bf.get_double(1), 3.0);

  TP i64 = typed(TP::INT64, {2});
  i64.add_int64_data(int64_t(1) << 40);
  i64.add_int64_data(-1);
  EXPECT_EQ(import_initializer(i64).values<int64_t>()[0], int64_t(1) << 40);

  TP d = typed(TP::DOUBLE, {1});
  d.add_double_data(0.1);
  EXPECT_EQ(import_initializer(d).values<double>()[0], 0.1);

  TP u64 = typed(TP::UINT64, {1});
  u64.add_uint64_data(~uint64_t(0));
  EXPECT_EQ(import_initializer(u64).values<uint64_t>()[0], ~uint64_t(0));
  TP u32 = typed(TP::UINT32, {1});
  u32.add_uint64_data(4000000000u);
  EXPECT_EQ(import_initializer(u32).values<uint32_t>()[0], 4000000000u);

  // Scalars (rank 0) and empty tensors.
  TP s = typed(TP::FLOAT, {});
  s.add_float_data(42);
  Tensor scalar = import_initializer(s);
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_EQ(scalar.values<float>()[0], 42.0f);
  EXPECT_EQ(import_initializer(typed(TP::FLOAT, {0, 5})).numel(), 0);

  // Raw bools are normalised to 0/1.
  TP rb = typed(TP::BOOL, {2});
  rb.set_raw_data(std::string("\x00\x05", 2));
  EXPECT_EQ(import_initializer(rb).get_int(1), 1);
}

// ---- Graph features ---------------------------------------------------------

TEST(ImporterGraph, ConstantNodeKeepsItsTensor) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2)});
  auto* c = add_node(g, "Constant", {}, {"k"}, "konst");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(AP::TENSOR);
  *a->mutable_t() = typed(TP::FLOAT, {2});
  a->mutable_t()->add_float_data(10);
  a->mutable_t()->add_float_data(-20);
  add_node(g, "Add", {"x", "k"}, {"y"});
  add_output(g, "y");
  Model model = import(m, lenient());
  const Node& konst = *model.graph->nodes[0];
  EXPECT_EQ(konst.op_type, "Constant");
  EXPECT_EQ(konst.attr_tensor("value").values<float>()[1], -20.0f);
  if (OpRegistry::global().find(konst)) {
    EXPECT_EQ(run_floats(model, {Tensor::from_vector<float>({2}, {1, 1})}), (std::vector<float>{11, -19}));
  }
}

TEST(ImporterGraph, SymbolicDimsAndSeveralOutputs) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {std::string("batch"), int64_t(2)});
  add_float_init(g, "w", {2}, {1, -5});
  add_node(g, "Add", {"x", "w"}, {"sum"});
  add_node(g, "Relu", {"sum"}, {"relu"});
  add_output(g, "relu", {std::string("batch"), int64_t(2)});
  add_output(g, "sum", {std::string("batch"), int64_t(2)});
  Model model = import(m);
  auto xt = model.graph->type_of("x");
  ASSERT_TRUE(xt.has_value());
  EXPECT_EQ(xt->str(), "float32[batch,2]");
  EXPECT_EQ(model.graph->outputs, (std::vector<std::string>{"relu", "sum"}));
  Interpreter interp;
  auto outs = interp.run(*model.graph, {Tensor::from_vector<float>({3, 2}, {0, 0, 1, 1, -1, 10})});
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].dims(), (Dims{3, 2}));
  EXPECT_EQ(outs[0].get_double(1), 0.0);  // relu(0 - 5)
  EXPECT_EQ(outs[1].get_double(1), -5.0);
  EXPECT_EQ(outs[1].get_double(5), 5.0);
}

TEST(ImporterGraph, UnsortedNodesAreSorted) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2)});
  add_node(g, "Relu", {"b"}, {"y"}, "last");
  add_node(g, "Mul", {"a", "a"}, {"b"}, "middle");
  add_node(g, "Sub", {"x", "x"}, {"z"}, "unrelated");
  add_node(g, "Add", {"x", "x"}, {"a"}, "first");
  add_output(g, "y");
  add_output(g, "z");
  Model model = import(m, lenient());
  std::vector<std::string> order;
  for (const auto& n : model.graph->nodes) order.push_back(n->name);
  auto pos = [&](const std::string& s) { return std::find(order.begin(), order.end(), s) - order.begin(); };
  EXPECT_LT(pos("first"), pos("middle"));
  EXPECT_LT(pos("middle"), pos("last"));
  if (find_unsupported_ops(*model.graph).empty()) {
    EXPECT_EQ(run_floats(model, {Tensor::from_vector<float>({2}, {1, -3})}), (std::vector<float>{4, 36}));
  }
}

TEST(ImporterGraph, SubgraphsReadOuterScopeValues) {
  auto m = new_model();
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2)});
  add_input(g, "cond", {}, TP::BOOL);
  add_input(g, "trip", {}, TP::INT64);
  add_float_init(g, "w", {2}, {1, 2});
  // The If is listed before the node producing "outer", which its branch reads.
  auto* n = add_node(g, "If", {"cond"}, {"y"}, "choose");
  onnx::GraphProto then_g, else_g;
  then_g.set_name("then");
  add_node(&then_g, "Add", {"outer", "w"}, {"t"});
  add_output(&then_g, "t");
  else_g.set_name("else");
  add_node(&else_g, "Sub", {"outer", "w"}, {"e"});
  add_output(&else_g, "e");
  add_graph_attr(n, "then_branch", then_g);
  add_graph_attr(n, "else_branch", else_g);
  add_node(g, "Relu", {"x"}, {"outer"}, "make_outer");
  // Loop whose body reads "x" from outside.
  onnx::GraphProto body;
  body.set_name("body");
  add_input(&body, "i", {}, TP::INT64);
  add_input(&body, "c_in", {}, TP::BOOL);
  add_input(&body, "acc", {int64_t(2)});
  add_node(&body, "Add", {"acc", "x"}, {"acc_out"});
  add_node(&body, "Identity", {"c_in"}, {"c_out"});
  add_output(&body, "c_out", {}, TP::BOOL);
  add_output(&body, "acc_out", {int64_t(2)});
  auto* loop = add_node(g, "Loop", {"trip", "", "y"}, {"looped"}, "repeat");
  add_graph_attr(loop, "body", body);
  add_output(g, "looped");

  Model model = import(m, lenient());
  const Graph& G = *model.graph;
  ASSERT_EQ(G.nodes.size(), 3u);
  EXPECT_EQ(G.nodes[0]->name, "make_outer");  // sorted before its subgraph reader
  const Graph& then_sub = G.nodes[1]->attr_graph("then_branch");
  EXPECT_EQ(then_sub.parent, &G);
  EXPECT_EQ(then_sub.outer_references(), (std::vector<std::string>{"outer", "w"}));
  EXPECT_TRUE(then_sub.type_of("w").has_value());  // resolved through the parent
  const Graph& loop_body = G.nodes[2]->attr_graph("body");
  EXPECT_EQ(loop_body.inputs, (std::vector<std::string>{"i", "c_in", "acc"}));
  EXPECT_EQ(loop_body.outer_references(), (std::vector<std::string>{"x"}));
}

// Types a legal model leaves out (ONNX infers them): an If whose branch outputs are untyped (no
// type, elem_type UNDEFINED) and whose output has an empty TypeProto, as torch exports them, and
// a Loop whose body declares no types. Built by scripts/make_test_models.py with python3-onnx.
TEST(ImporterGraph, UntypedValuesAreInferredAndRun) {
  TempDir dir;
  std::string cmd = "/usr/bin/python3 " WAFER_SOURCE_DIR "/scripts/make_test_models.py " + dir.root().string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Model m = import_onnx_file((dir.root() / "if_untyped.onnx").string());
  EXPECT_FALSE(m.graph->type_of("/If_4_output_0").has_value());  // unknown until inferred
  ShapePropagation().run(*m.graph);
  auto t = m.graph->type_of("/If_4_output_0");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->dtype, DType::Float32);
  Tensor x = Tensor::from_vector<float>({2}, {1, -2});
  auto vec = [](const Tensor& v) {
    auto s = v.values<float>();
    return std::vector<float>(s.begin(), s.end());
  };
  for (const char* backend : {"reference", "cpu"}) {
    SCOPED_TRACE(backend);
    CompileOptions opts;
    auto exe = make_backend(backend, &opts)->compile(*m.graph, opts);
    auto then_out = exe->run({x, Tensor::scalar<bool>(true)});
    ASSERT_EQ(then_out.size(), 2u);
    EXPECT_EQ(vec(then_out[0]), (std::vector<float>{6, -12}));  // (x + x) * 3
    EXPECT_EQ(vec(then_out[1]), (std::vector<float>{2, -4}));
    auto else_out = exe->run({x, Tensor::scalar<bool>(false)});
    EXPECT_EQ(vec(else_out[0]), (std::vector<float>{3, 0}));  // relu(x) * 3
  }
  Model loop = import_onnx_file((dir.root() / "loop_untyped.onnx").string());
  ShapePropagation().run(*loop.graph);
  const Graph& body = loop.graph->nodes[0]->attr_graph("body");
  ASSERT_TRUE(body.type_of("acc_out").has_value());
  EXPECT_EQ(body.type_of("acc_out")->dtype, DType::Float32);  // from the Loop's carried input
  for (const char* backend : {"reference", "cpu"}) {
    SCOPED_TRACE(backend);
    CompileOptions opts;
    auto out = make_backend(backend, &opts)->compile(*loop.graph, opts)->run({x});
    EXPECT_EQ(vec(out.at(0)), (std::vector<float>{4, -8}));  // x + 3x
  }
}

TEST(ImporterGraph, EveryUnsupportedOpIsListedInOneError) {
  auto m = new_model();
  auto* ex = m.add_opset_import();
  ex->set_domain("com.example");
  ex->set_version(2);
  auto* g = m.mutable_graph();
  add_input(g, "x", {int64_t(2)});
  add_input(g, "cond", {}, TP::BOOL);
  add_node(g, "WaferNoSuchOpA", {"x"}, {"a"}, "node_a");
  add_node(g, "WaferNoSuchOpB", {"a"}, {"b"}, "node_b");
  add_node(g, "Frob", {"b"}, {"c"}, "node_c")->set_domain("com.example");
  auto* n = add_node(g, "If", {"cond"}, {"y"}, "branch");
  onnx::GraphProto then_g, else_g;
  add_node(&then_g, "WaferNoSuchOpD", {"c"}, {"t"}, "inner_d");
  add_output(&then_g, "t");
  add_node(&else_g, "Relu", {"c"}, {"e"});
  add_output(&else_g, "e");
  add_graph_attr(n, "then_branch", then_g);
  add_graph_attr(n, "else_branch", else_g);
  add_output(g, "y");
  try {
    import(m);
    ADD_FAILURE() << "no error";
  } catch (const UnsupportedError& e) {
    std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr("bad.onnx"));
    EXPECT_THAT(msg, HasSubstr("WaferNoSuchOpA (opset 13): \"node_a\""));
    EXPECT_THAT(msg, HasSubstr("WaferNoSuchOpB (opset 13): \"node_b\""));
    EXPECT_THAT(msg, HasSubstr("com.example.Frob (opset 2): \"node_c\""));
    EXPECT_THAT(msg, HasSubstr("WaferNoSuchOpD (opset 13): \"inner_d\""));
  }
  // With rejection off the same list is available as data.
  Model model = import(m, lenient());
  auto list = find_unsupported_ops(*model.graph);
  std::vector<std::string> names;
  for (const auto& u : list) names.push_back(u.node_name);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"node_a", "node_b", "node_c", "inner_d"}));
}

}  // namespace
}  // namespace wafer
