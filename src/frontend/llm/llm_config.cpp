#include "frontend/llm/llm_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/data_path.h"
#include "core/error.h"

namespace wafer::llm {

namespace {

using nlohmann::json;

// Largest value any size field may take: far above every published model (hidden 16,384, vocab
// 256,000, context 10 M), low enough that products of a few of them stay inside int64.
constexpr int64_t kMaxDim = int64_t(1) << 24;

struct Reader {
  const json& j;
  const std::string& file;

  [[noreturn]] void bad(const std::string& field, const std::string& why) const {
    fail(file, ": field '", field, "': ", why);
  }
  bool has(const std::string& field) const { return j.contains(field) && !j.at(field).is_null(); }
  std::optional<int64_t> opt_int(const std::string& field) const {
    if (!has(field)) return std::nullopt;
    const json& v = j.at(field);
    if (!v.is_number_integer() && !(v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>()))))
      bad(field, "expected an integer, got " + v.dump());
    int64_t x = v.is_number_integer() ? v.get<int64_t>() : int64_t(v.get<double>());
    if (x < 1 || x > kMaxDim) bad(field, "must be between 1 and " + std::to_string(kMaxDim) + ", got " + v.dump());
    return x;
  }
  // The first of `names` present (configs of different families spell the same number differently).
  int64_t req_int(std::initializer_list<const char*> names) const {
    for (const char* n : names)
      if (auto v = opt_int(n)) return *v;
    std::string list;
    for (const char* n : names) list += std::string(list.empty() ? "" : " or ") + n;
    fail(file, ": field '", *names.begin(), "' is missing", names.size() > 1 ? " (looked for " + list + ")" : "");
  }
  double opt_eps(std::initializer_list<const char*> names, double fallback) const {
    for (const char* n : names) {
      if (!has(n)) continue;
      const json& v = j.at(n);
      if (!v.is_number()) bad(n, "expected a number, got " + v.dump());
      double e = v.get<double>();
      if (!(e > 0 && e < 1)) bad(n, "must be between 0 and 1, got " + v.dump());
      return e;
    }
    return fallback;
  }
  bool opt_bool(const char* n, bool fallback) const {
    if (!has(n)) return fallback;
    if (!j.at(n).is_boolean()) bad(n, "expected true or false, got " + j.at(n).dump());
    return j.at(n).get<bool>();
  }
};

void require(bool ok, const std::string& file, const std::string& what) {
  if (!ok) fail(file, ": ", what);
}

}  // namespace

LlmConfig parse_llm_config(const std::string& text, const std::string& file) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(file, ": not valid JSON: ", e.what());
  }
  if (!j.is_object()) fail(file, ": expected a JSON object (a Hugging Face config.json)");
  Reader r{j, file};
  LlmConfig c;
  c.source = file;
  if (!r.has("model_type") || !j.at("model_type").is_string()) fail(file, ": field 'model_type' is missing");
  c.model_type = j.at("model_type").get<std::string>();
  const bool gptj = c.model_type == "gptj";
  const bool llama_like = c.model_type == "llama" || c.model_type == "mistral" || c.model_type == "mixtral";
  if (!gptj && !llama_like)
    fail(file, ": field 'model_type': '", c.model_type,
         "' is not a supported architecture (llama, mistral, mixtral, gptj)");

  if (gptj) {
    // GPT-J (transformers' GPTJConfig): GPT-2 names, parallel attention + MLP, partial rotary,
    // LayerNorm with bias, GELU MLP of 4 x n_embd unless n_inner says otherwise.
    c.hidden = r.req_int({"n_embd", "hidden_size"});
    c.layers = r.req_int({"n_layer", "num_hidden_layers"});
    c.heads = r.req_int({"n_head", "num_attention_heads"});
    c.kv_heads = c.heads;
    c.intermediate = r.opt_int("n_inner").value_or(4 * c.hidden);
    c.max_positions = r.req_int({"n_positions", "max_position_embeddings"});
    c.norm = NormKind::LayerNorm;
    c.mlp = MlpKind::Gelu;
    c.parallel_residual = true;
    c.mlp_bias = true;
    c.lm_head_bias = true;
    c.norm_eps = r.opt_eps({"layer_norm_epsilon"}, 1e-5);
  } else {
    c.hidden = r.req_int({"hidden_size"});
    c.layers = r.req_int({"num_hidden_layers"});
    c.heads = r.req_int({"num_attention_heads"});
    c.kv_heads = r.opt_int("num_key_value_heads").value_or(c.heads);
    c.intermediate = r.req_int({"intermediate_size"});
    c.max_positions = r.req_int({"max_position_embeddings"});
    c.norm_eps = r.opt_eps({"rms_norm_eps"}, 1e-6);
  }
  c.vocab = r.req_int({"vocab_size"});
  c.tied_embeddings = r.opt_bool("tie_word_embeddings", false);

  require(c.hidden % c.heads == 0 || r.has("head_dim"), file,
          "num_attention_heads (" + std::to_string(c.heads) + ") must divide hidden_size (" + std::to_string(c.hidden) +
              ") when head_dim is not given");
  c.head_dim = r.opt_int("head_dim").value_or(c.hidden / c.heads);
  require(c.kv_heads <= c.heads && c.heads % c.kv_heads == 0, file,
          "num_key_value_heads (" + std::to_string(c.kv_heads) + ") must divide num_attention_heads (" +
              std::to_string(c.heads) + ")");
  c.rotary_dim = gptj ? r.opt_int("rotary_dim").value_or(c.head_dim) : c.head_dim;
  if (gptj)
    require(c.rotary_dim <= c.head_dim && c.rotary_dim % 2 == 0, file,
            "rotary_dim (" + std::to_string(c.rotary_dim) + ") must be even and at most the head dimension (" +
                std::to_string(c.head_dim) + ")");
  else
    require(c.head_dim % 2 == 0, file,
            "the head dimension (" + std::to_string(c.head_dim) + ") must be even: RoPE rotates pairs");

  const bool has_experts = r.has("num_local_experts");
  if (c.model_type == "mixtral" || has_experts) {
    c.experts = r.req_int({"num_local_experts"});
    c.experts_per_token = r.req_int({"num_experts_per_tok"});
    require(c.experts_per_token <= c.experts, file,
            "num_experts_per_tok (" + std::to_string(c.experts_per_token) + ") exceeds num_local_experts (" +
                std::to_string(c.experts) + ")");
    if (c.experts == 1) c.experts = c.experts_per_token = 0;  // one expert is a dense MLP
  }
  // Each field may be plausible alone and their product absurd; counted in floating point, a model
  // past a quadrillion parameters is a mistake, not an architecture (and would overflow the counts).
  const double q = double(c.hidden) * double(c.heads) * double(c.head_dim) * 4;
  const double ffn = 3.0 * double(c.hidden) * double(c.intermediate) * double(std::max<int64_t>(1, c.experts));
  const double params = double(c.layers) * (q + ffn) + 2.0 * double(c.vocab) * double(c.hidden);
  if (params > 1e15)
    fail(file, ": the fields make ~", params, " parameters (hidden_size ", c.hidden, ", num_hidden_layers ", c.layers,
         ", intermediate_size ", c.intermediate, ", vocab_size ", c.vocab, "): not a plausible architecture");
  return c;
}

std::vector<std::string> llm_config_search_path() {
  return data_search_path("WAFER_MODEL_PATH", "models/llm");
}

namespace {
bool is_bare_name(const std::string& s) {
  namespace fs = std::filesystem;
  return !s.empty() && s.find('/') == std::string::npos && !fs::exists(s);
}
}  // namespace

std::string find_llm_config(const std::string& name) {
  namespace fs = std::filesystem;
  if (!is_bare_name(name)) return "";
  for (const auto& dir : llm_config_search_path()) {
    fs::path p = fs::path(dir) / (name + ".json");
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

std::vector<std::string> shipped_llm_configs() {
  namespace fs = std::filesystem;
  std::set<std::string> names;
  for (const auto& dir : llm_config_search_path()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".json") names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

LlmConfig load_llm_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::string file = path;
  if (std::string shipped = find_llm_config(path); !shipped.empty()) file = shipped;
  if (fs::is_directory(file)) file = (fs::path(file) / "config.json").string();
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, ": cannot open architecture config");
  // Hugging Face configs are a few kB; anything much larger is not one.
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size > (1 << 24)) fail(file, ": ", int64_t(size), " bytes is too large for a config.json");
  in.seekg(0);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_llm_config(text.str(), file);
}

bool is_llm_config_path(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (fs::is_directory(p)) return fs::exists(p / "config.json") && !fs::exists(p / "model.onnx");
  return p.extension() == ".json" || !find_llm_config(path).empty();
}

int64_t LlmConfig::layer_parameter_count() const {
  const int64_t q = hidden * heads * head_dim, kv = 2 * hidden * kv_heads * head_dim, o = heads * head_dim * hidden;
  const int64_t norms = norm == NormKind::LayerNorm ? 2 * hidden : hidden;  // LayerNorm has a bias
  const int64_t per_norm_layer = parallel_residual ? 1 : 2;                 // GPT-J: one norm per layer
  int64_t ffn = mlp == MlpKind::SwiGlu ? 3 * hidden * intermediate
                                       : 2 * hidden * intermediate + (mlp_bias ? intermediate + hidden : 0);
  if (moe()) ffn = experts * ffn + hidden * experts;  // every expert, plus the router
  return q + kv + o + per_norm_layer * norms + ffn;
}

int64_t LlmConfig::parameter_count() const {
  const int64_t embed = vocab * hidden;
  const int64_t head = tied_embeddings ? 0 : vocab * hidden + (lm_head_bias ? vocab : 0);
  const int64_t final_norm = norm == NormKind::LayerNorm ? 2 * hidden : hidden;
  return embed + layers * layer_parameter_count() + final_norm + head;
}

int64_t LlmConfig::kv_bytes_per_token(int64_t elem_bytes) const {
  return 2 * layers * kv_heads * head_dim * elem_bytes;
}

}  // namespace wafer::llm
