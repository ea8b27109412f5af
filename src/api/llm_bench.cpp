#include "api/llm_bench.h"

#include <chrono>
#include <filesystem>

#include "api/generate_sut.h"
#include "api/llm_sim.h"
#include "core/error.h"
#include "frontend/llm/llm_config.h"
#include "harness/llm_dataset.h"
#include "harness/llm_device_sut.h"
#include "harness/loadgen.h"
#include "npu/target.h"

namespace wafer::api {
using namespace wafer::harness;

bool is_llm_bench(const BenchOptions& o) {
  return llm::is_llm_config_path(o.model) || !o.dataset.empty() || o.prompt_len || o.gen_len;
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

LlmDataset make_dataset(const BenchOptions& o, const TestSettings& s) {
  if (o.dataset == "openorca") {
    check(!o.prompt_len && !o.gen_len, "--dataset openorca draws its own lengths: drop --prompt-len / --gen-len");
    return openorca_like_dataset(s.qsl_rng_seed);
  }
  check(o.dataset.empty() || o.dataset == "fixed", "--dataset must be openorca or fixed, got '", o.dataset, "'");
  check(o.prompt_len && o.gen_len, "an LLM benchmark needs --dataset openorca or both --prompt-len and --gen-len");
  return fixed_length_dataset(o.qsl_size, *o.prompt_len, *o.gen_len);
}
}  // namespace

namespace {
// cpu / reference: real generation, one request at a time, on the real clock.
BenchRun run_generate_bench(const BenchOptions& o, const TestSettings& s) {
  check(o.mode == "performance", "--target ", o.target, ": LLM accuracy mode is not implemented (performance only)");
  const auto t0 = std::chrono::steady_clock::now();
  LlmDataset data = make_dataset(o, s);
  GenerateOptions go;
  go.model = o.model;
  go.backend = o.target;
  go.threads = o.threads;
  go.precision = o.precision;
  GenerateSut sut(go, data);
  LlmQsl qsl(data);
  const auto t_run = std::chrono::steady_clock::now();
  BenchRun run;
  run.result = run_test(sut, qsl, s, LogOptions{o.out_dir});
  run.wall_s = seconds_since(t0);
  run.llm = {{"dataset", data.name},
             {"batching", "none (one request at a time)"},
             {"iterations", 0},
             {"mean_running_batch", 1},
             {"kv_capacity_tokens", 0},
             {"grid_simulation_s", 0},
             {"scheduling_s", seconds_since(t_run)}};
  return run;
}
}  // namespace

BenchRun run_llm_bench(const BenchOptions& o, const TestSettings& settings) {
  if (o.target.rfind("npu:", 0) != 0) return run_generate_bench(o, settings);
  check(o.mode == "performance", "--target ", o.target, ": LLM accuracy runs need real outputs (--target cpu)");
  check(o.max_batch >= 1, "--max-batch must be at least 1, got ", o.max_batch);
  const auto t0 = std::chrono::steady_clock::now();
  TestSettings s = settings;
  LlmDataset data = make_dataset(o, s);

  npu::NpuTarget target = npu::parse_npu_target(o.target.substr(4), o.precision);
  LlmSimOptions so;
  so.model = o.model;
  so.hw.preset_or_path = target.hardware;
  so.sets = o.sets;
  so.precision = target.precision;
  so.layers = o.layers;
  LlmStepSimulator sim(so);
  if (sim.max_positions > 0)
    check(data.max_context() <= sim.max_positions, o.model, ": the data set's longest request (", data.max_context(),
          " tokens) exceeds max_position_embeddings (", sim.max_positions, ")");

  // Capacity: the KV cache the device holds beside the weights and the largest prefill's activations.
  LlmDeviceModel dev;
  dev.name = "npu:" + sim.hw_name + " " + sim.model + " (" + llm_batching_name(parse_llm_batching(o.batching)) +
             " batching, max batch " + std::to_string(o.max_batch) + ")";
  dev.batching = parse_llm_batching(o.batching);
  dev.max_batch = o.max_batch;
  dev.kv_capacity_tokens = sim.kv_capacity_tokens(data.max_prompt());
  check(dev.kv_capacity_tokens >= data.max_context(), sim.model, " does not fit on one ", sim.hw_name, ": ",
        sim.memory_level, " holds ", sim.capacity_bytes, " bytes, the weights ", sim.weights_bytes,
        " bytes, leaving KV cache for ", dev.kv_capacity_tokens, " tokens; the longest request needs ",
        data.max_context());

  // Step costs at a grid (llm_step_costs.h), simulated once per point.
  const auto t_grid = std::chrono::steady_clock::now();
  // A running batch never exceeds max_batch nor the KV capacity in (at least one-token) requests.
  const int64_t max_batch = std::min<int64_t>(o.max_batch, dev.kv_capacity_tokens);
  std::vector<int64_t> contexts{1};
  for (int64_t c : {data.max_context() / 4, data.max_context() / 2, data.max_context()})
    if (c > contexts.back()) contexts.push_back(c);
  dev.costs.measure(
      power_of_two_grid(data.max_prompt()), [&](int64_t t) { return sim.prefill_s(1, t); },
      power_of_two_grid(std::max<int64_t>(1, max_batch)), contexts,
      [&](int64_t b, int64_t c) { return sim.decode_s(b, c); });
  const double grid_s = seconds_since(t_grid);

  LlmDeviceSut sut(dev, data);
  LlmQsl qsl(data);
  const auto t_run = std::chrono::steady_clock::now();
  BenchRun run;
  run.result = run_test(sut, qsl, s, LogOptions{o.out_dir});
  const double run_s = seconds_since(t_run);
  run.wall_s = seconds_since(t0);
  run.llm = {{"dataset", data.name},
             {"batching", llm_batching_name(dev.batching)},
             {"max_batch", dev.max_batch},
             {"kv_capacity_tokens", dev.kv_capacity_tokens},
             {"kv_bytes_per_token", sim.kv_bytes_per_token},
             {"weights_bytes", sim.weights_bytes},
             {"memory_level", sim.memory_level},
             {"grid",
              {{"prefill_tokens", dev.costs.prefill_tokens()},
               {"decode_batches", dev.costs.batches()},
               {"decode_contexts", dev.costs.contexts()}}},
             {"grid_simulation_s", grid_s},
             {"scheduling_s", run_s},
             {"iterations", sut.iterations()},
             {"mean_running_batch", sut.mean_running_batch()},
             {"peak_kv_tokens", sut.peak_kv_tokens()},
             {"device_busy_s", double(sut.busy_ns()) / 1e9}};
  return run;
}

}  // namespace wafer::api
