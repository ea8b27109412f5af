#include "frontend/llm/decoder_builder.h"

#include <onnx/defs/schema.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ir/weight_data.h"

namespace wafer::llm {

namespace {

constexpr int kOpset = 17;
constexpr int64_t kOnnxFloat = 1;  // TensorProto.FLOAT, the `to` of a Cast

// Builds the graph value by value; every value gets its (concrete) type as it is made.
class Builder {
 public:
  explicit Builder(Graph& g) : g_(g) { g_.opsets[""] = kOpset; }

  std::string input(const std::string& name, DType dtype, Dims dims) {
    g_.inputs.push_back(name);
    g_.types[name] = ValueType{dtype, Shape::from(dims)};
    return name;
  }
  std::string weight(const std::string& name, Dims dims) {
    g_.types[name] = ValueType{DType::Float32, Shape::from(dims)};
    g_.initializers[name] = shape_only_tensor(DType::Float32, std::move(dims));
    return name;
  }
  // Constants are named by a counter of their own (Graph::unique_name scans the whole graph per call).
  std::string ints(const std::vector<int64_t>& v) {
    std::string name = "const_i64_" + std::to_string(constants_++);
    g_.initializers[name] = Tensor::from_vector<int64_t>({int64_t(v.size())}, v);
    g_.types[name] = ValueType{DType::Int64, Shape::from({int64_t(v.size())})};
    return name;
  }
  std::string scalar(float v) {
    std::string name = "const_f32_" + std::to_string(constants_++);
    g_.initializers[name] = Tensor::scalar<float>(v);
    g_.types[name] = ValueType{DType::Float32, Shape::from({})};
    return name;
  }
  // One node with one output of the given type; returns the output's name (NAME_output_0, as exports
  // name them; node names are unique, and verify() at the end checks it).
  std::string op(const std::string& type, const std::string& name, std::vector<std::string> inputs, Dims out,
                 std::map<std::string, Attribute> attrs = {}, DType dtype = DType::Float32) {
    std::string y = name + "_output_0";
    Node& n = g_.add_node(type, std::move(inputs), {y}, name);
    n.op_version = since(type);
    n.attrs = std::move(attrs);
    g_.types[y] = ValueType{dtype, Shape::from(out)};
    return y;
  }
  // A collective (ops/collective_ops.cpp): wafer.AllReduce / AllGather / AllToAll over `group` chips, or a
  // pipeline stage's wafer.Send (group 0: no attribute).
  std::string collective(const std::string& type, const std::string& name, const std::string& x, Dims out,
                         int64_t group) {
    std::string y = name + "_output_0";
    Node& n = g_.add_node(type, {x}, {y}, name);
    n.domain = "wafer", n.op_version = 1;
    if (group > 0) n.attrs = {{"group", Attribute{group}}};
    if (type == "AllGather") n.attrs["axis"] = Attribute{int64_t(-1)};
    g_.opsets["wafer"] = 1;
    g_.types[y] = ValueType{DType::Float32, Shape::from(out)};
    return y;
  }
  // TopK: values (returned) and indices.
  std::string topk(const std::string& name, const std::string& x, const std::string& k, Dims out) {
    std::string values = op("TopK", name, {x, k}, out, {{"axis", Attribute{int64_t(-1)}}});
    std::string indices = name + "_output_1";
    g_.nodes.back()->outputs.push_back(indices);
    g_.types[indices] = ValueType{DType::Int64, Shape::from(out)};
    return values;
  }
  // The nodes that make a value with a fixed name (graph outputs).
  void rename_output(const std::string& from, const std::string& to) {
    for (auto& n : g_.nodes)
      for (auto& o : n->outputs)
        if (o == from) o = to;
    g_.types[to] = g_.types.at(from);
    g_.types.erase(from);
    g_.outputs.push_back(to);
  }

 private:
  static int since(const std::string& op) {
    // The schema registry of the ONNX library says which version of an op is in force at opset 17,
    // as the importer asks it for a loaded model.
    const auto* schema = onnx::OpSchemaRegistry::Schema(op, kOpset, "");
    check(schema != nullptr, "decoder builder: no ONNX schema for ", op, " at opset ", kOpset);
    return schema->SinceVersion();
  }
  Graph& g_;
  int64_t constants_ = 0;
};

Attribute ints_attr(std::vector<int64_t> v) {
  return Attribute{std::move(v)};
}
Attribute int_attr(int64_t v) {
  return Attribute{v};
}
Attribute float_attr(float v) {
  return Attribute{v};
}

struct Dec {
  const LlmConfig& c;
  const DecoderShape& s;
  Builder& b;
  int64_t B, S, T, H;  // batch, new tokens, context after this call, hidden

  Dims act(int64_t width) const { return {B, S, width}; }

  // A row-parallel GEMM's partial sums (o_proj, down_proj, the vocabulary-split embedding's rows) summed
  // over the tensor-parallel group, where Megatron-LM puts its all-reduce (DecoderShape::tp).
  std::string all_reduce(const std::string& x, const std::string& name, Dims dims) {
    return s.tp > 1 ? b.collective("AllReduce", name, x, std::move(dims), s.tp) : x;
  }

  std::string norm(const std::string& x, const std::string& prefix, Dims dims) {
    const int64_t width = dims.back();
    if (c.norm == NormKind::LayerNorm) {
      std::string w = b.weight(prefix + ".weight", {width}), bias = b.weight(prefix + ".bias", {width});
      return b.op("LayerNormalization", "/" + prefix + "/LayerNorm", {x, w, bias}, dims,
                  {{"axis", int_attr(-1)}, {"epsilon", float_attr(float(c.norm_eps))}});
    }
    // RMSNorm as transformers' LlamaRMSNorm exports: x * rsqrt(mean(x^2) + eps) * weight.
    Dims reduced = dims;
    reduced.back() = 1;
    const std::string p = "/" + prefix;
    std::string sq = b.op("Pow", p + "/Pow", {x, b.scalar(2.0f)}, dims);
    std::string mean =
        b.op("ReduceMean", p + "/ReduceMean", {sq}, reduced, {{"axes", ints_attr({-1})}, {"keepdims", int_attr(1)}});
    std::string var = b.op("Add", p + "/Add", {mean, b.scalar(float(c.norm_eps))}, reduced);
    std::string rt = b.op("Sqrt", p + "/Sqrt", {var}, reduced);
    std::string inv = b.op("Reciprocal", p + "/Reciprocal", {rt}, reduced);
    std::string xn = b.op("Mul", p + "/Mul", {x, inv}, dims);
    return b.op("Mul", p + "/Mul_1", {b.weight(prefix + ".weight", {width}), xn}, dims);
  }

  std::string linear(const std::string& x, const std::string& prefix, Dims in_dims, int64_t out, bool bias) {
    Dims od = in_dims;
    od.back() = out;
    std::string y =
        b.op("MatMul", "/" + prefix + "/MatMul", {x, b.weight(prefix + ".weight", {in_dims.back(), out})}, od);
    if (bias) y = b.op("Add", "/" + prefix + "/Add", {y, b.weight(prefix + ".bias", {out})}, od);
    return y;
  }

  // RoPE on [B, heads, S, head_dim]: the first rotary_dim dims of each head rotate (rotate_half form).
  std::string rope(const std::string& x, int64_t heads, const std::string& p, const std::string& cos,
                   const std::string& sin) {
    const int64_t hd = c.head_dim, rd = c.rotary_dim;
    Dims full = {B, heads, S, hd}, rot = {B, heads, S, rd}, half = {B, heads, S, rd / 2};
    auto slice = [&](const std::string& v, int64_t from, int64_t to, Dims out, const std::string& n) {
      return b.op("Slice", p + n, {v, b.ints({from}), b.ints({to}), b.ints({3})}, out);
    };
    std::string xr = rd == hd ? x : slice(x, 0, rd, rot, "/Slice_rot");
    std::string x1 = slice(xr, 0, rd / 2, half, "/Slice"), x2 = slice(xr, rd / 2, rd, half, "/Slice_1");
    std::string neg = b.op("Neg", p + "/Neg", {x2}, half);
    std::string rotated = b.op("Concat", p + "/Concat", {neg, x1}, rot, {{"axis", int_attr(-1)}});
    std::string a = b.op("Mul", p + "/Mul", {xr, cos}, rot), bb = b.op("Mul", p + "/Mul_1", {rotated, sin}, rot);
    std::string y = b.op("Add", p + "/Add", {a, bb}, rot);
    if (rd == hd) return y;
    std::string pass = slice(x, rd, hd, {B, heads, S, hd - rd}, "/Slice_pass");
    return b.op("Concat", p + "/Concat_pass", {y, pass}, full, {{"axis", int_attr(-1)}});
  }

  // Self-attention of layer i on the normed input h; appends to the cache and names present.i.*.
  std::string attention(const std::string& h, int64_t i, const std::string& cos, const std::string& sin,
                        const std::string& mask) {
    const std::string pre = "model.layers." + std::to_string(i) + ".self_attn";
    const int64_t nh = c.heads, kvh = c.kv_heads, hd = c.head_dim, rep = nh / kvh;
    const std::string p = "/" + pre;
    auto heads_first = [&](const std::string& y, int64_t n, const std::string& tag) {
      std::string r = b.op("Reshape", p + "/Reshape_" + tag, {y, b.ints({B, S, n, hd})}, {B, S, n, hd});
      return b.op("Transpose", p + "/Transpose_" + tag, {r}, {B, n, S, hd}, {{"perm", ints_attr({0, 2, 1, 3})}});
    };
    std::string q = heads_first(linear(h, pre + ".q_proj", act(H), nh * hd, false), nh, "q");
    std::string k = heads_first(linear(h, pre + ".k_proj", act(H), kvh * hd, false), kvh, "k");
    std::string v = heads_first(linear(h, pre + ".v_proj", act(H), kvh * hd, false), kvh, "v");
    q = rope(q, nh, p + "/rotary_q", cos, sin);
    k = rope(k, kvh, p + "/rotary_k", cos, sin);
    // KV append: the past cache and this call's keys/values, as the export's Concat on the sequence axis.
    const std::string si = std::to_string(i);
    std::string pk = b.input("past_key_values." + si + ".key", DType::Float32, {B, kvh, s.past, hd});
    std::string pv = b.input("past_key_values." + si + ".value", DType::Float32, {B, kvh, s.past, hd});
    std::string ck = b.op("Concat", p + "/Concat_k", {pk, k}, {B, kvh, T, hd}, {{"axis", int_attr(2)}});
    std::string cv = b.op("Concat", p + "/Concat_v", {pv, v}, {B, kvh, T, hd}, {{"axis", int_attr(2)}});
    b.rename_output(ck, "present." + si + ".key");
    b.rename_output(cv, "present." + si + ".value");
    ck = "present." + si + ".key";
    cv = "present." + si + ".value";
    // Grouped-query attention as production kernels compute it: the rep query heads that share a KV
    // head are one group of rep x S rows, so K and V are read once per KV head, never copied
    // (eager PyTorch's repeat_kv materialises rep copies). Scores are taken as K x Q^T [T, rep*S]:
    // the cache is read in its stored layout and only the small query is transposed.
    const int64_t rows = rep * S;
    std::string qg = b.op("Reshape", p + "/Reshape_group", {q, b.ints({B, kvh, rows, hd})}, {B, kvh, rows, hd});
    std::string qt =
        b.op("Transpose", p + "/Transpose_qt", {qg}, {B, kvh, hd, rows}, {{"perm", ints_attr({0, 1, 3, 2})}});
    std::string st = b.op("MatMul", p + "/MatMul_scores", {ck, qt}, {B, kvh, T, rows});
    st = b.op("Mul", p + "/Mul_scale", {st, b.scalar(float(1.0 / std::sqrt(double(hd))))}, {B, kvh, T, rows});
    st = b.op("Add", p + "/Add_mask", {st, mask}, {B, kvh, T, rows});
    st = b.op("Softmax", p + "/Softmax", {st}, {B, kvh, T, rows}, {{"axis", int_attr(2)}});
    std::string probs =
        b.op("Transpose", p + "/Transpose_probs", {st}, {B, kvh, rows, T}, {{"perm", ints_attr({0, 1, 3, 2})}});
    std::string o = b.op("MatMul", p + "/MatMul_values", {probs, cv}, {B, kvh, rows, hd});
    o = b.op("Reshape", p + "/Reshape_heads", {o, b.ints({B, nh, S, hd})}, {B, nh, S, hd});
    o = b.op("Transpose", p + "/Transpose_out", {o}, {B, S, nh, hd}, {{"perm", ints_attr({0, 2, 1, 3})}});
    o = b.op("Reshape", p + "/Reshape_out", {o, b.ints({B, S, nh * hd})}, act(nh * hd));
    return linear(o, pre + ".o_proj", act(nh * hd), H, false);
  }

  // A SwiGLU or GELU MLP on [rows..., H] (the last dim is H).
  std::string mlp(const std::string& h, const std::string& pre, Dims dims) {
    const int64_t I = c.intermediate;
    Dims inner = dims;
    inner.back() = I;
    const std::string p = "/" + pre;
    if (c.mlp == MlpKind::SwiGlu) {
      std::string g = linear(h, pre + ".gate_proj", dims, I, false);
      std::string u = linear(h, pre + ".up_proj", dims, I, false);
      std::string sig = b.op("Sigmoid", p + "/act_fn/Sigmoid", {g}, inner);
      std::string silu = b.op("Mul", p + "/act_fn/Mul", {g, sig}, inner);
      std::string gu = b.op("Mul", p + "/Mul", {silu, u}, inner);
      return linear(gu, pre + ".down_proj", inner, H, false);
    }
    // GPT-J's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as exported.
    std::string x = linear(h, pre + ".fc_in", dims, I, c.mlp_bias);
    std::string cube = b.op("Pow", p + "/act/Pow", {x, b.scalar(3.0f)}, inner);
    std::string t = b.op("Mul", p + "/act/Mul", {cube, b.scalar(0.044715f)}, inner);
    t = b.op("Add", p + "/act/Add", {x, t}, inner);
    t = b.op("Mul", p + "/act/Mul_1", {t, b.scalar(0.7978845608f)}, inner);
    t = b.op("Tanh", p + "/act/Tanh", {t}, inner);
    t = b.op("Add", p + "/act/Add_1", {t, b.scalar(1.0f)}, inner);
    t = b.op("Mul", p + "/act/Mul_2", {x, t}, inner);
    t = b.op("Mul", p + "/act/Mul_3", {t, b.scalar(0.5f)}, inner);
    return linear(t, pre + ".fc_out", inner, H, c.mlp_bias);
  }

  // Mixtral's sparse MoE block: router, top-k, the active experts' MLPs, the weighted combine.
  std::string moe(const std::string& h, const std::string& pre) {
    const int64_t tokens = B * S, E = c.experts, k = c.experts_per_token;
    const std::string p = "/" + pre;
    std::string flat = b.op("Reshape", p + "/Reshape_tokens", {h, b.ints({tokens, H})}, {tokens, H});
    std::string logits = linear(flat, pre + ".gate", {tokens, H}, E, false);
    std::string probs = b.op("Softmax", p + "/Softmax", {logits}, {tokens, E}, {{"axis", int_attr(-1)}});
    // The top-k weights (used in the combine) and the expert indices (the dispatch, taken as balanced).
    std::string topk_out = b.topk(p + "/TopK", probs, b.ints({k}), {tokens, k});
    // Balanced routing (see decoder_builder.h): each active expert takes `rows` of the tokens x k slots.
    const int64_t active = std::min(E, tokens * k);
    const int64_t rows = (tokens * k + active - 1) / active;
    // Expert parallelism (DecoderShape::ep): the chip's tokens x k slots go to the chips of their experts and
    // the slots of its own experts come back, by a wafer.AllToAll of tokens x k rows (the slots as the tokens
    // repeated k times; the routing is balanced, so as many rows arrive as leave); the combine returns them.
    std::string received;
    if (s.ep > 1) {
      std::string slots = k == 1 ? flat
                                 : b.op("Concat", p + "/dispatch_slots", std::vector<std::string>(size_t(k), flat),
                                        {tokens * k, H}, {{"axis", int_attr(0)}});
      received = b.collective("AllToAll", p + "/dispatch/AllToAll", slots, {tokens * k, H}, s.ep);
    }
    std::vector<std::string> outs;
    for (int64_t e = 0; e < active; ++e) {
      const std::string ep = pre + ".experts." + std::to_string(e);
      // Dispatch: the expert's rows gathered from the tokens (a Slice moves as many bytes as the Gather would).
      // An expert-parallel chip's share (fewer experts than top-k, api/llm_parallel.h) takes more rows than
      // its own tokens, the others' arriving by all-to-all: the tokens repeated stand for them.
      std::string src = received.empty() ? flat : received;
      if (received.empty() && rows > tokens) {
        const int64_t copies = (rows + tokens - 1) / tokens;
        src = b.op("Concat", "/" + ep + "/dispatch_rows", std::vector<std::string>(size_t(copies), flat),
                   {copies * tokens, H}, {{"axis", int_attr(0)}});
      }
      std::string xe =
          b.op("Slice", "/" + ep + "/dispatch", {src, b.ints({0}), b.ints({rows}), b.ints({0})}, {rows, H});
      outs.push_back(mlp(xe, ep, {rows, H}));
    }
    std::string all = outs.size() == 1
                          ? outs[0]
                          : b.op("Concat", p + "/Concat_experts", outs, {active * rows, H}, {{"axis", int_attr(0)}});
    std::string slots =
        b.op("Slice", p + "/combine_slots", {all, b.ints({0}), b.ints({tokens * k}), b.ints({0})}, {tokens * k, H});
    if (s.ep > 1) slots = b.collective("AllToAll", p + "/combine/AllToAll", slots, {tokens * k, H}, s.ep);
    slots = b.op("Reshape", p + "/Reshape_slots", {slots, b.ints({tokens, k, H})}, {tokens, k, H});
    std::string w = b.op("Unsqueeze", p + "/Unsqueeze_weights", {topk_out, b.ints({-1})}, {tokens, k, 1});
    std::string weighted = b.op("Mul", p + "/Mul_weights", {slots, w}, {tokens, k, H});
    std::string sum =
        b.op("ReduceSum", p + "/ReduceSum", {weighted, b.ints({1})}, {tokens, H}, {{"keepdims", int_attr(0)}});
    return b.op("Reshape", p + "/Reshape_out", {sum, b.ints({B, S, H})}, act(H));
  }
};

}  // namespace

const char* const kHidden = "hidden_states";
const char* const kHiddenOut = "hidden_states_out";
const char* const kCos = "rotary_cos";
const char* const kSin = "rotary_sin";
const char* const kMask = "attention_bias";

Model build_decoder(const LlmConfig& c, const DecoderShape& s) {
  check(s.batch >= 1 && s.seq >= 1 && s.past >= 0, c.source, ": decoder shape needs batch >= 1, seq >= 1, past >= 0");
  check(s.past + s.seq <= c.max_positions, c.source, ": context of ", s.past + s.seq,
        " tokens exceeds max_position_embeddings (", c.max_positions, ")");
  Model model;
  model.path = c.source;
  model.producer = "wafer llm builder";
  model.graph = std::make_unique<Graph>();
  Graph& g = *model.graph;
  g.name = c.model_type;
  Builder b(g);
  Dec d{c, s, b, s.batch, s.seq, s.past + s.seq, c.hidden};
  const int64_t B = d.B, S = d.S, T = d.T, H = d.H;

  const DecoderPart part = s.part;
  if (part == DecoderPart::send) {
    // A pipeline stage's boundary: its hidden states sent to the next stage's chip.
    std::string y = b.collective("Send", "/pipeline/Send", b.input(kHidden, DType::Float32, {B, S, H}), {B, S, H}, 0);
    b.rename_output(y, kHiddenOut);
    g.verify();
    return model;
  }
  const bool whole = part == DecoderPart::whole;
  const int64_t rd = c.rotary_dim;
  std::string x, cos, sin, mask;
  if (whole || part == DecoderPart::embedding) {
    std::string ids = b.input("input_ids", DType::Int64, {B, S});
    std::string amask = b.input("attention_mask", DType::Int64, {B, T});
    std::string pos = b.input("position_ids", DType::Int64, {B, S});

    // Padding mask, additive, once for all layers: (1 - mask) x -1e4 as [B, 1, T, 1] (keys on axis 2).
    std::string mf = b.op("Cast", "/model/mask/Cast", {amask}, {B, T}, {{"to", int_attr(kOnnxFloat)}});
    std::string inv = b.op("Sub", "/model/mask/Sub", {b.scalar(1.0f), mf}, {B, T});
    std::string add = b.op("Mul", "/model/mask/Mul", {inv, b.scalar(-1e4f)}, {B, T});
    mask = b.op("Reshape", "/model/mask/Reshape", {add, b.ints({B, 1, T, 1})}, {B, 1, T, 1});

    // Rotary angles from position_ids, once for all layers (transformers' rotary embedding):
    // freqs = position x inv_freq, emb = [freqs, freqs], then cos and sin as [B, 1, S, rotary_dim].
    std::string pf = b.op("Cast", "/model/rotary/Cast", {pos}, {B, S}, {{"to", int_attr(kOnnxFloat)}});
    pf = b.op("Unsqueeze", "/model/rotary/Unsqueeze", {pf, b.ints({-1})}, {B, S, 1});
    std::string freqs =
        b.op("Mul", "/model/rotary/Mul", {pf, b.weight("model.rotary_emb.inv_freq", {rd / 2})}, {B, S, rd / 2});
    std::string emb = b.op("Concat", "/model/rotary/Concat", {freqs, freqs}, {B, S, rd}, {{"axis", int_attr(-1)}});
    cos = b.op("Cos", "/model/rotary/Cos", {emb}, {B, S, rd});
    sin = b.op("Sin", "/model/rotary/Sin", {emb}, {B, S, rd});
    cos = b.op("Unsqueeze", "/model/rotary/Unsqueeze_cos", {cos, b.ints({1})}, {B, 1, S, rd});
    sin = b.op("Unsqueeze", "/model/rotary/Unsqueeze_sin", {sin, b.ints({1})}, {B, 1, S, rd});

    x = b.op("Gather", "/model/embed_tokens/Gather", {b.weight("model.embed_tokens.weight", {c.vocab, H}), ids},
             {B, S, H});
    x = d.all_reduce(x, "/model/embed_tokens/AllReduce", {B, S, H});
    if (part == DecoderPart::embedding) {
      for (const auto& [from, to] : {std::pair{x, kHidden}, {cos, kCos}, {sin, kSin}, {mask, kMask}})
        b.rename_output(from, to);
    }
  } else {
    x = b.input(kHidden, DType::Float32, {B, S, H});
  }
  if (part == DecoderPart::layer) {
    cos = b.input(kCos, DType::Float32, {B, 1, S, rd});
    sin = b.input(kSin, DType::Float32, {B, 1, S, rd});
    mask = b.input(kMask, DType::Float32, {B, 1, T, 1});
  }

  if (whole || part == DecoderPart::layer) {
    const int64_t first = whole ? 0 : s.layer_index;
    const int64_t count = whole ? (s.layers < 0 ? c.layers : std::min(s.layers, c.layers)) : 1;
    check(first >= 0 && first < c.layers, c.source, ": layer ", first, " out of range (", c.layers, " layers)");
    for (int64_t i = first; i < first + count; ++i) {
      const std::string pre = "model.layers." + std::to_string(i);
      if (c.parallel_residual) {
        // GPT-J: one LayerNorm feeds attention and MLP side by side; both add to the residual.
        std::string h = d.norm(x, pre + ".ln_1", d.act(H));
        std::string a = d.all_reduce(d.attention(h, i, cos, sin, mask), "/" + pre + "/attn/AllReduce", d.act(H));
        std::string m = d.all_reduce(d.mlp(h, pre + ".mlp", d.act(H)), "/" + pre + "/mlp/AllReduce", d.act(H));
        std::string am = b.op("Add", "/" + pre + "/Add", {a, m}, d.act(H));
        x = b.op("Add", "/" + pre + "/Add_1", {am, x}, d.act(H));
      } else {
        std::string h = d.norm(x, pre + ".input_layernorm", d.act(H));
        std::string a = d.all_reduce(d.attention(h, i, cos, sin, mask), "/" + pre + "/self_attn/AllReduce", d.act(H));
        x = b.op("Add", "/" + pre + "/Add", {x, a}, d.act(H));
        h = d.norm(x, pre + ".post_attention_layernorm", d.act(H));
        std::string m = c.moe() ? d.moe(h, pre + ".block_sparse_moe") : d.mlp(h, pre + ".mlp", d.act(H));
        m = d.all_reduce(m, "/" + pre + "/mlp/AllReduce", d.act(H));
        x = b.op("Add", "/" + pre + "/Add_1", {x, m}, d.act(H));
      }
    }
    if (part == DecoderPart::layer) {
      b.rename_output(x, kHiddenOut);
      std::rotate(g.outputs.begin(), g.outputs.end() - 1, g.outputs.end());  // hidden state first
    }
  }

  if (whole || part == DecoderPart::head) {
    x = d.norm(x, "model.norm", d.act(H));
    int64_t out_seq = S;
    if (s.last_logits_only && S > 1) {
      x = b.op("Slice", "/model/last_position", {x, b.ints({S - 1}), b.ints({S}), b.ints({1})}, {B, 1, H});
      out_seq = 1;
    }
    std::string logits;
    if (c.tied_embeddings) {
      // The embedding [vocab, hidden] read in place as Gemm's transposed B (no copy of the weight).
      const std::string head = "model.embed_tokens.weight";
      if (!g.is_initializer(head)) b.weight(head, {c.vocab, H});
      std::string x2 = b.op("Reshape", "/lm_head/Reshape", {x, b.ints({B * out_seq, H})}, {B * out_seq, H});
      std::string y = b.op("Gemm", "/lm_head/Gemm", {x2, head}, {B * out_seq, c.vocab}, {{"transB", int_attr(1)}});
      logits = b.op("Reshape", "/lm_head/Reshape_1", {y, b.ints({B, out_seq, c.vocab})}, {B, out_seq, c.vocab});
    } else {
      logits = d.linear(x, "lm_head", {B, out_seq, H}, c.vocab, c.lm_head_bias);
    }
    if (s.tp > 1)  // the vocabulary-split logits gathered: every chip samples from the whole vocabulary
      logits = b.collective("AllGather", "/lm_head/AllGather", logits, {B, out_seq, c.vocab * s.tp}, s.tp);
    b.rename_output(logits, "logits");
    // present.* were appended per layer; logits first, as exports order them.
    std::rotate(g.outputs.begin(), g.outputs.end() - 1, g.outputs.end());
  }
  g.verify();
  return model;
}

}  // namespace wafer::llm
