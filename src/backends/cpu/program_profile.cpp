// The cpu backend's Program: what each step is (implementation, instruction set, work) and the profile of
// its runs; step counts and the fingerprint that tests compare programs by.
#include "backends/cpu/program.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backends/cpu/isa.h"
#include "backends/cpu/threading.h"
#include "backends/reference/interpreter.h"
#include "backends/reference/node_profiler.h"
#include "ir/cost.h"

namespace wafer::cpu {

using dnnl::memory;

namespace {
// The instruction set in a oneDNN implementation name ("brg:avx512_core" -> "avx512_core"); "" when it
// names none ("gemm:jit", "ref:any", "simple:any").
std::string onednn_isa(const std::string& impl) {
  std::string tail = impl.substr(impl.rfind(':') + 1);
  for (const char* prefix : {"avx", "sse", "amx"})
    if (tail.rfind(prefix, 0) == 0) return tail;
  return "";
}

std::string impl_name(const dnnl::primitive& prim) {
  const char* s = nullptr;
  if (dnnl_primitive_desc_query(prim.get_primitive_desc(), dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
    return "unknown";
  return s;
}
}  // namespace

// What the profile says about a step: who runs it (oneDNN's implementation, our kernel at the
// ISA level in force, or the reference kernel) and its work from the IR's cost model.
void Program::describe(Step& step) const {
  StepProfile& info = step.info;
  info.label = step.label;
  if (step.node) {
    const Node& n = *step.node;
    info.op = n.domain.empty() ? n.op_type : n.domain + "." + n.op_type;
    NodeCost c = node_cost(*graph_, n);
    info.flops = c.flops;
    if (c.bytes_read && c.bytes_written) info.bytes = *c.bytes_read + c.param_bytes + *c.bytes_written;
    info.compute = c.macs.value_or(0) > 0;
    if (step.kernel == "view") info.bytes = 0;  // shares its source's storage: nothing moves
  } else {
    // A conversion between layouts or element types: reads one buffer, writes another.
    info.op = step.op.empty() ? step.label.substr(0, step.label.find(' ')) : step.op;
    info.flops = 0;
    int64_t bytes = 0;
    for (const auto& [_, ref] : step.args) bytes += int64_t(ref.md.get_size());
    info.bytes = bytes;
  }
  if (step.prim) {
    info.library = "oneDNN";
    info.kernel = impl_name(*step.prim);
    info.isa = onednn_isa(info.kernel);
  } else if (step.reference) {
    info.library = info.kernel = "reference";
  } else {
    info.library = "wafer";
    info.kernel = step.kernel.empty() ? "function" : step.kernel;
    if (step.per_isa) info.isa = isa_name(cpu_isa());
  }
}

namespace {
// The profile's key for a step: the first word of its label ("wafer.FusedConv", "reorder", "residual").
std::string step_kind(const Step& s) {
  return (s.reference ? "ref " : "") + s.label.substr(0, s.label.find(' '));
}

void mix(uint64_t& h, uint64_t v) {
  h = (h ^ v) * 1099511628211ull;  // FNV-1a style
}
}  // namespace

std::map<std::string, int> Program::step_counts() const {
  std::map<std::string, int> counts;
  for (const auto& s : steps_) counts[step_kind(s)]++;
  return counts;
}

uint64_t Program::fingerprint() const {
  uint64_t h = 1469598103934665603ull;
  for (const auto& s : steps_) {
    for (char c : step_kind(s)) mix(h, uint64_t(c));
    for (const auto& [arg, ref] : s.args) {
      const auto& d = ref.md.data;
      mix(h, uint64_t(arg));
      mix(h, uint64_t(d.data_type));
      mix(h, uint64_t(d.format_kind));
      for (int i = 0; i < d.ndims; ++i) {
        mix(h, uint64_t(d.dims[i]));
        mix(h, uint64_t(d.format_desc.blocking.strides[i]));
      }
      for (int i = 0; i < d.format_desc.blocking.inner_nblks; ++i)
        mix(h, uint64_t(d.format_desc.blocking.inner_blks[i] * 16 + d.format_desc.blocking.inner_idxs[i]));
    }
  }
  mix(h, uint64_t(planned_bytes_));
  return h;
}

void Program::set_profiling(bool on) {
  profiling_ = on;
  profiled_runs_ = 0;
  step_ms_.assign(on ? steps_.size() : 0, {});
  node_profiler_ = on && interpret_whole_graph_ ? std::make_unique<NodeProfiler>() : nullptr;
}

Profile Program::profile() const {
  if (node_profiler_) return node_profiler_->profile();
  Profile p;
  p.runs = profiled_runs_;
  for (size_t i = 0; i < steps_.size(); ++i) {
    p.steps.push_back(steps_[i].info);
    if (i < step_ms_.size()) p.steps.back().run_ms = step_ms_[i];
  }
  return p;
}

}  // namespace wafer::cpu
