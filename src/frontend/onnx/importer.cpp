#include "frontend/onnx/importer.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "frontend/onnx/tensor_proto.h"
#include "ir/op_registry.h"

namespace wafer {

namespace {

std::string normal_domain(const std::string& d) {
  return d == "ai.onnx" ? "" : d;
}

constexpr int64_t kMaxOpset = 10000;
// Nesting of subgraphs (If inside Loop inside ...). Real models use a handful;
// the bound keeps recursive graph walks shallow on adversarial files.
constexpr int kMaxSubgraphDepth = 32;

// Name of the value field an AttributeProto of type `t` uses.
const char* attr_field(onnx::AttributeProto::AttributeType t) {
  using A = onnx::AttributeProto;
  switch (t) {
    case A::FLOAT:
      return "f";
    case A::INT:
      return "i";
    case A::STRING:
      return "s";
    case A::TENSOR:
      return "t";
    case A::GRAPH:
      return "g";
    case A::FLOATS:
      return "floats";
    case A::INTS:
      return "ints";
    case A::STRINGS:
      return "strings";
    default:
      return nullptr;
  }
}

// Which value fields of `a` are filled, as AttributeType values.
std::vector<onnx::AttributeProto::AttributeType> filled_fields(const onnx::AttributeProto& a) {
  using A = onnx::AttributeProto;
  std::vector<A::AttributeType> f;
  if (a.has_f()) f.push_back(A::FLOAT);
  if (a.has_i()) f.push_back(A::INT);
  if (a.has_s()) f.push_back(A::STRING);
  if (a.has_t()) f.push_back(A::TENSOR);
  if (a.has_g()) f.push_back(A::GRAPH);
  if (a.floats_size()) f.push_back(A::FLOATS);
  if (a.ints_size()) f.push_back(A::INTS);
  if (a.strings_size()) f.push_back(A::STRINGS);
  if (a.tensors_size()) f.push_back(A::TENSORS);
  if (a.graphs_size()) f.push_back(A::GRAPHS);
  if (a.has_sparse_tensor()) f.push_back(A::SPARSE_TENSOR);
  if (a.sparse_tensors_size()) f.push_back(A::SPARSE_TENSORS);
  if (a.has_tp()) f.push_back(A::TYPE_PROTO);
  if (a.type_protos_size()) f.push_back(A::TYPE_PROTOS);
  return f;
}

class Importer {
 public:
  Importer(std::string file, std::string base_dir) : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  // Takes the proto by reference to release each initializer's bytes as soon as
  // its Tensor exists, so the model's weights are never held twice.
  Model run(onnx::ModelProto& mp) {
    Model m;
    m.path = file_;
    m.producer = mp.producer_name();
    m.ir_version = mp.ir_version();
    check(mp.has_graph(), file_, ": model has no graph");
    for (const auto& os : mp.opset_import()) {
      std::string domain = normal_domain(os.domain());
      std::string shown = domain.empty() ? "ai.onnx" : domain;
      // Opsets are small positive numbers; anything else is corruption, and
      // would otherwise be truncated to int silently.
      check(os.version() >= 1 && os.version() <= kMaxOpset, where("opset_import"), ": domain '", shown,
            "' has invalid version ", os.version());
      check(opsets_.emplace(domain, int(os.version())).second, where("opset_import"), ": domain '", shown,
            "' is imported twice");
    }
    if (mp.opset_import_size() == 0) opsets_[""] = 1;  // IR version < 3 models had no opset_import
    m.graph = convert_graph(*mp.mutable_graph(), nullptr, "", 0);
    check(!m.graph->outputs.empty(), where("graph '" + m.graph->name + "'"), ": the model has no outputs");
    m.graph->opsets = opsets_;
    return m;
  }

 private:
  std::string where(const std::string& what) const { return file_ + ": " + what; }

  ValueType convert_type(const onnx::ValueInfoProto& vi, const std::string& ctx) {
    ValueType vt;
    // ONNX lets a model leave types out (subgraph inputs and outputs, value_info, and in
    // practice graph outputs: torch leaves its If branches' outputs untyped); shape
    // inference fills them in. No type, an empty TypeProto and a tensor type without an
    // element type all read as "unknown", never as an unsupported kind of value.
    if (!vi.has_type()) return vt;
    const auto& type = vi.type();
    if (type.value_case() == onnx::TypeProto::VALUE_NOT_SET) return vt;
    if (!type.has_tensor_type()) {
      const char* kind = type.has_sequence_type()        ? "sequence"
                         : type.has_optional_type()      ? "optional"
                         : type.has_map_type()           ? "map"
                         : type.has_sparse_tensor_type() ? "sparse tensor"
                                                         : "non-tensor";
      throw UnsupportedError(where(ctx + " '" + vi.name() + "' has " + kind + " type, which Wafer does not support"));
    }
    const auto& tt = type.tensor_type();
    if (tt.elem_type() == onnx::TensorProto::UNDEFINED) return vt;  // shape hints without a dtype are dropped too
    if (tt.elem_type() == onnx::TensorProto::STRING)
      throw UnsupportedError(where(ctx + " '" + vi.name() + "' is a string tensor, which Wafer does not support"));
    check(dtype_is_valid_onnx(tt.elem_type()), where(ctx + " '" + vi.name() + "'"), ": unknown element type ",
          tt.elem_type());
    vt.dtype = DType(tt.elem_type());
    if (!tt.has_shape()) return vt;
    vt.shape = Shape();
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        check(d.dim_value() >= 0, where(ctx + " '" + vi.name() + "'"), ": negative dimension ", d.dim_value());
        vt.shape.dims.push_back(Dim(d.dim_value()));
      } else if (d.has_dim_param() && !d.dim_param().empty()) {
        vt.shape.dims.push_back(Dim::named(d.dim_param()));
      } else {
        vt.shape.dims.push_back(Dim());
      }
    }
    return vt;
  }

  Attribute convert_attr(onnx::AttributeProto& a, Graph* owner, const std::string& ctx, int depth) {
    using A = onnx::AttributeProto;
    Attribute out;
    check(!a.has_ref_attr_name(), where(ctx), ": refers to function attribute '", a.ref_attr_name(),
          "', which is only allowed inside a function body");
    auto filled = filled_fields(a);
    A::AttributeType t = a.type();
    if (t == A::UNDEFINED) {
      // Old models leave `type` unset; infer it from the one filled field.
      check(filled.size() == 1, where(ctx),
            filled.empty() ? ": has no type and no value" : ": has no type and several value fields");
      t = filled[0];
    } else if (!A::AttributeType_IsValid(t)) {
      fail(where(ctx), ": unknown attribute type ", int(t));
    } else {
      // The type says which field holds the value; a different field filled
      // (e.g. type INT with only `f` set) would silently read as 0.
      for (A::AttributeType f : filled)
        check(f == t, where(ctx), ": declared ", A::AttributeType_Name(t), " but holds a ", A::AttributeType_Name(f),
              " value");
      const char* field = attr_field(t);
      bool scalar = t == A::FLOAT || t == A::INT || t == A::STRING || t == A::TENSOR || t == A::GRAPH;
      if (field && scalar)
        check(!filled.empty(), where(ctx), ": declared ", A::AttributeType_Name(t), " but field '", field,
              "' is not set");
    }
    switch (t) {
      case A::FLOAT:
        out.value = a.f();
        break;
      case A::INT:
        out.value = int64_t(a.i());
        break;
      case A::STRING:
        out.value = a.s();
        break;
      case A::TENSOR:
        out.value = tensor_from_proto(a.t(), where(ctx), base_dir_);
        break;
      case A::GRAPH:
        out.value = std::shared_ptr<Graph>(convert_graph(*a.mutable_g(), owner, ctx, depth + 1));
        break;
      case A::FLOATS:
        out.value = std::vector<float>(a.floats().begin(), a.floats().end());
        break;
      case A::INTS:
        out.value = std::vector<int64_t>(a.ints().begin(), a.ints().end());
        break;
      case A::STRINGS:
        out.value = std::vector<std::string>(a.strings().begin(), a.strings().end());
        break;
      default:
        throw UnsupportedError(where(ctx) + ": attribute type " + A::AttributeType_Name(t) + " is not supported");
    }
    return out;
  }

  int op_version(const std::string& op_type, const std::string& domain, const std::string& ctx) {
    auto it = opsets_.find(domain);
    if (it == opsets_.end()) {
      // A node in a domain the model never imported: ONNX requires an import.
      fail(where(ctx), ": domain '", domain.empty() ? "ai.onnx" : domain,
           "' is used but not declared in the model's opset_import");
    }
    int opset = it->second;
    const auto* schema = onnx::OpSchemaRegistry::Schema(op_type, opset, domain);
    return schema ? schema->SinceVersion() : opset;
  }

  std::unique_ptr<Graph> convert_graph(onnx::GraphProto& gp, Graph* parent, const std::string& outer, int depth) {
    auto g = std::make_unique<Graph>();
    g->parent = parent;
    g->name = gp.name();
    std::string gctx = outer.empty() ? "graph '" + gp.name() + "'" : outer;
    check(depth <= kMaxSubgraphDepth, where(gctx), ": subgraphs are nested more than ", kMaxSubgraphDepth,
          " levels deep");

    if (gp.sparse_initializer_size()) throw UnsupportedError(where(gctx + ": sparse initializers are not supported"));
    for (auto& init : *gp.mutable_initializer()) {
      check(!init.name().empty(), where(gctx), ": an initializer has no name");
      check(!g->initializers.count(init.name()), where(gctx), ": initializer '", init.name(), "' appears twice");
      g->initializers[init.name()] =
          tensor_from_proto(init, where(gctx + ": initializer '" + init.name() + "'"), base_dir_);
      // Free the proto's copy now (Clear() would keep the strings' capacity): swapping with an
      // empty message hands the bytes to a temporary that dies here.
      onnx::TensorProto().Swap(&init);
    }
    std::set<std::string> seen_inputs;
    for (const auto& in : gp.input()) {
      check(!in.name().empty(), where(gctx), ": a graph input has no name");
      check(seen_inputs.insert(in.name()).second, where(gctx), ": input '", in.name(), "' is listed twice");
      if (g->is_initializer(in.name())) continue;  // IR < 4 listed initializers as inputs too
      g->inputs.push_back(in.name());
      g->types[in.name()] = convert_type(in, "input");
    }
    for (const auto& out : gp.output()) {
      check(!out.name().empty(), where(gctx), ": a graph output has no name");
      g->outputs.push_back(out.name());
      ValueType vt = convert_type(out, "output");
      if (vt.dtype != DType::Undefined) g->types[out.name()] = vt;
    }
    for (const auto& vi : gp.value_info()) {
      try {
        ValueType vt = convert_type(vi, "value");
        if (vt.dtype != DType::Undefined) g->types[vi.name()] = vt;
      } catch (const UnsupportedError&) {
        // Intermediate value_info is only a hint; a non-tensor hint is ignored
        // here and the node producing it reports what is unsupported.
      }
    }

    // Node names label every error, so they must be unique: empty names get
    // "Op_index" and repeated names get a "~2" suffix (the ONNX spec requires
    // unique names, but exporters do not always comply).
    std::set<std::string> explicit_names, used_names;
    for (const auto& np : gp.node())
      if (!np.name().empty()) explicit_names.insert(np.name());
    int index = 0;
    for (auto& np : *gp.mutable_node()) {
      auto n = std::make_unique<Node>();
      n->op_type = np.op_type();
      n->domain = normal_domain(np.domain());
      std::string base = np.name().empty() ? np.op_type() + "_" + std::to_string(index) : np.name();
      n->name = base;
      auto taken = [&](const std::string& s) {
        return used_names.count(s) || (np.name().empty() && explicit_names.count(s));
      };
      for (int k = 2; taken(n->name); ++k) n->name = base + "~" + std::to_string(k);
      used_names.insert(n->name);
      ++index;
      std::string nctx = gctx + ": node " + n->label();
      check(!n->op_type.empty(), where(nctx), ": node has no op_type");
      n->op_version = op_version(n->op_type, n->domain, nctx);
      n->inputs.assign(np.input().begin(), np.input().end());
      n->outputs.assign(np.output().begin(), np.output().end());
      for (auto& a : *np.mutable_attribute()) {
        check(!a.name().empty(), where(nctx), ": attribute without a name");
        check(!n->attrs.count(a.name()), where(nctx), ": attribute '", a.name(), "' appears twice");
        n->attrs[a.name()] = convert_attr(a, g.get(), nctx + " attribute '" + a.name() + "'", depth);
      }
      check_declared_attrs(*n, nctx);
      g->nodes.push_back(std::move(n));
    }
    // The spec requires sorted nodes, but exporters get this wrong; sort and
    // report cycles and undefined inputs by node name.
    try {
      g->topological_sort();
      if (!parent) g->verify();
    } catch (const UnsupportedError&) {
      throw;
    } catch (const Error& e) {
      if (parent) fail(where(gctx), ": ", e.what());
      fail(file_, ": ", e.what());
    }
    return g;
  }

  // Attributes the op's schema declares must have the declared type, so a
  // kernel never sees e.g. a string where it expects an int.
  void check_declared_attrs(const Node& n, const std::string& nctx) const {
    const OpSchema* schema = OpRegistry::global().find(n);
    if (!schema) return;  // unsupported ops are reported together later
    for (const AttrSpec& spec : schema->attrs) {
      auto it = n.attrs.find(spec.name);
      if (it == n.attrs.end()) continue;  // kernels report missing required attributes with their defaults
      check(it->second.type() == spec.type, where(nctx), ": attribute '", spec.name, "' is ",
            attr_type_name(it->second.type()), ", expected ", attr_type_name(spec.type));
    }
  }

  std::string file_;
  std::string base_dir_;
  std::map<std::string, int> opsets_;
};

void collect_unsupported(const Graph& g, const std::map<std::string, int>& opsets, std::vector<UnsupportedOp>& out) {
  for (const auto& n : g.nodes) {
    if (!OpRegistry::global().find(*n)) {
      auto it = opsets.find(n->domain);
      out.push_back({n->op_type, n->domain, it == opsets.end() ? 0 : it->second, n->name});
    }
    for (const auto& [_, a] : n->attrs)
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) collect_unsupported(**sub, opsets, out);
  }
}

}  // namespace

std::vector<UnsupportedOp> find_unsupported_ops(const Graph& g) {
  const Graph* top = &g;
  while (top->parent) top = top->parent;
  std::vector<UnsupportedOp> out;
  collect_unsupported(g, top->opsets, out);
  return out;
}

std::string format_unsupported(const std::vector<UnsupportedOp>& ops) {
  // Group by (domain, op, opset) so a model with 50 unsupported nodes of one op
  // reads as one line with a count and the first few names.
  std::map<std::tuple<std::string, std::string, int>, std::vector<std::string>> groups;
  for (const auto& u : ops) groups[{u.domain, u.op_type, u.opset}].push_back(u.node_name);
  std::string s = std::to_string(ops.size()) + " node(s) use " + std::to_string(groups.size()) + " unsupported op(s):";
  for (const auto& [key, names] : groups) {
    const auto& [domain, op, opset] = key;
    s += "\n  " + (domain.empty() ? "" : domain + ".") + op + " (opset " + std::to_string(opset) + "): ";
    for (size_t i = 0; i < names.size() && i < 3; ++i) s += (i ? ", " : "") + ("\"" + names[i] + "\"");
    if (names.size() > 3) s += " and " + std::to_string(names.size() - 3) + " more";
  }
  return s;
}

namespace {

// Parses a ModelProto of `size` bytes from `in` under the size and nesting limits.
void parse_model(google::protobuf::io::ZeroCopyInputStream& in, uint64_t size, const std::string& name,
                 const ImportOptions& options, onnx::ModelProto& mp) {
  uint64_t limit = std::min<uint64_t>(options.max_file_bytes, INT32_MAX);
  if (size > limit) fail(name, ": model is ", size, " bytes, over the limit of ", limit);
  check(size != 0, name, ": file is empty, not an ONNX model");
  google::protobuf::io::CodedInputStream stream(&in);
  stream.SetTotalBytesLimit(int(limit));
  // Each subgraph level costs 3 message levels (graph, node, attribute); this
  // admits kMaxSubgraphDepth levels and bounds the parser's recursion.
  stream.SetRecursionLimit(3 * kMaxSubgraphDepth + 16);
  if (!mp.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    fail(name, ": not a valid ONNX model (protobuf parse failed: truncated, corrupt or too deeply nested)");
}

Model convert_model(onnx::ModelProto& mp, const std::string& name, const std::string& base_dir,
                    const ImportOptions& options) {
  Model m = Importer(name, base_dir).run(mp);
  if (options.reject_unsupported) {
    auto unsupported = find_unsupported_ops(*m.graph);
    if (!unsupported.empty()) throw UnsupportedError(name + ": " + format_unsupported(unsupported));
  }
  return m;
}

}  // namespace

Model import_onnx_bytes(const std::string& bytes, const std::string& name, const std::string& base_dir,
                        const ImportOptions& options) {
  onnx::ModelProto mp;
  google::protobuf::io::ArrayInputStream in(bytes.data(), int(std::min<size_t>(bytes.size(), INT32_MAX)));
  parse_model(in, bytes.size(), name, options, mp);
  return convert_model(mp, name, base_dir, options);
}

// The file is parsed as a stream (never held whole in memory), and the importer
// frees each initializer's proto bytes once converted: peak memory is about one
// copy of the weights, not three.
Model import_onnx_file(const std::string& path, const ImportOptions& options) {
  uint64_t size = checked_file_size(path, options.max_file_bytes);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open for reading");
  onnx::ModelProto mp;
  {
    google::protobuf::io::FileInputStream in(fd, 1 << 20);
    in.SetCloseOnDelete(true);
    try {
      parse_model(in, size, path, options, mp);
    } catch (const Error&) {
      if (in.GetErrno() != 0) fail(path, ": read failed: ", std::strerror(in.GetErrno()));
      throw;
    }
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return convert_model(mp, path, dir.empty() ? "." : dir, options);
}

}  // namespace wafer
