// wafer.generate: api::generate, the token generation with a KV cache `wafer generate` runs.
#include "api/generate.h"
#include "bindings.h"
#include "convert.h"

namespace wafer::py_api {

namespace {

// prompt=[1, 2, 3] (one sequence) or [[1, 2, 3], [4, 5, 6]] (a batch of prompts of one length).
std::vector<std::vector<int64_t>> prompts_arg(const py::handle& prompt) {
  std::vector<std::vector<int64_t>> out;
  bool nested = false;
  for (const auto& item : prompt) nested = nested || py::isinstance<py::sequence>(item);
  if (!nested) return {prompt.cast<std::vector<int64_t>>()};
  for (const auto& item : prompt) out.push_back(item.cast<std::vector<int64_t>>());
  return out;
}

py::dict generate(const py::object& model, const py::object& prompt, int max_new_tokens, int batch,
                  const std::string& backend, int threads, const std::string& precision, double temperature, int top_k,
                  double top_p, uint64_t seed, int warmup) {
  api::GenerateOptions o;
  o.model = model_path(model);
  o.prompts = prompts_arg(prompt);
  o.max_new_tokens = max_new_tokens;
  o.batch = batch;
  o.backend = backend;
  o.threads = threads;
  o.precision = precision_arg(precision);
  o.sampling = {.temperature = temperature, .top_k = top_k, .top_p = top_p, .seed = seed};
  o.warmup = warmup;
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    j = api::generate_json(o, api::generate(o));
  }
  return to_python(j);
}

}  // namespace

void bind_generate(py::module_& m) {
  const api::GenerateOptions d;
  m.def("generate", &generate, py::arg("model"), py::arg("prompt"), py::arg("max_new_tokens") = d.max_new_tokens,
        py::arg("batch") = d.batch, py::arg("backend") = d.backend, py::arg("threads") = d.threads,
        py::arg("precision") = precision_name(d.precision), py::arg("temperature") = d.sampling.temperature,
        py::arg("top_k") = d.sampling.top_k, py::arg("top_p") = d.sampling.top_p, py::arg("seed") = d.sampling.seed,
        py::arg("warmup") = d.warmup,
        "Generates tokens with a decoder exported with a KV cache (text-generation-with-past): prefill, then one "
        "token at a time, greedy unless temperature > 0. prompt: token ids, or a list of equal-length prompts. "
        "Returns the dict `wafer generate --json` prints (tokens, ttft_ms, tpot_ms, tokens_per_s, ...).");
}

}  // namespace wafer::py_api
