// Backend "cpu": a real inference engine. compile() keeps the graph; the first
// run with a new set of input shapes binds every dim to a number, optimizes the
// graph and lowers it to a Program (oneDNN conv/matmul/pooling with fused
// epilogues, vectorized elementwise kernels, reference kernels for the rest).
// Programs are cached per input-shape set, so steady-state runs only execute.
//
// Control flow: a model whose If conditions depend on small integer or bool
// inputs (Silero VAD branches on its sample-rate input) gets one program per
// value of those inputs too: they are bound as constants, the conditions fold
// and the branches taken are inlined (passes/inline_if.h), so their nodes run on
// the fast kernels instead of the interpreter that runs graphs with subgraphs.
//
// Weights are held once: the executable's graph lends its initializers to the
// Program being built, which frees each plain weight as soon as it is packed
// into oneDNN's layout and nothing else reads it (see Program). Compiling for
// another shape set first recovers those weights by reordering them back out of
// the packed form of the program that released them (exact in fp32; in bf16 the
// recovered weights are bf16-rounded, which is what every bf16 program computes
// with anyway). Graphs given by reference (compile()) stay shared with the
// caller, who keeps the plain weights alive; compile_owned() avoids that.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "backends/backend.h"
#include "backends/cpu/program.h"
#include "frontend/inputs.h"
#include "ir/weight_data.h"
#include "passes/cpu_pipeline.h"
#include "passes/pass_util.h"

namespace wafer::cpu {
namespace {

// Inputs bound to their values when small: the If conditions of `g` and its subgraphs read them. An
// input that takes many values (a step counter) stops being specialized after a few, so a long run
// does not compile a program per call: those runs take the interpreted program.
constexpr int64_t kMaxSelectorElements = 8;
constexpr size_t kMaxSpecializations = 4;  // programs per input-shape set

void collect_ifs(const Graph& g, std::vector<std::string>& conds, std::map<std::string, const Node*>& producers) {
  for (const auto& n : g.nodes) {
    for (const auto& o : n->outputs) producers[o] = n.get();
    if (n->domain.empty() && n->op_type == "If" && !n->inputs.empty()) conds.push_back(n->inputs[0]);
    for (const auto& [_, a] : n->attrs)
      if (const auto* sub = std::get_if<std::shared_ptr<Graph>>(&a.value)) collect_ifs(**sub, conds, producers);
  }
}

// Indices of the graph inputs some If condition depends on (through ordinary nodes), integer or bool typed.
std::vector<size_t> branch_selectors(const Graph& g) {
  std::vector<std::string> todo;
  std::map<std::string, const Node*> producers;
  collect_ifs(g, todo, producers);
  std::set<std::string> seen;
  std::vector<size_t> out;
  while (!todo.empty()) {
    std::string v = todo.back();
    todo.pop_back();
    if (v.empty() || !seen.insert(v).second) continue;
    if (auto it = producers.find(v); it != producers.end()) {
      if (!has_subgraph(*it->second)) todo.insert(todo.end(), it->second->inputs.begin(), it->second->inputs.end());
      continue;
    }
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      auto type = g.type_of(g.inputs[i]);
      if (g.inputs[i] == v && (!type || !is_float(type->dtype))) out.push_back(i);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class CpuExecutable : public Executable {
 public:
  CpuExecutable(std::unique_ptr<Graph> g, CompileOptions o)
      : graph_(std::move(g)),
        options_(std::move(o)),
        ablation_(ablation_from_env()),
        selectors_(branch_selectors(*graph_)) {
    // With every symbolic input dim bound up front, compile now (compile-time work stays out of run()).
    bool all_static = true;
    Shapes shapes;
    for (const auto& in : graph_->inputs) {
      auto type = graph_->type_of(in);
      if (!type || !type->shape.rank_known) {
        all_static = false;
        break;
      }
      Dims d;
      for (const Dim& dim : type->shape.dims) {
        if (dim.known())
          d.push_back(dim.value);
        else if (auto it = options_.symbols.find(dim.symbol); !dim.symbol.empty() && it != options_.symbols.end())
          d.push_back(it->second);
        else
          all_static = false;
      }
      shapes.push_back(d);
    }
    // (With branch selectors the program depends on input values: the first run compiles it.)
    if (all_static && selectors_.empty()) program_for(shapes, {});
  }

  // Nodes of the program for these input shapes that run on reference kernels.
  std::vector<std::string> fallback_nodes(const std::vector<Dims>& shapes) {
    std::lock_guard lock(mutex_);
    return program_for(shapes, {}).fallback_nodes();
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) override {
    check_inputs(*graph_, inputs);
    std::lock_guard lock(mutex_);  // a program's buffers serve one run at a time
    Shapes shapes;
    for (const auto& t : inputs) shapes.push_back(t.dims());
    Values values;
    for (size_t i : selectors_)
      if (i < inputs.size() && !is_float(inputs[i].dtype()) && inputs[i].numel() <= kMaxSelectorElements)
        values[i] = inputs[i];
    if (!values.empty() && !cache_.count({shapes, value_key(values)})) {
      size_t same_shapes = 0;
      for (const auto& [key, _] : cache_) same_shapes += key.first == shapes;
      if (same_shapes >= kMaxSpecializations) values.clear();
    }
    return program_for(shapes, values).run(inputs);
  }

  bool can_profile() const override { return true; }
  void set_profiling(bool on) override {
    std::lock_guard lock(mutex_);
    profiling_ = on;
    for (auto& [_, p] : cache_) p->set_profiling(on);
  }
  Profile profile() const override {
    std::lock_guard lock(mutex_);
    return last_ ? last_->profile() : Profile{};
  }
  std::optional<ProgramSummary> program_summary() const override {
    std::lock_guard lock(mutex_);
    if (!last_) return std::nullopt;
    return ProgramSummary{last_->step_labels().size(), last_->planned_bytes(), last_->fingerprint()};
  }

 private:
  using Shapes = std::vector<Dims>;
  using Values = std::map<size_t, Tensor>;  // input index -> the value a program is specialized for
  using Key = std::pair<Shapes, std::string>;

  static std::string value_key(const Values& values) {
    std::string key;
    for (const auto& [i, t] : values) {
      key += std::to_string(i) + ":" + std::to_string(int(t.dtype())) + ":";
      key.append(static_cast<const char*>(t.raw()), t.nbytes());
      key += ";";
    }
    return key;
  }

  Program& program_for(const Shapes& shapes, const Values& values) {
    Key key{shapes, value_key(values)};
    auto it = cache_.find(key);
    if (it != cache_.end()) return *(last_ = it->second.get());
    for (const auto& [name, from] : released_) graph_->initializers[name] = from->recover_weight(name);
    released_.clear();
    auto g = graph_->clone();
    // Bind the inputs to these exact shapes, so every value gets static dims.
    for (size_t i = 0; i < g->inputs.size() && i < shapes.size(); ++i) {
      auto type = g->type_of(g->inputs[i]);
      ValueType vt = type ? *type : ValueType{};
      vt.shape = Shape::from(shapes[i]);
      g->types[g->inputs[i]] = vt;
    }
    // Bind the branch selectors to their values: the If conditions fold, the branches taken get inlined.
    for (const auto& [i, t] : values) {
      std::string constant = g->unique_name(g->inputs[i] + "_value");
      g->initializers[constant] = t.clone();
      replace_uses(*g, g->inputs[i], constant);
    }
    // The CPU pipeline: optimize() plus Conv+BN folding, the bias/activation/
    // residual fusions that map onto oneDNN post-ops (the GELU rule must run:
    // FusedMatMul absorbs the wafer.Gelu it produces) and wafer.Attention
    // (attention_kernel.h, reading its operands through views).
    CpuPipelineOptions opts;
    opts.optimize.symbols = options_.symbols;
    apply_ablation(ablation_, opts);
    try {
      auto trial = g->clone();
      cpu_pipeline(*trial, opts);
      g = std::move(trial);
    } catch (const Error&) {
      // A graph the optimizer cannot handle still runs, unoptimized, on the reference kernels.
    }
    auto program = std::make_unique<Program>(std::move(g), options_, &graph_->initializers, ablation_);
    for (const auto& name : program->released_weights()) released_[name] = program.get();
    if (profiling_) program->set_profiling(true);
    last_ = program.get();
    return *cache_.emplace(std::move(key), std::move(program)).first->second;
  }

  std::unique_ptr<Graph> graph_;
  CompileOptions options_;
  Ablation ablation_;  // WAFER_CPU_DISABLE: optimizations turned off (bench/run --ablation)
  mutable std::mutex mutex_;
  std::vector<size_t> selectors_;  // inputs the If conditions read (branch_selectors)
  std::map<Key, std::unique_ptr<Program>> cache_;
  Program* last_ = nullptr;  // the program the last run (or the up-front compile) used
  bool profiling_ = false;
  std::map<std::string, Program*> released_;  // weights graph_ lent to a program that freed their plain form
};

class CpuBackend : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  // Every op with a reference kernel, plus the fused ops oneDNN runs directly.
  bool supports(const Node& node) const override {
    if (node.domain == "wafer" && (node.op_type == "FusedConv" || node.op_type == "FusedMatMul")) return true;
    return Backend::supports(node);
  }
  std::unique_ptr<Executable> compile(const Graph& graph, const CompileOptions& options) override {
    require_weight_data(graph, name());
    return std::make_unique<CpuExecutable>(graph.clone(), options);
  }
  std::unique_ptr<Executable> compile_owned(std::unique_ptr<Graph> graph, const CompileOptions& options) override {
    require_weight_data(*graph, name());
    return std::make_unique<CpuExecutable>(std::move(graph), options);
  }
  std::vector<std::string> fallback_nodes(const Graph& graph, const CompileOptions& options) override {
    std::vector<Dims> shapes;
    for (const auto& in : graph.inputs) {
      auto type = graph.type_of(in);
      check(type.has_value(), "input '", in, "' has no declared type");
      shapes.push_back(concrete_input_dims(in, type->shape, options.symbols));
    }
    CpuExecutable exe(graph.clone(), options);
    return exe.fallback_nodes(shapes);
  }
};

const BackendRegistrar registrar("cpu", [] { return std::make_unique<CpuBackend>(); });

}  // namespace
}  // namespace wafer::cpu
