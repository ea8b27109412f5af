// Program serialization (JSON and readable text) and structural validation.
#include "npu/program.h"

#include <sstream>

#include "core/error.h"

namespace wafer::npu {

std::string_view mem_level_name(MemLevel m) {
  switch (m) {
    case MemLevel::OffChip:
      return "offchip";
    case MemLevel::GlobalBuffer:
      return "global";
    case MemLevel::Scratchpad:
      return "scratchpad";
    case MemLevel::Accumulator:
      return "accumulator";
  }
  return "?";
}

std::string_view op_kind_name(OpKind k) {
  switch (k) {
    case OpKind::Load:
      return "load";
    case OpKind::Store:
      return "store";
    case OpKind::Transfer:
      return "transfer";
    case OpKind::MatMul:
      return "matmul";
    case OpKind::Vector:
      return "vector";
    case OpKind::Barrier:
      return "barrier";
    case OpKind::Collective:
      return "collective";
  }
  return "?";
}

namespace {

MemLevel mem_level_from(const std::string& s) {
  for (MemLevel m : {MemLevel::OffChip, MemLevel::GlobalBuffer, MemLevel::Scratchpad, MemLevel::Accumulator})
    if (mem_level_name(m) == s) return m;
  fail("program: unknown memory level '", s, "'");
}

OpKind op_kind_from(const std::string& s) {
  for (OpKind k : {OpKind::Load, OpKind::Store, OpKind::Transfer, OpKind::MatMul, OpKind::Vector, OpKind::Barrier,
                   OpKind::Collective})
    if (op_kind_name(k) == s) return k;
  fail("program: unknown instruction kind '", s, "'");
}

// Reads j[key] as T, naming the field when it is missing or of the wrong type.
template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) fail("program: ", where, ": missing field '", key, "'");
  try {
    return j.at(key).get<T>();
  } catch (const std::exception& e) {
    fail("program: ", where, ": bad field '", key, "': ", e.what());
  }
}

template <typename T>
T field_or(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  return field<T>(j, key, where);
}

}  // namespace

std::string Program::to_text() const {
  std::ostringstream os;
  os << "program " << model << " for " << hw_name << ", precision " << dtype_name(precision) << ", batch " << batch
     << "\n";
  os << "weights " << weight_bytes_total << " B, resident " << resident_weight_bytes << " B\n";
  os << "layers (" << layers.size() << "):\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    os << "  L" << i << " " << l.name << " " << l.op_type << " unit=" << l.unit;
    if (l.unit == "matrix")
      os << " gemm=" << l.groups << "x[" << l.gemm_m << "x" << l.gemm_k << "x" << l.gemm_n << "] tile=[" << l.tile_m
         << "x" << l.tile_k << "x" << l.tile_n << "] macs=" << l.macs << " weights=" << l.weight_bytes << "B"
         << (l.weights_resident ? " resident in " : " streamed from ") << mem_level_name(l.weight_home);
    if (l.unit == "vector") os << " elements=" << l.vector_elements;
    os << " cores=";
    if (l.cores.empty())
      os << "-";
    else if (l.cores.size() == 1)
      os << l.cores[0];
    else
      os << l.cores.front() << ".." << l.cores.back() << " (" << l.cores.size() << ")";
    os << "\n";
  }
  os << "instructions (" << instrs.size() << ", " << expanded_instrs() << " with repeats):\n";
  size_t next_repeat = 0;
  for (size_t i = 0; i < instrs.size(); ++i) {
    const Instr& in = instrs[i];
    os << "  " << i << ": " << op_kind_name(in.kind) << " L" << in.layer << " core " << in.core;
    if (in.replicas != 1) os << " x" << in.replicas << " cores";
    switch (in.kind) {
      case OpKind::Load:
      case OpKind::Store:
        os << " " << mem_level_name(in.src) << "->" << mem_level_name(in.dst) << " " << in.bytes << "B " << in.what;
        break;
      case OpKind::Transfer:
        os << " ->core " << in.peer_core << " " << in.bytes << "B " << in.what;
        break;
      case OpKind::MatMul:
        os << " g" << in.group << " [" << in.m0 << ":" << in.m1 << "," << in.k0 << ":" << in.k1 << "," << in.n0 << ":"
           << in.n1 << "] " << dtype_name(in.dtype);
        break;
      case OpKind::Vector:
        os << " " << in.op_class << " x" << in.elements;
        break;
      case OpKind::Collective:
        os << " " << in.what << " " << in.bytes << "B " << in.cycles << " cycles";
        break;
      case OpKind::Barrier:
        break;
    }
    if (!in.deps.empty()) {
      os << " deps";
      for (int d : in.deps) os << " " << d;
    }
    os << "\n";
    for (; next_repeat < repeats.size() &&
           size_t(repeats[next_repeat].body_begin + repeats[next_repeat].body_len) == i + 1;
         ++next_repeat) {
      const Repeat& r = repeats[next_repeat];
      os << "  repeat " << r.body_begin << ".." << i << " x" << r.times << " more (loop from " << r.loop_begin << ")\n";
    }
  }
  return os.str();
}

nlohmann::json Program::to_json() const {
  nlohmann::json j;
  j["format"] = "wafer-npu-program";
  j["version"] = 1;
  j["model"] = model;
  j["hw"] = hw_name;
  j["precision"] = std::string(dtype_name(precision));
  j["batch"] = batch;
  j["weight_bytes_total"] = weight_bytes_total;
  j["resident_weight_bytes"] = resident_weight_bytes;
  if (comm_overlap) j["comm_overlap"] = true;
  if (blocked_attention) j["blocked_attention"] = true;
  auto& ls = j["layers"] = nlohmann::json::array();
  for (const Layer& l : layers) {
    ls.push_back({{"name", l.name},
                  {"op_type", l.op_type},
                  {"unit", l.unit},
                  {"macs", l.macs},
                  {"vector_elements", l.vector_elements},
                  {"weight_bytes", l.weight_bytes},
                  {"weights_resident", l.weights_resident},
                  {"weight_home", std::string(mem_level_name(l.weight_home))},
                  {"cores", l.cores},
                  {"gemm_m", l.gemm_m},
                  {"gemm_k", l.gemm_k},
                  {"gemm_n", l.gemm_n},
                  {"groups", l.groups},
                  {"tile_m", l.tile_m},
                  {"tile_k", l.tile_k},
                  {"tile_n", l.tile_n}});
    if (l.k_split != 1) j["layers"].back()["k_split"] = l.k_split;
  }
  auto& is = j["instrs"] = nlohmann::json::array();
  for (const Instr& in : instrs) {
    nlohmann::json o = {{"kind", std::string(op_kind_name(in.kind))}, {"layer", in.layer}, {"core", in.core}};
    if (!in.deps.empty()) o["deps"] = in.deps;
    if (in.replicas != 1) o["replicas"] = in.replicas;
    switch (in.kind) {
      case OpKind::Load:
      case OpKind::Store:
      case OpKind::Transfer:
        o["src"] = std::string(mem_level_name(in.src));
        o["dst"] = std::string(mem_level_name(in.dst));
        if (in.peer_core >= 0) o["peer_core"] = in.peer_core;
        o["bytes"] = in.bytes;
        o["what"] = in.what;
        break;
      case OpKind::MatMul:
        o["m"] = {in.m0, in.m1};
        o["k"] = {in.k0, in.k1};
        o["n"] = {in.n0, in.n1};
        o["group"] = in.group;
        o["dtype"] = std::string(dtype_name(in.dtype));
        break;
      case OpKind::Vector:
        o["elements"] = in.elements;
        o["op_class"] = in.op_class;
        break;
      case OpKind::Collective:
        o["what"] = in.what;
        o["bytes"] = in.bytes;
        o["cycles"] = in.cycles;
        o["energy_j"] = in.energy_j;
        break;
      case OpKind::Barrier:
        break;
    }
    is.push_back(std::move(o));
  }
  auto& rs = j["repeats"] = nlohmann::json::array();
  for (const Repeat& r : repeats)
    rs.push_back(
        {{"loop_begin", r.loop_begin}, {"body_begin", r.body_begin}, {"body_len", r.body_len}, {"times", r.times}});
  return j;
}

Program Program::from_json(const nlohmann::json& j) {
  Program p;
  const std::string top = "top level";
  p.model = field<std::string>(j, "model", top);
  p.hw_name = field<std::string>(j, "hw", top);
  p.precision = dtype_from_name(field<std::string>(j, "precision", top));
  p.batch = field<int>(j, "batch", top);
  p.weight_bytes_total = field_or<uint64_t>(j, "weight_bytes_total", 0, top);
  p.resident_weight_bytes = field_or<uint64_t>(j, "resident_weight_bytes", 0, top);
  p.comm_overlap = field_or<bool>(j, "comm_overlap", false, top);
  p.blocked_attention = field_or<bool>(j, "blocked_attention", false, top);
  if (!j.contains("layers") || !j["layers"].is_array()) fail("program: missing array 'layers'");
  if (!j.contains("instrs") || !j["instrs"].is_array()) fail("program: missing array 'instrs'");
  for (size_t i = 0; i < j["layers"].size(); ++i) {
    const auto& o = j["layers"][i];
    std::string w = "layers[" + std::to_string(i) + "]";
    Layer l;
    l.name = field<std::string>(o, "name", w);
    l.op_type = field<std::string>(o, "op_type", w);
    l.unit = field<std::string>(o, "unit", w);
    l.macs = field_or<int64_t>(o, "macs", 0, w);
    l.vector_elements = field_or<int64_t>(o, "vector_elements", 0, w);
    l.weight_bytes = field_or<uint64_t>(o, "weight_bytes", 0, w);
    l.weights_resident = field_or<bool>(o, "weights_resident", false, w);
    l.weight_home = mem_level_from(field_or<std::string>(o, "weight_home", "offchip", w));
    l.cores = field_or<std::vector<int>>(o, "cores", {}, w);
    l.gemm_m = field_or<int64_t>(o, "gemm_m", 0, w);
    l.gemm_k = field_or<int64_t>(o, "gemm_k", 0, w);
    l.gemm_n = field_or<int64_t>(o, "gemm_n", 0, w);
    l.groups = field_or<int64_t>(o, "groups", 1, w);
    l.tile_m = field_or<int64_t>(o, "tile_m", 0, w);
    l.tile_k = field_or<int64_t>(o, "tile_k", 0, w);
    l.tile_n = field_or<int64_t>(o, "tile_n", 0, w);
    l.k_split = field_or<int64_t>(o, "k_split", 1, w);
    p.layers.push_back(std::move(l));
  }
  for (size_t i = 0; i < j["instrs"].size(); ++i) {
    const auto& o = j["instrs"][i];
    std::string w = "instrs[" + std::to_string(i) + "]";
    Instr in;
    in.kind = op_kind_from(field<std::string>(o, "kind", w));
    in.layer = field<int>(o, "layer", w);
    in.core = field<int>(o, "core", w);
    in.deps = field_or<std::vector<int>>(o, "deps", {}, w);
    in.replicas = field_or<int>(o, "replicas", 1, w);
    switch (in.kind) {
      case OpKind::Load:
      case OpKind::Store:
      case OpKind::Transfer:
        in.src = mem_level_from(field<std::string>(o, "src", w));
        in.dst = mem_level_from(field<std::string>(o, "dst", w));
        in.peer_core = field_or<int>(o, "peer_core", -1, w);
        in.bytes = field<uint64_t>(o, "bytes", w);
        in.what = field_or<std::string>(o, "what", "", w);
        break;
      case OpKind::MatMul: {
        auto m = field<std::vector<int64_t>>(o, "m", w), k = field<std::vector<int64_t>>(o, "k", w),
             n = field<std::vector<int64_t>>(o, "n", w);
        check(m.size() == 2 && k.size() == 2 && n.size() == 2, "program: ", w, ": m, k, n must be [begin, end]");
        in.m0 = m[0], in.m1 = m[1], in.k0 = k[0], in.k1 = k[1], in.n0 = n[0], in.n1 = n[1];
        in.group = field_or<int64_t>(o, "group", 0, w);
        in.dtype = dtype_from_name(field<std::string>(o, "dtype", w));
        break;
      }
      case OpKind::Vector:
        in.elements = field<int64_t>(o, "elements", w);
        in.op_class = field<std::string>(o, "op_class", w);
        break;
      case OpKind::Collective:
        in.what = field<std::string>(o, "what", w);
        in.bytes = field<uint64_t>(o, "bytes", w);
        in.cycles = field<uint64_t>(o, "cycles", w);
        in.energy_j = field_or<double>(o, "energy_j", 0, w);
        break;
      case OpKind::Barrier:
        break;
    }
    p.instrs.push_back(std::move(in));
  }
  if (j.contains("repeats")) {
    if (!j["repeats"].is_array()) fail("program: 'repeats' must be an array");
    for (size_t i = 0; i < j["repeats"].size(); ++i) {
      const auto& o = j["repeats"][i];
      std::string w = "repeats[" + std::to_string(i) + "]";
      p.repeats.push_back({field<int>(o, "loop_begin", w), field<int>(o, "body_begin", w), field<int>(o, "body_len", w),
                           field<int64_t>(o, "times", w)});
    }
  }
  return p;
}

uint64_t Program::expanded_instrs() const {
  uint64_t n = 0;
  for (const Instr& in : instrs) n += uint64_t(in.replicas);
  for (const Repeat& r : repeats)
    for (int i = r.body_begin; i < r.body_begin + r.body_len; ++i)
      n += uint64_t(instrs[size_t(i)].replicas) * uint64_t(r.times);
  return n;
}

void Program::validate(int hw_cores) const {
  const int nl = int(layers.size());
  for (int li = 0; li < nl; ++li) {
    const Layer& l = layers[size_t(li)];
    for (int c : l.cores) check(c >= 0 && c < hw_cores, "program: layer ", l.name, ": core ", c, " out of range");
    if (l.unit == "matrix")
      check(l.gemm_m > 0 && l.gemm_k > 0 && l.gemm_n > 0 && l.groups > 0 && l.tile_m > 0 && l.tile_k > 0 &&
                l.tile_n > 0 && l.k_split >= 1,
            "program: layer ", l.name, ": empty GEMM view or tile");
    else
      check(l.unit == "vector" || l.unit == "none" || l.unit == "epilogue" || l.unit == "comm", "program: layer ",
            l.name, ": unknown unit '", l.unit, "'");
  }
  for (size_t i = 0; i < instrs.size(); ++i) {
    const Instr& in = instrs[i];
    check(in.layer >= -1 && in.layer < nl, "program: instruction ", i, ": layer ", in.layer, " out of range");
    check(in.core >= 0 && in.core < hw_cores, "program: instruction ", i, ": core ", in.core, " out of range");
    check(in.replicas >= 1 && int64_t(in.core) + in.replicas <= hw_cores, "program: instruction ", i, ": ", in.replicas,
          " replicas from core ", in.core, " exceed the ", hw_cores, " cores");
    for (int d : in.deps)
      check(d >= 0 && size_t(d) < i, "program: instruction ", i, ": dependency ", d, " does not point backwards");
    if (in.kind == OpKind::Transfer)
      check(in.peer_core >= 0 && in.peer_core < hw_cores, "program: instruction ", i, ": peer core ", in.peer_core,
            " out of range");
    if (in.kind == OpKind::MatMul) {
      check(in.layer >= 0 && layers[size_t(in.layer)].unit == "matrix", "program: instruction ", i,
            ": matmul outside a matrix layer");
      const Layer& l = layers[size_t(in.layer)];
      check(in.m0 >= 0 && in.m0 < in.m1 && in.m1 <= l.gemm_m && in.k0 >= 0 && in.k0 < in.k1 && in.k1 <= l.gemm_k &&
                in.n0 >= 0 && in.n0 < in.n1 && in.n1 <= l.gemm_n && in.group >= 0 && in.group < l.groups,
            "program: instruction ", i, ": tile outside the GEMM view of layer ", l.name);
    }
    if (in.kind == OpKind::Vector)
      check(in.elements > 0 && !in.op_class.empty(), "program: instruction ", i, ": empty vector work");
    if (in.kind == OpKind::Collective)
      check(in.layer >= 0 && layers[size_t(in.layer)].unit == "comm", "program: instruction ", i,
            ": collective outside a comm layer");
  }
  int64_t prev_end = 0;
  for (size_t i = 0; i < repeats.size(); ++i) {
    const Repeat& r = repeats[i];
    const int64_t end = int64_t(r.body_begin) + r.body_len;
    check(r.body_len > 0 && r.times > 0 && r.loop_begin >= 0 && r.loop_begin <= r.body_begin &&
              r.body_begin >= prev_end && end <= int64_t(instrs.size()),
          "program: repeats[", i, "]: body [", r.body_begin, ", ", end, ") x", r.times, " from loop ", r.loop_begin,
          " is not a non-empty range after the previous repeat");
    prev_end = end;
  }
}

}  // namespace wafer::npu
