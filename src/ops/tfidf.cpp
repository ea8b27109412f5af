// TfIdfVectorizer (v9) on integer tokens: counts the pool's n-grams (with up to
// max_skip_count tokens skipped between items) in each row, then scales the
// counts as TF, IDF or TFIDF. String pools are unsupported (no string tensors).
#include <map>

#include "ops/misc_util.h"
#include "ops/op_util.h"

namespace wafer {
namespace {

std::vector<Tensor> tfidf(const KernelContext& ctx) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.in(0);
  if (node.has_attr("pool_strings")) throw UnsupportedError(node.label() + ": string n-gram pools are not supported");
  require_dtype(node, x.dtype(), {DType::Int32, DType::Int64});
  check(x.rank() == 1 || x.rank() == 2, node.label(), ": input must be 1-D or 2-D, got ", dims_to_string(x.dims()));
  int64_t min_n = node.attr_int("min_gram_length"), max_n = node.attr_int("max_gram_length");
  int64_t max_skip = node.attr_int("max_skip_count");
  std::string mode = node.attr_string("mode");
  check(mode == "TF" || mode == "IDF" || mode == "TFIDF", node.label(), ": unknown mode '", mode, "'");
  check(min_n >= 1 && max_n >= min_n, node.label(), ": need 1 <= min_gram_length <= max_gram_length");
  check(max_skip >= 0, node.label(), ": max_skip_count must be >= 0");
  auto pool = node.attr_ints("pool_int64s");
  auto counts = node.attr_ints("ngram_counts");
  auto indexes = node.attr_ints("ngram_indexes");
  std::vector<float> weights = node.attr_floats("weights", std::vector<float>{});
  check(weights.empty() || weights.size() == indexes.size(), node.label(), ": weights must match ngram_indexes");
  // Pool n-grams by length -> output index.
  std::map<std::vector<int64_t>, int64_t> grams;
  size_t k = 0;
  for (size_t len = 1; len <= counts.size(); ++len) {
    int64_t start = counts[len - 1];
    int64_t end = len < counts.size() ? counts[len] : int64_t(pool.size());
    check(start >= 0 && start <= end && end <= int64_t(pool.size()) && (end - start) % int64_t(len) == 0, node.label(),
          ": ngram_counts do not split the pool into ", len, "-grams");
    for (int64_t i = start; i < end; i += int64_t(len), ++k) {
      check(k < indexes.size(), node.label(), ": fewer ngram_indexes than pool n-grams");
      grams[std::vector<int64_t>(pool.begin() + i, pool.begin() + i + int64_t(len))] = int64_t(k);
    }
  }
  check(k == indexes.size(), node.label(), ": ", indexes.size(), " ngram_indexes for ", k, " pool n-grams");
  int64_t width = 0;
  for (int64_t v : indexes) {
    check(v >= 0, node.label(), ": negative ngram index ", v);
    width = std::max(width, v + 1);
  }
  int64_t rows = x.rank() == 2 ? x.dim(0) : 1, cols = x.rank() == 2 ? x.dim(1) : x.dim(0);
  check_output_size(node, {rows, width}, DType::Float32);
  std::vector<double> count(size_t(rows * width), 0.0);
  std::vector<int64_t> gram;
  for (int64_t r = 0; r < rows; ++r) {
    // Unigrams count once; longer n-grams once per skip distance.
    for (int64_t dist = 1; dist <= max_skip + 1; ++dist) {
      int64_t first_n = dist == 1 ? min_n : std::max<int64_t>(min_n, 2);
      for (int64_t s = 0; s < cols; ++s) {
        for (int64_t n = first_n; n <= max_n; ++n) {
          if (s + (n - 1) * dist >= cols) break;
          gram.clear();
          for (int64_t j = 0; j < n; ++j) gram.push_back(x.get_int(r * cols + s + j * dist));
          auto it = grams.find(gram);
          if (it != grams.end()) count[size_t(r * width + indexes[size_t(it->second)])] += 1;
        }
      }
    }
  }
  // Weights are per pool n-gram; map them to output columns.
  std::vector<double> col_weight(size_t(width), 1.0);
  for (size_t i = 0; i < weights.size(); ++i) col_weight[size_t(indexes[i])] = weights[i];
  Tensor out(DType::Float32, x.rank() == 2 ? Dims{rows, width} : Dims{width});
  float* o = out.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      double v = count[size_t(r * width + c)], w = col_weight[size_t(c)];
      if (mode == "IDF")
        v = v > 0 ? w : 0;
      else if (mode == "TFIDF")
        v *= w;
      o[r * width + c] = float(v);
    }
  }
  return {out};
}

std::vector<ValueType> infer_tfidf(const InferContext& ctx) {
  const ValueType& x = ctx.in(0);
  int64_t width = 0;
  for (int64_t v : ctx.node.attr_ints("ngram_indexes", std::vector<int64_t>{})) width = std::max(width, v + 1);
  if (!x.shape.rank_known) return {typed(DType::Float32, Shape::unknown_rank())};
  if (x.shape.rank() == 2) return {typed(DType::Float32, Shape({x.shape.dims[0], Dim(width)}))};
  return {typed(DType::Float32, Shape({Dim(width)}))};
}

WAFER_REGISTER_OP(tfidf, {.name = "TfIdfVectorizer",
                          .since = 9,
                          .attrs = {{"max_gram_length", AttrType::Int, true},
                                    {"max_skip_count", AttrType::Int, true},
                                    {"min_gram_length", AttrType::Int, true},
                                    {"mode", AttrType::String, true},
                                    {"ngram_counts", AttrType::Ints, true},
                                    {"ngram_indexes", AttrType::Ints, true},
                                    {"pool_int64s", AttrType::Ints},
                                    {"pool_strings", AttrType::Strings},
                                    {"weights", AttrType::Floats}},
                          .infer = infer_tfidf,
                          .kernel = tfidf});

}  // namespace
}  // namespace wafer
