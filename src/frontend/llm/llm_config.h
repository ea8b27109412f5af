// The architecture of a decoder-only language model as a Hugging Face config.json describes it:
// the numbers that fix every weight's and activation's shape, and nothing about the weights'
// values. Read by build_decoder (decoder_builder.h) to make the decoder IR with shapes only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wafer::llm {

enum class NormKind { RmsNorm, LayerNorm };
enum class MlpKind { SwiGlu, Gelu };  // Llama-style gate/up/down; GPT-J's fc_in, GELU, fc_out

struct LlmConfig {
  std::string source;      // file (or name) it was read from, for messages
  std::string model_type;  // "llama", "mistral", "mixtral", "gptj"
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate = 0;
  int64_t vocab = 0;
  int64_t max_positions = 0;
  int64_t rotary_dim = 0;  // dims of each head that RoPE rotates (head_dim unless GPT-J's rotary_dim)
  double norm_eps = 1e-5;
  NormKind norm = NormKind::RmsNorm;
  MlpKind mlp = MlpKind::SwiGlu;
  bool parallel_residual = false;  // GPT-J: x + attn(ln(x)) + mlp(ln(x)), one norm per layer
  bool mlp_bias = false;           // GPT-J's fc_in / fc_out carry biases
  bool lm_head_bias = false;       // GPT-J
  bool tied_embeddings = false;    // lm_head shares the embedding matrix
  int64_t experts = 0;             // mixture-of-experts: experts per layer (0 = dense MLP)
  int64_t experts_per_token = 0;   // top-k

  bool moe() const { return experts > 0; }
  // Parameters of the whole model, counted from the shapes build_decoder declares (all experts).
  int64_t parameter_count() const;
  // Parameters of one decoder layer (all experts).
  int64_t layer_parameter_count() const;
  // Bytes of K and V cached per token of context, per sequence: 2 x layers x kv_heads x head_dim x bytes.
  int64_t kv_bytes_per_token(int64_t elem_bytes) const;
};

// Reads a config.json, or a shipped config by name (`llama-3.1-8b`: NAME.json in llm_config_search_path());
// every missing, mistyped or absurd field is an Error naming the file and field.
LlmConfig load_llm_config(const std::string& path);
LlmConfig parse_llm_config(const std::string& json_text, const std::string& name_for_errors);

// Whether a path names an architecture config rather than a model file: a .json file, a folder
// with config.json and no model.onnx, or the name of a shipped config.
bool is_llm_config_path(const std::string& path);

// Folders that hold shipped configs (models/llm/): WAFER_MODEL_PATH, then PREFIX/share/wafer/models/llm
// beside an installed binary, then the source tree's models/llm (core/data_path.h).
std::vector<std::string> llm_config_search_path();
// The file of a shipped config named `name` (no folder), or "" when there is none.
std::string find_llm_config(const std::string& name);
// Names of the shipped configs in llm_config_search_path(), sorted.
std::vector<std::string> shipped_llm_configs();

}  // namespace wafer::llm
