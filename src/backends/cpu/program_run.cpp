// The cpu backend's Program: running the steps over one set of inputs.
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

std::vector<Tensor> Program::run(const std::vector<Tensor>& inputs) {
  set_threads(threads_);
  if (interpret_whole_graph_) {
    Interpreter interp;
    if (!node_profiler_) return interp.run(*graph_, inputs);
    node_profiler_->attach(interp);
    node_profiler_->begin_run(*graph_, inputs);
    auto outs = interp.run(*graph_, inputs);
    node_profiler_->end_run();
    return outs;
  }
  check(inputs.size() == input_ids_.size(), "cpu backend: expected ", input_ids_.size(), " inputs, got ",
        inputs.size());
  // Copy assignment into tensors that kept their dims (release_storage): no allocation.
  for (size_t i = 0; i < inputs.size(); ++i) tensors_[size_t(input_ids_[i])] = inputs[i];
  const bool timed = profiling_;
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = steps_[i];
    auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    for (int t : s.alloc_tensors)
      tensors_[size_t(t)] = Tensor(tensor_info_[size_t(t)].dtype, tensor_info_[size_t(t)].dims);
    if (s.prim) {
      for (size_t a : s.dynamic_args) s.mems[a].set_data_handle(tensors_[size_t(s.args[a].second.tensor)].raw());
      s.prim->execute(stream_, s.exec_args);
    } else {
      s.fn();
    }
    for (int t : s.release) tensors_[size_t(t)].release_storage();
    if (timed) {
      stream_.wait();  // (a no-op on the synchronous CPU runtime; keeps the time honest on any other)
      step_ms_[i].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  stream_.wait();
  if (timed) ++profiled_runs_;
  std::vector<Tensor> outs;
  outs.reserve(output_ids_.size());
  for (int o : output_ids_) outs.push_back(tensors_[size_t(o)]);
  for (int o : output_ids_)
    if (!tensor_info_[size_t(o)].persistent) tensors_[size_t(o)].release_storage();
  for (int i : input_ids_) tensors_[size_t(i)].release_storage();
  return outs;
}

}  // namespace wafer::cpu
