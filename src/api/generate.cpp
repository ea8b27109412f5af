#include "api/generate.h"

#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <sstream>

#include "api/decoder_interface.h"
#include "backends/backend.h"
#include "backends/cpu/isa.h"
#include "frontend/onnx/importer.h"

namespace wafer::api {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Copies positions [from, from + count) of every (batch, head) row of `present` [B, H, T, D] into positions
// [to, to + count) of `cache` [B, H, C, D]: the new keys or values only, never the whole cache.
void copy_positions(const Tensor& present, int64_t from, Tensor& cache, int64_t to, int64_t count) {
  check(present.dtype() == cache.dtype() && present.rank() == 4 && present.dim(0) == cache.dim(0) &&
            present.dim(1) == cache.dim(1) && present.dim(3) == cache.dim(3) && from + count <= present.dim(2),
        "generate: a present output has shape ", dims_to_string(present.dims()), ", expected one like the cache ",
        dims_to_string(cache.dims()));
  size_t elem = dtype_size(cache.dtype());
  int64_t rows = cache.dim(0) * cache.dim(1), d = cache.dim(3);
  size_t bytes = size_t(count * d) * elem;
  const auto* src = static_cast<const std::byte*>(present.raw());
  auto* dst = static_cast<std::byte*>(cache.raw());
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + size_t((r * cache.dim(2) + to) * d) * elem, src + size_t((r * present.dim(2) + from) * d) * elem,
                bytes);
}

// Makes each present output the keys or values of the new positions only: present.{i}.* becomes its last
// `seq` positions (seq = input_ids' dim 1), so a decode step hands back [batch, kv_heads, 1, head_dim]
// instead of a fresh copy of the whole cache, and the prefill (past 0) the prompt's positions. The Slice
// start -seq folds to a constant once the cpu backend binds the shapes.
void keep_new_positions(Graph& g, const DecoderInterface& io) {
  const std::string seq = g.unique_name("generate/seq"), neg = g.unique_name("generate/minus_seq");
  const std::string ends = g.unique_name("generate/ends"), axes = g.unique_name("generate/axes");
  Node& shape = g.add_node("Shape", {g.inputs[size_t(io.input_ids)]}, {seq});
  shape.op_version = 15;
  shape.attrs["start"].value = int64_t(1);
  shape.attrs["end"].value = int64_t(2);
  g.add_node("Neg", {seq}, {neg}).op_version = 13;
  g.initializers[ends] = Tensor::from_vector<int64_t>({1}, {std::numeric_limits<int64_t>::max()});
  g.initializers[axes] = Tensor::from_vector<int64_t>({1}, {2});
  for (int o : io.present) {
    std::string& out = g.outputs[size_t(o)];
    std::string full = g.unique_name(out + "/all_positions");
    for (auto& n : g.nodes) {  // the model's own readers (its attention) keep reading every position
      for (auto& v : n->outputs)
        if (v == out) v = full;
      for (auto& v : n->inputs)
        if (v == out) v = full;
    }
    if (auto it = g.types.find(out); it != g.types.end()) {
      g.types[full] = it->second;
      g.types.erase(it);
    }
    g.add_node("Slice", {full, neg, ends, axes}, {out}).op_version = 13;
  }
}

// Makes the logits output the last position's only, [B, 1, V]: generation samples from nothing else, so the
// LM head (a 32k-vocabulary head is a fifth of a 32-token prefill on llama_bench) runs on one row per
// sequence instead of the whole prompt, as serving engines do (vLLM computes logits for the sampled
// positions only). When the head is a MatMul its input is sliced; otherwise the logits themselves are.
void keep_last_logits(Graph& g, const DecoderInterface& io) {
  const std::string out = g.outputs[size_t(io.logits)];
  const std::string starts = g.unique_name("generate/last"), ends = g.unique_name("generate/logit_ends");
  const std::string axes = g.unique_name("generate/logit_axes");
  g.initializers[starts] = Tensor::from_vector<int64_t>({1}, {-1});
  g.initializers[ends] = Tensor::from_vector<int64_t>({1}, {std::numeric_limits<int64_t>::max()});
  g.initializers[axes] = Tensor::from_vector<int64_t>({1}, {1});
  Node* head = nullptr;
  int readers = 0;
  for (auto& n : g.nodes) {
    if (!n->outputs.empty() && n->outputs[0] == out) head = n.get();
    for (const auto& v : n->inputs) readers += v == out;
  }
  std::optional<ValueType> hidden;
  if (head && head->domain.empty() && head->op_type == "MatMul" && head->outputs.size() == 1)
    hidden = g.type_of(head->inputs[0]);
  if (hidden && hidden->shape.rank_known && hidden->shape.rank() == 3) {
    const std::string last = g.unique_name(head->inputs[0] + "/last_position");
    g.add_node("Slice", {head->inputs[0], starts, ends, axes}, {last}).op_version = 13;
    head->inputs[0] = last;
  } else {
    const std::string full = g.unique_name(out + "/all_positions");
    for (auto& n : g.nodes)
      for (auto& v : n->outputs)
        if (v == out) v = full;
    check(readers == 0, "generate: the model reads its own logits output '", out, "'");
    g.add_node("Slice", {full, starts, ends, axes}, {out}).op_version = 13;
  }
  if (auto it = g.types.find(out); it != g.types.end() && it->second.shape.rank_known && it->second.shape.rank() == 3)
    it->second.shape.dims[1] = Dim(1);
}

// Row `pos` of logits [B, S, V] for every sequence, as float32 [B, V].
Tensor logits_at(const Tensor& logits, int64_t pos) {
  Tensor l = logits.dtype() == DType::Float32 ? logits : logits.cast(DType::Float32);
  int64_t b = l.dim(0), s = l.dim(1), v = l.dim(2);
  Tensor row(DType::Float32, {b, v});
  for (int64_t i = 0; i < b; ++i)
    std::memcpy(row.data<float>() + i * v, l.data<float>() + (i * s + pos) * v, size_t(v) * sizeof(float));
  return row;
}

std::vector<std::vector<int64_t>> batch_prompts(const GenerateOptions& o, int64_t vocab) {
  check(!o.prompts.empty(), "generate: no prompt (--prompt 1,2,3)");
  check(o.batch >= 0, "--batch must be positive, got ", o.batch);
  std::vector<std::vector<int64_t>> prompts = o.prompts;
  if (o.batch > 0 && prompts.size() == 1) prompts.assign(size_t(o.batch), prompts[0]);
  check(o.batch == 0 || size_t(o.batch) == prompts.size(), "--batch ", o.batch, " but ", o.prompts.size(),
        " prompts were given");
  for (const auto& p : prompts) {
    check(!p.empty(), "--prompt: empty prompt");
    check(p.size() == prompts[0].size(), "generate: prompts of one batch must have one length (", prompts[0].size(),
          " and ", p.size(), " tokens)");
    for (int64_t t : p)
      check(t >= 0 && (vocab == 0 || t < vocab), "--prompt: token ", t, " is out of the model's vocabulary [0, ", vocab,
            ")");
  }
  return prompts;
}

}  // namespace

std::vector<int64_t> parse_token_list(const std::string& text) {
  std::vector<int64_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(used > 0 && used == item.size(), "--prompt: '", item, "' is not a token id (expected e.g. 1,2,3)");
    ids.push_back(v);
  }
  check(!ids.empty(), "--prompt: empty prompt");
  return ids;
}

struct GenerateSession::Impl {
  Model model;  // its graph keeps the interface (inputs, outputs); the executable holds the weights
  DecoderInterface io;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Executable> exe;
  std::string backend_name;
  double load_ms = 0;
};

GenerateSession::GenerateSession(const GenerateOptions& o) : impl_(std::make_unique<Impl>()) {
  check(o.threads >= 0, "--threads must not be negative");
  auto t_load = Clock::now();
  Impl& s = *impl_;
  s.model = import_onnx_file(o.model);
  const Graph& graph = *s.model.graph;
  s.io = decoder_interface(graph, o.model);
  const DecoderInterface& io = s.io;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    bool known = int(i) == io.input_ids || int(i) == io.attention_mask || int(i) == io.position_ids ||
                 std::find(io.past.begin(), io.past.end(), int(i)) != io.past.end();
    check(known, o.model, ": input '", graph.inputs[i], "' is not one of the text-generation-with-past inputs");
  }
  CompileOptions options;
  options.threads = o.threads;
  options.precision = o.precision;
  s.backend = make_backend(o.backend, &options);
  s.backend_name = s.backend->name();
  auto owned = graph.clone();
  s.model.graph->initializers.clear();  // the executable holds the only reference: one copy of the weights
  keep_new_positions(*owned, io);
  keep_last_logits(*owned, io);
  owned->topological_sort();
  owned->verify();
  s.exe = s.backend->compile_owned(std::move(owned), options);
  s.load_ms = ms_since(t_load);
}

GenerateSession::~GenerateSession() = default;

int64_t GenerateSession::vocab() const {
  return impl_->io.vocab;
}
double GenerateSession::load_ms() const {
  return impl_->load_ms;
}

GenerateResult GenerateSession::run(const GenerateOptions& o, const std::function<void()>& on_first_token) {
  check(o.max_new_tokens >= 1, "--max-new-tokens must be at least 1, got ", o.max_new_tokens);
  check(o.warmup >= 0, "--warmup must not be negative");
  check_sampling(o.sampling);
  GenerateResult r;
  const Graph& graph = *impl_->model.graph;
  const DecoderInterface& io = impl_->io;
  auto& exe = impl_->exe;
  r.backend_name = impl_->backend_name;
  r.load_ms = impl_->load_ms;
  const auto prompts = batch_prompts(o, io.vocab);
  const int64_t batch = int64_t(prompts.size()), plen = int64_t(prompts[0].size());
  const int64_t new_tokens = o.max_new_tokens, cap = plen + new_tokens - 1;
  r.cache_positions = cap;
  check(!o.profile || exe->can_profile(), "--profile: backend ", o.backend, " has no per-step profile");

  // Prefill inputs: the prompts, positions 0.., an empty past.
  std::vector<Tensor> prefill(graph.inputs.size());
  prefill[size_t(io.input_ids)] = Tensor(DType::Int64, {batch, plen});
  prefill[size_t(io.position_ids)] = Tensor(DType::Int64, {batch, plen});
  prefill[size_t(io.attention_mask)] = Tensor(DType::Int64, {batch, plen});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < plen; ++i) {
      prefill[size_t(io.input_ids)].data<int64_t>()[b * plen + i] = prompts[size_t(b)][size_t(i)];
      prefill[size_t(io.position_ids)].data<int64_t>()[b * plen + i] = i;
      prefill[size_t(io.attention_mask)].data<int64_t>()[b * plen + i] = 1;
    }
  for (int p : io.past) prefill[size_t(p)] = Tensor(io.cache_dtype, {batch, io.kv_heads, 0, io.head_dim});

  // Decode inputs, allocated once: one token per sequence, the whole cache as past, the mask over
  // cache + new token (slot `cap`: the new token's key and value, which the present outputs hand back).
  std::vector<Tensor> decode(graph.inputs.size());
  Tensor& ids = decode[size_t(io.input_ids)] = Tensor(DType::Int64, {batch, 1});
  Tensor& pos = decode[size_t(io.position_ids)] = Tensor(DType::Int64, {batch, 1});
  Tensor& mask = decode[size_t(io.attention_mask)] = Tensor(DType::Int64, {batch, cap + 1});
  std::vector<Tensor> cache;
  for (int p : io.past)
    cache.push_back(decode[size_t(p)] = Tensor(io.cache_dtype, {batch, io.kv_heads, cap, io.head_dim}));

  auto check_outputs = [&](const std::vector<Tensor>& out) {  // the last position's logits (keep_last_logits)
    const Tensor& l = out[size_t(io.logits)];
    check(l.rank() == 3 && l.dim(0) == batch && l.dim(1) == 1 && l.dim(2) > 0, o.model, ": output 'logits' has shape ",
          dims_to_string(l.dims()), ", expected [", batch, ", 1, vocab] after keeping the last position");
  };
  if (new_tokens > 1)
    for (int i = 0; i < o.warmup; ++i) {  // compiles both programs on the cpu backend; the results are dropped
      exe->run(prefill);
      exe->run(decode);
    }
  else
    for (int i = 0; i < o.warmup; ++i) exe->run(prefill);

  std::mt19937_64 rng(o.sampling.seed);
  r.tokens.assign(size_t(batch), {});
  auto choose = [&](const Tensor& rows) {
    int64_t v = rows.dim(1);
    for (int64_t b = 0; b < batch; ++b) {
      int64_t t = choose_token(rows.data<float>() + b * v, v, o.sampling, rng);
      r.tokens[size_t(b)].push_back(t);
      ids.data<int64_t>()[b] = t;
    }
    if (o.keep_logits) r.logits.push_back(rows);
  };

  // Profiling resets each program's step times: on here for the prefill, on again (reset) for the decode.
  if (o.profile) exe->set_profiling(true);
  auto t_start = Clock::now();
  {
    auto out = exe->run(prefill);
    check_outputs(out);
    for (size_t l = 0; l < cache.size(); ++l) copy_positions(out[size_t(io.present[l])], 0, cache[l], 0, plen);
    choose(logits_at(out[size_t(io.logits)], 0));  // the last position's (keep_last_logits)
  }
  r.ttft_ms = ms_since(t_start);
  if (on_first_token) on_first_token();
  if (o.profile) {
    r.prefill_profile = exe->profile();
    exe->set_profiling(true);
  }

  auto t_decode = Clock::now();
  int64_t* m = mask.data<int64_t>();
  std::fill(m, m + mask.numel(), 0);
  for (int64_t b = 0; b < batch; ++b) {
    std::fill(m + b * (cap + 1), m + b * (cap + 1) + plen, 1);
    m[b * (cap + 1) + cap] = 1;  // the token being fed
  }
  for (int64_t t = plen; t < plen + new_tokens - 1; ++t) {  // t: position of the token being fed
    for (int64_t b = 0; b < batch; ++b) {
      pos.data<int64_t>()[b] = t;
      m[b * (cap + 1) + t - 1] = 1;  // the slot the previous step wrote
    }
    auto out = exe->run(decode);
    check_outputs(out);
    for (size_t l = 0; l < cache.size(); ++l) copy_positions(out[size_t(io.present[l])], 0, cache[l], t, 1);
    choose(logits_at(out[size_t(io.logits)], 0));
  }
  double decode_ms = ms_since(t_decode);
  if (o.profile) {
    r.profile = exe->profile();
    exe->set_profiling(false);
  }
  r.total_ms = ms_since(t_start);
  if (new_tokens > 1) {
    r.tpot_ms = decode_ms / double(new_tokens - 1);
    r.decode_tokens_per_s = double(batch * (new_tokens - 1)) / (decode_ms / 1000);
  }
  r.tokens_per_s = double(batch * new_tokens) / (r.total_ms / 1000);
  return r;
}

GenerateResult generate(const GenerateOptions& o) {
  check(o.max_new_tokens >= 1, "--max-new-tokens must be at least 1, got ", o.max_new_tokens);
  check(o.threads >= 0 && o.warmup >= 0, "--threads and --warmup must not be negative");
  check_sampling(o.sampling);
  GenerateSession session(o);
  return session.run(o);
}

nlohmann::json generate_json(const GenerateOptions& o, const GenerateResult& r) {
  nlohmann::json j;
  j["model"] = o.model;
  j["backend"] = o.backend;
  j["batch"] = r.tokens.size();
  j["prompt_tokens"] = r.tokens.empty() ? 0 : o.prompts[0].size();
  j["new_tokens"] = o.max_new_tokens;
  j["cache_positions"] = r.cache_positions;
  j["tokens"] = r.tokens;
  j["load_ms"] = r.load_ms;
  j["ttft_ms"] = r.ttft_ms;
  j["tpot_ms"] = r.tpot_ms;
  j["total_ms"] = r.total_ms;
  j["tokens_per_s"] = r.tokens_per_s;
  j["decode_tokens_per_s"] = r.decode_tokens_per_s;
  j["sampling"] = {{"temperature", o.sampling.temperature},
                   {"top_k", o.sampling.top_k},
                   {"top_p", o.sampling.top_p},
                   {"seed", o.sampling.seed}};
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) j["peak_rss_kb"] = usage.ru_maxrss;  // the whole process, as run_json
  if (r.backend_name == "cpu") {
    j["cpu"] = cpu::cpu_model_name();
    j["cpu_isa"] = cpu::isa_name(cpu::cpu_isa());
  }
  return j;
}

}  // namespace wafer::api
