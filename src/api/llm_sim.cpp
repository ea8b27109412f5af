#include "api/llm_sim.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "api/llm_parallel.h"
#include "api/llm_tensor_parallel.h"
#include "api/model_loading.h"
#include "api/npu_model.h"
#include "core/error.h"
#include "frontend/llm/decoder_builder.h"
#include "frontend/llm/llm_config.h"
#include "frontend/onnx/importer.h"
#include "npu/collectives.h"
#include "npu/compiler.h"
#include "npu/compiler_ops.h"
#include "npu/contention.h"
#include "npu/evaluate.h"
#include "npu/report/report.h"
#include "npu/system.h"

namespace wafer::api {

namespace {

std::string gb(double bytes) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(bytes >= 1e10 ? 1 : 2) << bytes / 1e9 << " GB";
  return o.str();
}

// What the two phases are built from: an architecture, or an imported decoder with its symbols.
struct Source {
  bool from_config = true;
  llm::LlmConfig config;
  Model onnx;
  std::string batch_sym, seq_sym, past_sym, total_sym;  // the decoder's symbolic dims
  uint64_t kv_elems_per_token = 0;                      // per sequence, all layers (ONNX)
  int64_t layers = 0;                                   // past_key_values.{i}.key inputs (ONNX)
  int64_t tp = 1;  // config: the shard of tp chips, built with its collectives (DecoderShape::tp)
  int64_t ep = 1;  // config: the experts of one of ep chips, with its all-to-alls (DecoderShape::ep)
};

// A shipped config by its name, a config file by its stem, an ONNX decoder as other models are named.
std::string llm_display_name(const std::string& model, bool from_config) {
  if (from_config && !llm::find_llm_config(model).empty()) return model;
  if (from_config && std::filesystem::path(model).extension() == ".json")
    return std::filesystem::path(model).stem().string();
  return model_display_name(model);
}

Source load_source(const LlmSimOptions& o) {
  Source s;
  if (llm::is_llm_config_path(o.model)) {
    s.config = llm::load_llm_config(o.model);
    if (o.layers >= 0) {
      check(o.layers >= 1, "--layers must be at least 1, got ", o.layers);
      s.config.layers = std::min(s.config.layers, o.layers);
    }
    return s;
  }
  s.from_config = false;
  namespace fs = std::filesystem;
  std::string path = o.model;
  if (path.find('/') == std::string::npos && !fs::exists(path) && fs::path(path).extension() != ".onnx") {
    std::string names;
    for (const auto& n : llm::shipped_llm_configs()) names += (names.empty() ? "" : ", ") + n;
    fail("'", path, "': no such model file, nor a shipped LLM config of that name (configs: ", names,
         "; set WAFER_MODEL_PATH to add folders)");
  }
  if (fs::is_directory(path)) path = (fs::path(path) / "model.onnx").string();
  s.onnx = import_onnx_file(path);
  const Graph& g = *s.onnx.graph;
  // The decoder's dims by the export convention (decoder_builder.h): input_ids [batch, seq],
  // past_key_values.{i}.key [batch, kv_heads, past, head_dim], attention_mask [batch, past + seq].
  auto sym = [&](const std::string& input, size_t d) -> std::string {
    auto t = g.type_of(input);
    if (!t || !t->shape.rank_known || t->shape.dims.size() <= d) return {};
    return t->shape.dims[d].symbol;
  };
  bool has_past = false;
  for (const auto& in : g.inputs) {
    if (in.rfind("past_key_values.", 0) != 0) continue;
    has_past = true;
    if (s.past_sym.empty()) s.past_sym = sym(in, 2);
    auto t = g.type_of(in);
    check(t && t->shape.rank_known && t->shape.dims.size() == 4 && t->shape.dims[1].known() && t->shape.dims[3].known(),
          path, ": input '", in, "' is not [batch, kv_heads, past, head_dim] with known heads and head_dim");
    s.kv_elems_per_token += uint64_t(t->shape.dims[1].value * t->shape.dims[3].value);
    if (in.size() > 4 && in.compare(in.size() - 4, 4, ".key") == 0) ++s.layers;
  }
  check(has_past, path,
        ": not a decoder with a KV cache (no past_key_values.* inputs); simulate it without --prompt-len/--gen-len");
  check(std::find(g.inputs.begin(), g.inputs.end(), "input_ids") != g.inputs.end(), path,
        ": a decoder with a KV cache needs an 'input_ids' input");
  s.batch_sym = sym("input_ids", 0);
  s.seq_sym = sym("input_ids", 1);
  s.total_sym = sym("attention_mask", 1);
  check(!s.past_sym.empty() && s.past_sym != s.seq_sym, path,
        ": the past length of past_key_values.* must be a symbolic dim of its own");
  return s;
}

// The graph of one phase with every shape known: a config is built at these dims; an ONNX decoder
// has its symbols bound (and is optimized, which infers its shapes).
std::unique_ptr<Graph> phase_graph(const Source& s, int64_t batch, int64_t seq, int64_t past,
                                   npu::NpuCompileOptions& co) {
  co.batch = int(batch);
  if (s.from_config) {
    llm::DecoderShape shape;
    shape.batch = batch, shape.seq = seq, shape.past = past, shape.last_logits_only = true, shape.tp = s.tp;
    shape.ep = s.ep;
    return std::move(llm::build_decoder(s.config, shape).graph);
  }
  co.symbols.clear();
  if (!s.batch_sym.empty()) co.symbols[s.batch_sym] = batch;
  if (!s.seq_sym.empty()) co.symbols[s.seq_sym] = seq;
  co.symbols[s.past_sym] = past;
  if (!s.total_sym.empty() && s.total_sym != s.past_sym && s.total_sym != s.seq_sym)
    co.symbols[s.total_sym] = past + seq;
  return npu::prepare_for_npu(*s.onnx.graph, co);
}

void accumulate(npu::SimResult& total, const npu::SimResult& part, int64_t times) {
  const double n = double(times);
  total.hw_name = part.hw_name, total.model = part.model;
  total.batch = part.batch, total.precision = part.precision, total.clock_hz = part.clock_hz;
  total.peak_macs_per_s = part.peak_macs_per_s, total.offchip_bytes_per_s = part.offchip_bytes_per_s;
  total.area_mm2 = part.area_mm2;
  total.cycles += part.cycles * uint64_t(times);
  total.latency_s += part.latency_s * n;
  total.macs += part.macs * times;
  total.offchip_bytes += part.offchip_bytes * uint64_t(times);
  total.onchip_bytes += part.onchip_bytes * uint64_t(times);
  total.collectives += part.collectives * times;
  total.comm_cycles += part.comm_cycles * uint64_t(times);
  total.comm_exposed_cycles += part.comm_exposed_cycles * uint64_t(times);
  for (const auto& [kind, c] : part.comm_exposed_by_kind) total.comm_exposed_by_kind[kind] += c * uint64_t(times);
  total.comm_energy_j += part.comm_energy_j * n;
  total.energy_j += part.energy_j * n;
  for (const auto& [k, v] : part.energy_breakdown_j) total.energy_breakdown_j[k] += v * n;
  // The segment's layers, each spanning its cycles times the repeats (where the phase's time goes by op).
  for (npu::LayerStats l : part.layers) {
    const uint64_t span = l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
    l.start_cycle = 0, l.end_cycle = span * uint64_t(times);
    total.layers.push_back(std::move(l));
  }
}

npu::SimResult evaluate(const Graph& built, bool optimize, const npu::HardwareDesc& hw,
                        const npu::NpuCompileOptions& co) {
  if (!optimize) return npu::evaluate_design(built, hw, co, false);
  auto g = npu::prepare_for_npu(built, co);
  return npu::evaluate_design(*g, hw, co, false);
}

// Compiles and simulates one phase. A config's decoder is timed by segments (decoder_builder.h):
// the embedding, one decoder layer and the head, each compiled and simulated on its own, the layer's
// time counted once per layer. Its layers are identical (same shapes, same ops), so they compile to
// the same program and simulate to the same time: one simulation stands for all of them, exactly.
// What segments leave out is overlap across a layer boundary: each segment starts with its inputs
// in memory and ends with its outputs stored, as if a barrier separated the layers (docs/LLM.md).
LlmPhase evaluate_phase(const Source& s, std::unique_ptr<Graph> whole, const npu::HardwareDesc& hw,
                        const npu::NpuCompileOptions& co, int64_t seq, int64_t past, bool whole_graph,
                        const std::string& what) try {
  auto t0 = std::chrono::steady_clock::now();
  LlmPhase p;
  if (!s.from_config || whole_graph) {
    p.sim = evaluate(*whole, s.from_config, hw, co);
    p.segments = 1;
  } else {
    whole.reset();
    llm::DecoderShape shape;
    shape.batch = co.batch, shape.seq = seq, shape.past = past, shape.last_logits_only = true, shape.tp = s.tp;
    shape.ep = s.ep;
    for (auto [part, times] : {std::pair{llm::DecoderPart::embedding, int64_t(1)},
                               {llm::DecoderPart::layer, s.config.layers},
                               {llm::DecoderPart::head, int64_t(1)}}) {
      shape.part = part;
      Model m = llm::build_decoder(s.config, shape);
      accumulate(p.sim, evaluate(*m.graph, true, hw, co), times);
      ++p.segments;
    }
  }
  p.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return p;
} catch (const UnsupportedError& e) {
  throw UnsupportedError(what + " on " + hw.name + ": " + e.what());
} catch (const Error& e) {
  fail(what, " on ", hw.name, ": ", e.what());
}

// Elements of the floating-point initializers (weights; not shape and index constants).
uint64_t initializer_elems(const Graph& g) {
  uint64_t n = 0;
  for (const auto& [name, t] : g.initializers)
    if (t.dtype() == DType::Float32 || t.dtype() == DType::Float16 || t.dtype() == DType::BFloat16)
      n += uint64_t(t.numel());
  return n;
}

// Elements of the weights one run of the graph reads: a table that is only gathered from (the token
// embedding) is read row by row, as many elements as its Gathers output; every other weight whole.
uint64_t weight_elems_read(const Graph& g) {
  std::map<std::string, uint64_t> gathered;  // table -> elements its Gathers output
  std::set<std::string> read_whole;
  for (const auto& n : g.nodes)
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const std::string& v = n->inputs[i];
      if (!g.is_initializer(v)) continue;
      if (n->op_type == "Gather" && i == 0)
        gathered[v] += uint64_t(std::max<int64_t>(0, npu::known_numel(g, n->outputs.at(0))));
      else
        read_whole.insert(v);
    }
  uint64_t n = 0;
  for (const auto& [name, t] : g.initializers) {
    if (t.dtype() != DType::Float32 && t.dtype() != DType::Float16 && t.dtype() != DType::BFloat16) continue;
    auto it = gathered.find(name);
    n += it != gathered.end() && !read_whole.count(name) ? std::min(uint64_t(t.numel()), it->second)
                                                         : uint64_t(t.numel());
  }
  return n;
}

// The largest working set of one op: its non-constant inputs and its outputs, live together.
uint64_t peak_op_elems(const Graph& g) {
  uint64_t peak = 0;
  for (const auto& n : g.nodes) {
    uint64_t live = 0;
    for (const auto& v : n->inputs)
      if (!v.empty() && !g.is_initializer(v)) live += uint64_t(std::max<int64_t>(0, npu::known_numel(g, v)));
    for (const auto& v : n->outputs)
      if (!v.empty()) live += uint64_t(std::max<int64_t>(0, npu::known_numel(g, v)));
    peak = std::max(peak, live);
  }
  return peak;
}

// Bytes one chip needs at a split: its share of the weights and KV cache (llm_parallel.h), and the largest
// working set of one op of its prefill (every layer is the same, so one layer's graph has it).
uint64_t chip_need_bytes(const llm::LlmConfig& full, const ParallelSplit& split, int64_t batch, int64_t prompt,
                         int64_t context, uint64_t eb) {
  const ChipShare share = chip_share(full, split, int64_t(eb));
  const uint64_t weights = share.weight_params * eb;
  const uint64_t kv = share.kv_bytes_per_token * uint64_t(context) * uint64_t(batch);
  llm::LlmConfig one = shard_for_tp(full, split.tp);
  one.layers = 1;
  llm::DecoderShape shape;
  shape.batch = batch, shape.seq = prompt, shape.past = 0, shape.last_logits_only = true;
  return weights + kv + peak_op_elems(*llm::build_decoder(one, shape).graph) * eb;
}

// The split with the fewest chips (tensor parallel first, then pipeline stages; tp x pp above the chips
// the request was given) at which one chip's share fits `cap`, said as advice for the `does not fit` error:
// on the system given, or on a preset system of this chip. Empty when none up to 1,024 chips fits.
std::string fitting_split(const llm::LlmConfig& full, const ParallelSplit& given, int64_t batch, int64_t prompt,
                          int64_t context, uint64_t eb, uint64_t cap, const npu::HardwareDesc& chip,
                          const std::optional<npu::SystemDesc>& system) {
  // Whether a system's topology can all-reduce over its first t chips (on a torus, a block: npu/contention.h).
  auto group_ok = [](const npu::SystemDesc& s, int64_t t) {
    if (t > s.count) return true;  // said as "more than the chips of"
    try {
      npu::concurrent_collective(s, npu::Collective::AllReduce, npu::strided_groups(int(t), int(t)), 1.0);
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  const int64_t given_chips = given.tp * given.pp * given.ep;
  for (int64_t n = given_chips + 1; n <= 1024; ++n)
    for (int64_t tp = n; tp >= 1; --tp) {
      if (n % tp != 0) continue;
      ParallelSplit sp{tp, n / tp / given.ep, 1, given.ep};
      if (sp.tp * sp.pp * sp.ep != n || sp.pp > full.layers || !tp_divides(full, tp) ||
          (system && !group_ok(*system, tp)) || chip_need_bytes(full, sp, batch, prompt, context, eb) > cap)
        continue;
      const std::string flag = sp.flags();
      if (system) {
        if (n * given.dp <= system->count) return "; it fits with " + flag + " on " + system->name;
        if (n <= system->count)
          return "; it fits with " + flag + " on " + system->name + " (with fewer replicas than --dp " +
                 std::to_string(given.dp) + ")";
        // Past this system's chips a pipeline over more such chips is the answer, said as such below.
        return "; it needs " + flag + ", more than the " + std::to_string(system->count) + " chips of " + system->name;
      }
      for (const auto& name : npu::system_presets()) {
        try {
          npu::SystemDesc s = npu::load_system(name);
          if (s.chip.name == chip.name && s.count >= n && group_ok(s, tp))
            return "; it fits with --hw " + name + " " + flag;
        } catch (const Error&) {
        }
      }
      return "; it fits with " + flag + " on a system of " + std::to_string(n) + " such chips (docs/SYSTEMS.md)";
    }
  return "";
}

}  // namespace

LlmSimReport simulate_llm(const LlmSimOptions& o) {
  // The hardware first: a bad description is reported before the model is read.
  // A system of chips (docs/SYSTEMS.md) runs the model on its chip, split --tp ways.
  std::optional<npu::SystemDesc> system;
  npu::HardwareDesc hw;
  if (o.hw.yaml_text.empty() && npu::is_system(o.hw.preset_or_path)) {
    system = npu::load_system(o.hw.preset_or_path, parse_set_options(o.sets));
    hw = system->chip;
  } else {
    hw = o.hw.load(parse_set_options(o.sets));
  }
  const ParallelSplit split{o.tp, o.pp, o.dp, o.ep};
  for (auto [name, v] : {std::pair{"--tp", o.tp}, {"--pp", o.pp}, {"--dp", o.dp}, {"--ep", o.ep}})
    check(v >= 1, name, " must be at least 1, got ", v);
  if (split.chips() > 1) {
    check(system.has_value(), split.flags(),
          " needs a system of chips for --hw (e.g. dgx-h100: wafer hw --list), not the chip ", hw.name);
    check(split.chips() <= system->count, "tp x pp x dp x ep = ", o.tp, " x ", o.pp, " x ", o.dp, " x ", o.ep, " = ",
          split.chips(), " chips, more than the ", system->count, " chips of ", system->name);
  }
  check(o.batch >= 1, "--batch must be at least 1, got ", o.batch);
  check(o.prompt_len >= 1, "--prompt-len must be at least 1, got ", o.prompt_len);
  check(o.gen_len >= 1, "--gen-len must be at least 1, got ", o.gen_len);
  Source src = load_source(o);
  check((o.tp == 1 && o.pp == 1 && o.ep == 1) || src.from_config, split.flags(),
        " needs an LLM architecture (config.json): an exported ONNX decoder cannot be split");
  const llm::LlmConfig full = src.config;  // the whole model; src.config becomes one chip's share
  if (src.from_config) check_split(split, full, system ? &*system : nullptr);
  if (src.from_config) src.config = shard_for_ep(shard_for_tp(full, o.tp), o.ep), src.tp = o.tp;
  if (src.from_config && full.moe()) src.ep = o.ep;
  const DType dt = resolve_precision(o.precision, PrecisionUse::estimate, [&](DType t) { return hw.supports(t); });
  const uint64_t eb = dtype_size(dt);
  const int64_t B = o.batch, P = o.prompt_len, G = o.gen_len, context = P + G;

  LlmSimReport r;
  r.model = llm_display_name(o.model, src.from_config);
  r.hw_name = hw.name;
  r.tp = o.tp, r.pp = o.pp, r.dp = o.dp, r.ep = o.ep, r.chips = split.chips();
  if (system) r.system_name = system->name, r.comm_overlap = system->comm_engines;
  r.precision = dt;
  r.batch = B, r.prompt_len = P, r.gen_len = G;
  if (src.from_config) {
    const llm::LlmConfig& c = src.config;
    check(context <= c.max_positions, c.source, ": --prompt-len + --gen-len = ", context,
          " exceeds the model's max_position_embeddings (", c.max_positions, ")");
    r.layers = c.layers;
    r.parameters = full.parameter_count();
    r.kv_bytes_per_token = chip_share(full, split, int64_t(eb)).kv_bytes_per_token;
    // The prefill's largest tensors (MLP or vocabulary rows, attention scores) must have an element
    // count that int64 holds: past that the request is a mistake, not a deployment.
    const double rows = double(B) * double(P);
    const double widest = std::max({double(c.hidden), double(c.intermediate), double(c.vocab)});
    const double scores = double(B) * double(c.heads) * double(P) * double(P);
    check(std::max(rows * widest, scores) < 1e18, "--batch ", B, " x --prompt-len ", P, " makes tensors of ~",
          std::max(rows * widest, scores), " elements for ", c.source, ": not a plausible request");
  } else {
    r.parameters = int64_t(initializer_elems(*src.onnx.graph));
    r.layers = src.layers;
    r.kv_bytes_per_token = src.kv_elems_per_token * eb;
  }
  // The KV cache grows with batch x context: past an exabyte the request is a mistake (and would overflow).
  check(double(r.kv_bytes_per_token) * double(context) * double(B) < 1e18, "--batch ", B, " x context ", context,
        " makes a KV cache of ", double(r.kv_bytes_per_token) * double(context) * double(B), " bytes");
  r.weights_bytes = (src.from_config ? chip_share(full, split, int64_t(eb)).weight_params : uint64_t(r.parameters)) *
                    eb;  // one chip's
  r.kv_cache_bytes = r.kv_bytes_per_token * uint64_t(context) * uint64_t(B);

  npu::NpuCompileOptions co;
  co.precision = o.precision;
  // The shard's collectives and sends are instructions of its program, timed on the system's links
  // (docs/SYSTEMS.md). A group the topology cannot span is said before anything is compiled.
  if (system && split.chips() > 1) {
    try {
      if (o.tp > 1) npu::concurrent_collective(*system, npu::Collective::AllReduce, tp_groups(split, 1), 1.0);
      if (o.ep > 1) npu::concurrent_collective(*system, npu::Collective::AllToAll, ep_groups(split, 1), 1.0);
    } catch (const Error& e) {
      fail(split.flags(), " on ", system->name, ": ", e.what());
    }
    co.system = std::make_shared<const npu::SystemDesc>(*system);
  }
  r.micro_batches = o.pp > 1 ? (o.micro_batches > 0 ? o.micro_batches : B) : 1;
  check(r.micro_batches >= 1 && r.micro_batches <= B, "--micro-batches ", o.micro_batches,
        " must be between 1 and the batch (", B, ")");
  // The communication in flight with a phase's (npu/contention.h): every group's collectives of a kind at
  // once (the chips of a stage work in step). A pipelined prefill's stages all work at once, each at its own
  // point of its layers, so all of its traffic is in flight together: every stage's all-reduces and
  // all-to-alls and the sends between stages share the links (an upper bound: a chip's own kinds count as at
  // once). A decode step's stages take turns and a stage's kinds follow each other: each kind alone.
  const int64_t mb_batch = (B + r.micro_batches - 1) / r.micro_batches;  // one micro-batch's sequences
  auto traffic = [&](int64_t stages, int64_t tokens, int64_t send_tokens) {
    std::vector<npu::Traffic> t;
    if (!system) return t;
    const double act = double(full.hidden) * double(eb);
    if (o.tp > 1) t.push_back({false, npu::Collective::AllReduce, tp_groups(split, stages), double(tokens) * act});
    if (src.ep > 1)
      t.push_back({false, npu::Collective::AllToAll, ep_groups(split, stages),
                   double(tokens) * double(full.experts_per_token) * act});
    if (o.pp > 1)
      t.push_back({true, npu::Collective::AllReduce,
                   npu::stage_send_pairs(int(split.tp * split.ep * split.dp), int(stages > 1 ? stages : 2)),
                   double(send_tokens) * act});
    return t;
  };
  // Prefill: the whole prompt, an empty cache. Its graph sizes the activations before anything is
  // timed: the capacity check comes first.
  npu::NpuCompileOptions prefill_co = co;
  prefill_co.traffic = traffic(o.pp, B * P, mb_batch * P);
  prefill_co.traffic_at_once = o.pp > 1;
  std::unique_ptr<Graph> prefill_graph = phase_graph(src, B, P, 0, prefill_co);
  r.activation_bytes = peak_op_elems(*prefill_graph) * eb;

  // Capacity: weights, KV cache and activations live in off-chip memory where the design has it
  // (HBM on GPU-like presets), else in the on-chip SRAM (wafer-scale and SRAM-only designs).
  const uint64_t need = r.weights_bytes + r.kv_cache_bytes + r.activation_bytes;
  uint64_t cap = 0;
  std::string level;
  if (hw.offchip) {
    cap = hw.offchip->capacity_bytes;
    level = hw.offchip->kind + " (off-chip)";
    r.memory_bytes_per_s = hw.offchip->bandwidth_bytes_per_s;
    r.memory.push_back({level, cap, need, "weights + KV cache + activations"});
    r.memory.push_back(
        {"on-chip SRAM", hw.on_chip_bytes(), 0, "tiles and staged operands (the compiler's working set)"});
  } else {
    cap = hw.on_chip_bytes();
    level = "on-chip SRAM";
    // Every core reads its own scratchpad: the design's memory bandwidth is their sum.
    r.memory_bytes_per_s = double(hw.cores) * hw.scratchpad.bytes_per_cycle * hw.clock_hz;
    r.memory.push_back({level, cap, need, "weights + KV cache + activations"});
  }
  r.kv_level = level;
  const double per_seq = double(r.kv_bytes_per_token) * double(context) + double(r.activation_bytes) / double(B);
  r.max_batch = cap > r.weights_bytes ? int64_t(double(cap - r.weights_bytes) / per_seq) : 0;
  if (need > cap) {
    // Chips in all: one chip's share needs this many chips' capacity, times the chips already sharing.
    const int64_t sharing = o.tp * o.pp * o.ep;
    const uint64_t chips =
        std::max<uint64_t>(2, (r.weights_bytes + r.kv_cache_bytes + cap - 1) / cap) * uint64_t(sharing);
    const std::string advice =
        src.from_config ? fitting_split(full, split, B, P, context, eb, cap, hw, system) : std::string();
    fail(r.model, " does not fit on one ", hw.name, sharing > 1 ? " at " + split.flags() : "", ": it needs ",
         gb(double(need)), " (weights ", gb(double(r.weights_bytes)), " + KV cache ", gb(double(r.kv_cache_bytes)),
         " at batch ", B, " and context ", context, " + activations ", gb(double(r.activation_bytes)), "), ",
         gb(double(need - cap)), " more than the ", gb(double(cap)), " of ", level,
         "; its weights and KV cache need at least ", chips, " such chips", sharing > 1 ? " in all" : "",
         r.max_batch >= 1 ? " (or a batch of at most " + std::to_string(r.max_batch) + " on one)" : "", advice);
  }

  // Timing. Prefill: seq = P, past = 0. Decode: one token per sequence at the middle step's context
  // (past = P + (G - 1) / 2): a step's cost grows linearly with the context it reads, so the middle
  // step is the mean over the G - 1 steps after the first token.
  r.decode_context = P + (G - 1) / 2;
  r.prefill = evaluate_phase(src, std::move(prefill_graph), hw, prefill_co, P, 0, o.whole_graph,
                             r.model + " prefill (batch " + std::to_string(B) + ", " + std::to_string(P) + " tokens)");
  npu::NpuCompileOptions decode_co = co;
  decode_co.traffic = traffic(1, B, B);  // a decode step sends the whole batch's tokens
  std::unique_ptr<Graph> decode_graph = phase_graph(src, B, 1, r.decode_context, decode_co);
  const uint64_t decode_weight_elems = weight_elems_read(*decode_graph);
  r.decode = evaluate_phase(
      src, std::move(decode_graph), hw, decode_co, 1, r.decode_context, o.whole_graph,
      r.model + " decode (batch " + std::to_string(B) + ", context " + std::to_string(r.decode_context + 1) + ")");

  // The split's stages around the simulated chip (llm_parallel.h, docs/SYSTEMS.md): its program holds the
  // tensor-parallel all-reduces and expert all-to-alls, a stage boundary's program the pipeline send; the
  // stages run one after another and dp x ep replicas share the batch.
  r.pipeline_bubble = pipeline_bubble(o.pp, r.micro_batches);
  if (system) {
    const int64_t stage_layers = (full.layers + o.pp - 1) / o.pp;
    for (auto [phase, co_p, seq, m] :
         {std::tuple{&r.prefill, &prefill_co, P, r.micro_batches}, {&r.decode, &decode_co, int64_t(1), int64_t(1)}}) {
      // How much the busiest link each kind uses carries beyond its own traffic (npu/contention.h).
      for (const npu::Traffic& t : co_p->traffic) {
        if (t.send) continue;
        std::vector<npu::Traffic> others;
        if (co_p->traffic_at_once)
          for (const npu::Traffic& u : co_p->traffic)
            if (&u != &t) others.push_back(u);
        const npu::ConcurrentCost c = npu::concurrent_collective(*system, t.kind, t.groups, t.n_bytes, {}, others);
        if (t.kind == npu::Collective::AllReduce)
          r.collective = std::string(npu::algorithm_name(c.cost.algorithm)), phase->tp_contention = c.contention;
        else
          phase->ep_contention = c.contention;
      }
      auto exposed_s = [&](const npu::SimResult& sim, const char* kind) {
        auto it = sim.comm_exposed_by_kind.find(kind);
        return it == sim.comm_exposed_by_kind.end() || sim.clock_hz <= 0 ? 0.0 : double(it->second) / sim.clock_hz;
      };
      // The part of the collectives nothing overlapped is communication, the rest of the chip's time compute.
      const double tp_comm = exposed_s(phase->sim, "all-reduce") + exposed_s(phase->sim, "all-gather");
      const double ep_comm = exposed_s(phase->sim, "all-to-all");
      // One pass of every layer on one chip; with pp stages each micro-batch spends stage_layers / layers
      // of it in a stage, and the pipeline takes m + pp - 1 stage slots.
      const double compute = phase->sim.latency_s - tp_comm - ep_comm;
      const double scale = double(m + o.pp - 1) * double(stage_layers) / (double(full.layers) * double(m));
      // A stage's boundary: one micro-batch's hidden states sent to the next stage (wafer.Send), simulated.
      double send = 0, send_energy = 0;
      if (o.pp > 1) {
        llm::DecoderShape shape;
        shape.batch = m > 1 ? mb_batch : B, shape.seq = seq, shape.part = llm::DecoderPart::send;
        npu::NpuCompileOptions send_co = *co_p;
        send_co.batch = int(shape.batch);
        const npu::SimResult sim = evaluate(*llm::build_decoder(src.config, shape).graph, true, hw, send_co);
        send = exposed_s(sim, "send"), send_energy = sim.comm_energy_j;
      }
      // Sends overlap the next micro-batch where the chip moves data while it computes, except the first
      // micro-batch's way down the pipeline; a decode step's token waits for every send.
      // Without overlap every stage's period is its compute and then its send: (m + pp - 2) sends.
      const double exposed_sends = o.pp == 1 ? 0 : double(system->comm_engines ? o.pp - 1 : m + o.pp - 2) * send;
      phase->compute_s = compute * scale;
      phase->tp_comm_s = tp_comm * scale, phase->ep_comm_s = ep_comm * scale, phase->pp_send_s = exposed_sends;
      phase->comm_s = phase->tp_comm_s + phase->ep_comm_s + phase->pp_send_s;
      phase->sim.latency_s = phase->compute_s + phase->comm_s;
      // A replica's chips' shares of the collectives' link energy, and every boundary's sends.
      phase->comm_energy_j = phase->sim.comm_energy_j * double(o.tp) + double(o.pp - 1) * double(m) * send_energy;
      phase->sim.energy_j = phase->sim.energy_j * double(o.tp) + phase->comm_energy_j;
    }
  } else {
    r.prefill.compute_s = r.prefill.sim.latency_s, r.decode.compute_s = r.decode.sim.latency_s;
  }
  const double replicas = double(o.dp * o.ep);  // expert parallelism runs attention data-parallel
  r.ttft_s = r.prefill.sim.latency_s;
  r.tpot_s = r.decode.sim.latency_s;
  r.tokens_per_s_per_user = r.tpot_s > 0 ? 1.0 / r.tpot_s : 0;
  r.decode_tokens_per_s = r.tpot_s > 0 ? replicas * double(B) / r.tpot_s : 0;
  const double request_s = r.ttft_s + double(G - 1) * r.tpot_s;
  r.tokens_per_s = request_s > 0 ? replicas * double(B * G) / request_s : 0;
  r.comm_fraction = request_s > 0 ? (r.prefill.comm_s + double(G - 1) * r.decode.comm_s) / request_s : 0;

  // The decode floor: every weight the step uses (for mixture-of-experts, the active experts: the
  // decode graph holds only those; of the embedding, the rows gathered) and the whole KV cache read
  // once, the new K and V written once; of every layer (the stages of a pipeline one after another).
  const uint64_t kv_all_layers =
      src.from_config ? uint64_t(src.config.kv_bytes_per_token(int64_t(eb))) : r.kv_bytes_per_token;
  r.decode_bytes_per_step = decode_weight_elems * eb + kv_all_layers * uint64_t(r.decode_context + 1) * uint64_t(B);
  r.bandwidth_floor_s = r.memory_bytes_per_s > 0 ? double(r.decode_bytes_per_step) / r.memory_bytes_per_s : 0;
  // Per chip: the simulated chip's MACs are every layer's, which the pp stages share.
  auto util = [&](const npu::SimResult& s) {
    return s.peak_macs_per_s > 0 && s.latency_s > 0 ? double(s.macs) / double(o.pp) / (s.peak_macs_per_s * s.latency_s)
                                                    : 0;
  };
  r.prefill_utilization = util(r.prefill.sim);
  r.decode_utilization = util(r.decode.sim);
  r.prefill_energy_per_token_j = r.prefill.sim.energy_j / double(B * P);
  r.decode_energy_per_token_j = r.decode.sim.energy_j / double(B);
  r.energy_per_token_j = (r.prefill.sim.energy_j + double(G - 1) * r.decode.sim.energy_j) / double(B * G);
  r.tokens_per_joule = r.energy_per_token_j > 0 ? 1 / r.energy_per_token_j : 0;
  if (auto chip = npu::chip_cost(hw)) {
    // The chips the model runs on; a system's network cost is shared over its chips in proportion.
    const int chips = int(split.chips());
    const double network = system ? system->network_usd * double(chips) / double(system->count) : 0;
    const double power = r.energy_per_token_j * r.tokens_per_s;  // every replica's chips
    if (system && system->network_assumed) chip->assumed.push_back(system->name + ": cost.network_usd");
    r.cost = npu::deployment_cost(*chip, chips, network, power, r.tokens_per_s);
    r.usd_per_million_tokens = npu::usd_per_million_tokens(r.cost->system_cost_usd, power, r.tokens_per_s);
  }
  return r;
}

struct LlmStepSimulator::Impl {
  Source src;
  npu::HardwareDesc hw;
  npu::NpuCompileOptions co;
  uint64_t eb = 2;
};

LlmStepSimulator::LlmStepSimulator(const LlmSimOptions& o) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.hw = o.hw.load(parse_set_options(o.sets));
  m.src = load_source(o);
  const DType dt = resolve_precision(o.precision, PrecisionUse::estimate, [&](DType t) { return m.hw.supports(t); });
  m.eb = dtype_size(dt);
  m.co.precision = o.precision;
  model = llm_display_name(o.model, m.src.from_config);
  hw_name = m.hw.name;
  if (m.src.from_config) {
    weights_bytes = uint64_t(m.src.config.parameter_count()) * m.eb;
    kv_bytes_per_token = uint64_t(m.src.config.kv_bytes_per_token(int64_t(m.eb)));
    max_positions = m.src.config.max_positions;
  } else {
    weights_bytes = initializer_elems(*m.src.onnx.graph) * m.eb;
    kv_bytes_per_token = m.src.kv_elems_per_token * m.eb;
  }
  capacity_bytes = m.hw.offchip ? m.hw.offchip->capacity_bytes : m.hw.on_chip_bytes();
  memory_level = m.hw.offchip ? m.hw.offchip->kind + " (off-chip)" : "on-chip SRAM";
}

LlmStepSimulator::~LlmStepSimulator() = default;

double LlmStepSimulator::prefill_s(int64_t batch, int64_t tokens) const {
  check(batch >= 1 && tokens >= 1, "prefill needs batch >= 1 and tokens >= 1, got ", batch, " and ", tokens);
  npu::NpuCompileOptions co = impl_->co;
  auto g = phase_graph(impl_->src, batch, tokens, 0, co);
  return evaluate_phase(impl_->src, std::move(g), impl_->hw, co, tokens, 0, false,
                        model + " prefill (batch " + std::to_string(batch) + ", " + std::to_string(tokens) + " tokens)")
      .sim.latency_s;
}

double LlmStepSimulator::decode_s(int64_t batch, int64_t context) const {
  check(batch >= 1 && context >= 0, "decode needs batch >= 1 and context >= 0, got ", batch, " and ", context);
  npu::NpuCompileOptions co = impl_->co;
  auto g = phase_graph(impl_->src, batch, 1, context, co);
  return evaluate_phase(
             impl_->src, std::move(g), impl_->hw, co, 1, context, false,
             model + " decode (batch " + std::to_string(batch) + ", context " + std::to_string(context) + ")")
      .sim.latency_s;
}

int64_t LlmStepSimulator::kv_capacity_tokens(int64_t prompt_tokens) const {
  npu::NpuCompileOptions co = impl_->co;
  auto g = phase_graph(impl_->src, 1, std::max<int64_t>(1, prompt_tokens), 0, co);
  const uint64_t used = weights_bytes + peak_op_elems(*g) * impl_->eb;
  if (used >= capacity_bytes || kv_bytes_per_token == 0) return 0;
  return int64_t((capacity_bytes - used) / kv_bytes_per_token);
}

nlohmann::json llm_sim_json(const LlmSimReport& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["hw"] = r.hw_name;
  j["system"] = r.system_name;
  j["tp"] = r.tp;
  j["collective"] = r.collective;
  j["pp"] = r.pp;
  j["dp"] = r.dp;
  j["ep"] = r.ep;
  j["chips"] = r.chips;
  j["micro_batches"] = r.micro_batches;
  j["pipeline_bubble"] = r.pipeline_bubble;
  j["comm_overlap"] = r.comm_overlap;
  j["comm_fraction"] = r.comm_fraction;
  j["precision"] = dtype_name(r.precision);
  j["batch"] = r.batch;
  j["prompt_len"] = r.prompt_len;
  j["gen_len"] = r.gen_len;
  j["decode_context"] = r.decode_context;
  j["parameters"] = r.parameters;
  j["layers"] = r.layers;
  j["ttft_s"] = r.ttft_s;
  j["tpot_s"] = r.tpot_s;
  j["tokens_per_s"] = r.tokens_per_s;
  j["tokens_per_s_per_user"] = r.tokens_per_s_per_user;
  j["decode_tokens_per_s"] = r.decode_tokens_per_s;
  j["decode_bytes_per_step"] = r.decode_bytes_per_step;
  j["memory_bytes_per_s"] = r.memory_bytes_per_s;
  j["bandwidth_floor_s"] = r.bandwidth_floor_s;
  j["prefill_utilization"] = r.prefill_utilization;
  j["decode_utilization"] = r.decode_utilization;
  j["prefill_energy_per_token_j"] = r.prefill_energy_per_token_j;
  j["decode_energy_per_token_j"] = r.decode_energy_per_token_j;
  j["energy_per_token_j"] = r.energy_per_token_j;
  j["tokens_per_joule"] = r.tokens_per_joule;
  if (r.cost) {
    j["cost"] = report::cost_json(*r.cost, "tokens/s");
    j["usd_per_million_tokens"] = r.usd_per_million_tokens;
    j["cost_assumptions"] = {{"lifetime_years", npu::kCostAssumptions.lifetime_years},
                             {"usd_per_kwh", npu::kCostAssumptions.usd_per_kwh}};
  }
  j["weights_bytes"] = r.weights_bytes;
  j["kv_cache_bytes"] = r.kv_cache_bytes;
  j["kv_bytes_per_token"] = r.kv_bytes_per_token;
  j["activation_bytes"] = r.activation_bytes;
  j["kv_cache_level"] = r.kv_level;
  j["max_batch"] = r.max_batch;
  j["memory"] = nlohmann::json::array();
  for (const auto& m : r.memory)
    j["memory"].push_back(
        {{"level", m.name}, {"capacity_bytes", m.capacity_bytes}, {"used_bytes", m.used_bytes}, {"holds", m.holds}});
  auto phase = [](const LlmPhase& p) {
    return nlohmann::json{{"latency_s", p.sim.latency_s},
                          {"macs", p.sim.macs},
                          {"offchip_bytes", p.sim.offchip_bytes},
                          {"energy_j", p.sim.energy_j},
                          {"comm_s", p.comm_s},
                          {"comm_energy_j", p.comm_energy_j},
                          {"compute_s", p.compute_s},
                          {"tp_comm_s", p.tp_comm_s},
                          {"collectives", p.sim.collectives},
                          {"ep_comm_s", p.ep_comm_s},
                          {"pp_send_s", p.pp_send_s},
                          {"tp_contention", p.tp_contention},
                          {"ep_contention", p.ep_contention},
                          {"simulated_segments", p.segments}};
  };
  j["prefill"] = phase(r.prefill);
  j["decode"] = phase(r.decode);
  return j;
}

std::string llm_sim_table(const LlmSimReport& r) {
  std::ostringstream o;
  o << std::setprecision(4);
  o << r.model << " on " << r.hw_name << " (" << dtype_name(r.precision) << "): " << double(r.parameters) / 1e9
    << " B parameters, " << r.layers << (r.layers == 1 ? " layer" : " layers") << "; batch " << r.batch << ", prompt "
    << r.prompt_len << " tokens, generate " << r.gen_len << "\n";
  if (!r.system_name.empty()) {
    o << "  system " << r.system_name << ": " << r.chips << (r.chips == 1 ? " chip" : " chips") << " = tp " << r.tp
      << " x pp " << r.pp << " x dp " << r.dp << " x ep " << r.ep;
    if (r.tp > 1) o << "; " << r.collective << " all-reduces on the critical path";
    if (r.pp > 1)
      o << "; " << r.pp << " stages, " << r.micro_batches << " prefill micro-batches (bubble "
        << 100 * r.pipeline_bubble << " %), sends " << (r.comm_overlap ? "overlapped" : "not overlapped");
    if (r.ep > 1) o << "; experts over " << r.ep << " chips (all-to-all)";
    if (r.chips > 1) o << "; memory figures are per chip";
    o << "\n";
    if (r.chips > 1)
      o << "  communication         " << r.prefill.comm_s * 1e3 << " ms of TTFT (" << 100 * r.prefill.comm_s / r.ttft_s
        << " %), " << r.decode.comm_s * 1e3 << " ms of TPOT (" << 100 * r.decode.comm_s / r.tpot_s << " %); "
        << 100 * r.comm_fraction << " % of the request (comm_fraction)\n";
    const double tp_c = std::max(r.prefill.tp_contention, r.decode.tp_contention);
    const double ep_c = std::max(r.prefill.ep_contention, r.decode.ep_contention);
    if (tp_c > 1 || ep_c > 1)
      o << "  link contention       all-reduces x" << tp_c << ", all-to-alls x" << ep_c
        << " (busiest shared link, all groups at once over one alone)\n";
  }
  o << "  TTFT (prefill)        " << r.ttft_s * 1e3 << " ms   matrix utilization " << r.prefill_utilization * 100
    << " %\n";
  o << "  TPOT (decode, context " << r.decode_context << ")  " << r.tpot_s * 1e3 << " ms   matrix utilization "
    << r.decode_utilization * 100 << " %\n";
  o << "  decode floor          " << r.bandwidth_floor_s * 1e3 << " ms   (" << gb(double(r.decode_bytes_per_step))
    << " of weights + KV per step at " << r.memory_bytes_per_s / 1e12 << " TB/s); TPOT is "
    << (r.bandwidth_floor_s > 0 ? r.tpot_s / r.bandwidth_floor_s : 0) << "x the floor\n";
  o << "  tokens/s              " << r.tokens_per_s_per_user << " per user, " << r.decode_tokens_per_s << " in decode, "
    << r.tokens_per_s << " over the whole request (prefill included)\n";
  o << "  energy                " << r.prefill_energy_per_token_j * 1e3 << " mJ per prompt token, "
    << r.decode_energy_per_token_j * 1e3 << " mJ per generated token, " << r.energy_per_token_j * 1e3
    << " mJ per generated token over the request (" << r.tokens_per_joule << " tokens/J)\n";
  if (r.cost)
    o << report::cost_text(*r.cost, "tokens/s") << "  $/M tokens            " << r.usd_per_million_tokens
      << " (capex over " << npu::kCostAssumptions.lifetime_years << " years at full use + energy at $"
      << npu::kCostAssumptions.usd_per_kwh << "/kWh, both assumed)\n";
  o << "memory: weights " << gb(double(r.weights_bytes)) << ", KV cache " << gb(double(r.kv_cache_bytes)) << " ("
    << double(r.kv_bytes_per_token) / 1e6 << " MB per token x " << r.prompt_len + r.gen_len << " x " << r.batch
    << ", in " << r.kv_level << "), activations " << gb(double(r.activation_bytes)) << "; at most " << r.max_batch
    << " sequences fit at this context\n";
  for (const auto& m : r.memory) {
    o << "  " << std::left << std::setw(20) << m.name << std::right << gb(double(m.capacity_bytes));
    if (m.used_bytes)
      o << ", " << gb(double(m.used_bytes)) << " used (" << 100.0 * double(m.used_bytes) / double(m.capacity_bytes)
        << " %)";
    o << ": " << m.holds << "\n";
  }
  return o.str();
}

}  // namespace wafer::api
