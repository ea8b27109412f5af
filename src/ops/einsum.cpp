// Einsum: explicit ("ij,jk->ik") and implicit ("ij,jk") outputs, repeated
// labels within one operand (diagonals), and "..." broadcasting.
//
// The reference kernel assigns every distinct label a loop dimension and walks
// the full iteration space once, multiplying operand elements and adding into
// the output: obviously correct, proportional to the product of all label sizes.
#include <algorithm>
#include <string>

#include "ops/math_util.h"

namespace wafer {
namespace {

struct Term {
  std::vector<char> letters;  // labels in order; '.' marks where the ellipsis sits
  bool has_ellipsis = false;
};

Term parse_term(const std::string& s, const Node& node) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      check(!t.has_ellipsis && s.compare(i, 3, "...") == 0, node.label(), ": malformed ellipsis in einsum term '", s,
            "'");
      t.has_ellipsis = true;
      t.letters.push_back('.');
      i += 2;
    } else {
      check(std::isalpha(uint8_t(c)), node.label(), ": invalid character '", c, "' in einsum equation");
      t.letters.push_back(c);
    }
  }
  return t;
}

struct Plan {
  Dims sizes;                    // per label id (ellipsis dims first, then letters)
  std::vector<Dims> in_strides;  // per operand, per label id
  Dims out_strides;              // per label id (0 for summed labels)
  Dims out_dims;
};

constexpr int kLetters = 128;  // letter labels are indexed by their ASCII code

Plan plan_einsum(const std::string& raw_equation, const std::vector<Dims>& ins, const Node& node) {
  std::string eq;
  for (char c : raw_equation)
    if (!std::isspace(uint8_t(c))) eq += c;
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma - start), node));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  check(terms.size() == ins.size(), node.label(), ": equation has ", terms.size(), " operand(s), node has ", ins.size(),
        " input(s)");

  // Ellipsis rank: the broadcast of every operand's ellipsis dims.
  int64_t ell = 0;
  std::vector<int64_t> ell_of(terms.size(), 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t named = int64_t(terms[i].letters.size()) - (terms[i].has_ellipsis ? 1 : 0);
    int64_t rank = int64_t(ins[i].size());
    if (terms[i].has_ellipsis) {
      check(rank >= named, node.label(), ": operand ", i, " has rank ", rank, ", fewer than its ", named, " labels");
      ell_of[i] = rank - named;
    } else {
      check(rank == named, node.label(), ": operand ", i, " has rank ", rank, " but ", named, " labels");
    }
    ell = std::max(ell, ell_of[i]);
  }
  // Label ids: ellipsis dim e -> e; letter c -> ell + c.
  auto letter_id = [&](char c) { return size_t(ell + int64_t(uint8_t(c))); };
  size_t num_ids = size_t(ell) + kLetters;
  Dims size(num_ids, -1);
  std::vector<int> count(num_ids, 0);
  auto set_size = [&](size_t id, int64_t d, bool broadcastable) {
    if (size[id] < 0 || (broadcastable && size[id] == 1))
      size[id] = d;
    else
      check(size[id] == d || (broadcastable && d == 1), node.label(), ": einsum dimension mismatch (", size[id], " vs ",
            d, ")");
  };
  std::vector<std::vector<size_t>> axis_ids(terms.size());  // label id of each operand axis
  for (size_t i = 0; i < terms.size(); ++i) {
    for (char c : terms[i].letters) {
      if (c == '.') {
        for (int64_t e = 0; e < ell_of[i]; ++e) axis_ids[i].push_back(size_t(ell - ell_of[i] + e));
      } else {
        axis_ids[i].push_back(letter_id(c));
        ++count[letter_id(c)];
      }
    }
    for (size_t a = 0; a < axis_ids[i].size(); ++a) set_size(axis_ids[i][a], ins[i][a], axis_ids[i][a] < size_t(ell));
  }

  // Output labels.
  std::vector<size_t> out_ids;
  if (arrow != std::string::npos) {
    Term out = parse_term(eq.substr(arrow + 2), node);
    for (char c : out.letters) {
      if (c == '.') {
        for (int64_t e = 0; e < ell; ++e) out_ids.push_back(size_t(e));
        continue;
      }
      size_t id = letter_id(c);
      check(count[id] > 0, node.label(), ": output label '", c, "' does not appear in the inputs");
      check(std::find(out_ids.begin(), out_ids.end(), id) == out_ids.end(), node.label(), ": output label '", c,
            "' is repeated");
      out_ids.push_back(id);
    }
  } else {
    // Implicit mode: ellipsis dims, then labels used exactly once, alphabetically.
    for (int64_t e = 0; e < ell; ++e) out_ids.push_back(size_t(e));
    for (int c = 0; c < kLetters; ++c)
      if (count[letter_id(char(c))] == 1) out_ids.push_back(letter_id(char(c)));
  }

  // Loop order: output labels first (so writes stream), then summed labels.
  std::vector<size_t> order = out_ids;
  for (size_t id = 0; id < num_ids; ++id)
    if (size[id] >= 0 && std::find(order.begin(), order.end(), id) == order.end()) order.push_back(id);

  Plan p;
  for (size_t id : order) p.sizes.push_back(size[id]);
  for (size_t id : out_ids) p.out_dims.push_back(size[id]);
  Dims ostr = strides_of(p.out_dims);
  p.out_strides.assign(order.size(), 0);
  for (size_t k = 0; k < out_ids.size(); ++k) p.out_strides[k] = ostr[k];
  for (size_t i = 0; i < ins.size(); ++i) {
    Dims s = strides_of(ins[i]);
    Dims per(order.size(), 0);
    for (size_t a = 0; a < axis_ids[i].size(); ++a) {
      if (ins[i][a] == 1 && size[axis_ids[i][a]] != 1) continue;  // broadcast ellipsis dim
      size_t pos = size_t(std::find(order.begin(), order.end(), axis_ids[i][a]) - order.begin());
      per[pos] += s[a];  // a repeated label walks the diagonal
    }
    p.in_strides.push_back(per);
  }
  return p;
}

std::vector<Tensor> einsum_kernel(const KernelContext& ctx) {
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) ins.push_back(&ctx.in(i));
  check(!ins.empty(), ctx.node.label(), ": needs at least one input");
  DType dt = ins[0]->dtype();
  math::require_one_of(ctx.node, dt, math::kNumericTypes);
  for (const Tensor* t : ins)
    check(t->dtype() == dt, ctx.node.label(), ": inputs have different types ", dtype_name(dt), " and ",
          dtype_name(t->dtype()));
  std::vector<Dims> dims;
  for (const Tensor* t : ins) dims.push_back(t->dims());
  Plan p = plan_einsum(ctx.node.attr_string("equation"), dims, ctx.node);
  int64_t total = element_count(p.sizes);
  return visit_dtype(dt, [&]<typename T>() -> std::vector<Tensor> {
    if constexpr (std::is_same_v<T, bool>) {
      return {};
    } else {
      // Floats accumulate in double; integers wrap like numpy.
      using A =
          std::conditional_t<is_float_type_v<T>, double, std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;
      std::vector<A> acc(size_t(element_count(p.out_dims)), A(0));
      std::vector<const T*> src;
      for (const Tensor* t : ins) src.push_back(t->data<T>());
      std::vector<Dims> strides = p.in_strides;
      strides.push_back(p.out_strides);
      StridedWalker w(p.sizes, strides);
      size_t out_k = ins.size();
      for (int64_t it = 0; it < total; ++it, w.next()) {
        A prod = A(1);
        for (size_t k = 0; k < src.size(); ++k) prod = math::wrapping_mul(prod, A(to_compute(src[k][w.offset(k)])));
        acc[size_t(w.offset(out_k))] = math::wrapping_add(acc[size_t(w.offset(out_k))], prod);
      }
      Tensor out(dt, p.out_dims);
      T* dst = out.data<T>();
      for (size_t i = 0; i < acc.size(); ++i) {
        if constexpr (is_float_type_v<T>)
          dst[i] = T(compute_t<T>(acc[i]));
        else
          dst[i] = T(acc[i]);
      }
      return {out};
    }
  });
}

std::vector<ValueType> infer_einsum(const InferContext& ctx) {
  // The output shape follows from the plan when every input shape is known.
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (!ctx.has(i) || !ctx.in(i).shape.fully_known()) return {typed(ctx.in(0).dtype, Shape::unknown_rank())};
    dims.push_back(ctx.in(i).shape.concrete());
  }
  return {typed(ctx.in(0).dtype, Shape::from(plan_einsum(ctx.node.attr_string("equation"), dims, ctx.node).out_dims))};
}

WAFER_REGISTER_OP(einsum, {.name = "Einsum",
                           .since = 12,
                           .attrs = {{"equation", AttrType::String, true}},
                           .infer = infer_einsum,
                           .kernel = einsum_kernel});

}  // namespace
}  // namespace wafer
