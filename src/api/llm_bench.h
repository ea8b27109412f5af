// `wafer bench` for LLMs on the simulated NPU: a query data set of prompt/output lengths, an LLM
// serving engine in virtual time (harness/llm_device_sut.h) whose step costs come from the LLM
// simulator (LlmStepSimulator) at a grid of points, and MLPerf's token metrics.
#pragma once

#include "api/bench.h"
#include "harness/settings.h"

namespace wafer::api {

// True when the options ask for an LLM run: a config .json model, or a data set / prompt length given.
bool is_llm_bench(const BenchOptions& o);
BenchRun run_llm_bench(const BenchOptions& o, const harness::TestSettings& settings);

}  // namespace wafer::api
