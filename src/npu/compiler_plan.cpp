// The npu compiler's first jobs: what each node is (matrix layer, vector work or free) and which
// element-wise nodes run as a matrix layer's epilogue.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "npu/compiler_lowering.h"
#include "passes/pass_util.h"

namespace wafer::npu::lowering {

namespace {

bool is_graph_input(const Graph& g, const std::string& v) {
  return std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end();
}

// A decoder's KV-cache append (Plan::append_in_place): its work is the appended elements only.
void mark_cache_append(const Lowering& l, Plan& p) {
  const Node& n = *p.node;
  if (n.op_type != "Concat" || n.inputs.size() < 2 || n.outputs.size() != 1 || !is_graph_input(l.g, n.inputs[0]) ||
      !is_graph_output(l.g, n.outputs[0]))
    return;
  const int64_t past = known_numel(l.g, n.inputs[0]), present = known_numel(l.g, n.outputs[0]);
  if (past < 0 || present < past) return;
  p.append_in_place = true;
  p.work = {{"move", present - past}};
}

}  // namespace

// Classifies every node; collects all that cannot be costed and reports them together.
void classify_nodes(Lowering& l) {
  const auto& vec_cpe = l.hw.vector.cycles_per_element;
  std::vector<std::string> unsupported;
  for (const auto& np : l.g.nodes) {
    const Node& node = *np;
    Plan p;
    p.node = &node;
    try {
      p.collective = collective_op(node);
      if (!p.collective) p.gemm = gemm_view(l.g, node);
      if (!p.gemm && !p.collective) {
        auto w = vector_work(l.g, node);
        if (!w) {
          unsupported.push_back(node.label() + " (op " + node.op_type + " has no NPU cost model)");
          continue;
        }
        for (const auto& vw : *w)
          if (vw.op_class != "move" && !vec_cpe.count(vw.op_class))
            fail("npu compile: ", node.label(), ": hardware ", l.hw.name, " has no vector cost for op class '",
                 vw.op_class, "'");
        p.work = *w;
        mark_cache_append(l, p);
      }
    } catch (const UnsupportedError& e) {
      unsupported.push_back(e.what());
      continue;
    }
    l.plans.push_back(std::move(p));
  }
  if (!unsupported.empty()) {
    std::ostringstream os;
    os << "npu backend cannot cost " << unsupported.size() << " node(s):";
    for (const auto& u : unsupported) os << "\n  " << u;
    throw UnsupportedError(os.str());
  }
}

namespace {

// The nodes after matrix layer `i` that can run on its output tiles, before trimming.
std::vector<size_t> epilogue_candidates(const Lowering& l, size_t i, int64_t n_out) {
  std::vector<size_t> group;
  std::set<std::string> inside = {l.plans[i].node->outputs.at(0)};
  for (size_t j = i + 1; j < l.plans.size(); ++j) {
    const Node& n = *l.plans[j].node;
    if (l.plans[j].gemm || !is_epilogue_op(n) || known_numel(l.g, n.outputs[0]) != n_out) break;
    bool reads_group = false;
    for (const auto& in : n.inputs) reads_group |= !in.empty() && inside.count(in) > 0;
    if (!reads_group) break;
    group.push_back(j);
    inside.insert(n.outputs[0]);
  }
  return group;
}

// Trims `group` until every value but the last is read only inside the group.
void trim_to_private_values(const Lowering& l, const std::map<std::string, int>& readers, const std::string& mout,
                            std::vector<size_t>& group) {
  auto count = [](const std::map<std::string, int>& m, const std::string& v) {
    auto it = m.find(v);
    return it == m.end() ? 0 : it->second;
  };
  while (!group.empty()) {
    std::map<std::string, int> inner;
    for (size_t j : group)
      for (const auto& in : l.plans[j].node->inputs)
        if (!in.empty()) ++inner[in];
    const std::string& last = l.plans[group.back()].node->outputs[0];
    bool ok = count(readers, mout) == count(inner, mout);
    for (size_t j : group) {
      const std::string& v = l.plans[j].node->outputs[0];
      if (v != last) ok = ok && count(readers, v) == count(inner, v);
    }
    if (ok) break;
    group.pop_back();
  }
}

}  // namespace

// Epilogue fusion: the element-wise nodes right after a matrix layer that only transform its output
// (bias, activation, residual add, GELU's pieces) run on its output tiles with the vector unit before the
// store, so their intermediates never leave the core. A group ends at the first node that is not
// element-wise over the whole output or reads none of the group's values; a value of the group read
// outside it ends the group before that value's producer (only the group's last value is stored).
void group_epilogues(Lowering& l) {
  l.epilogue.assign(l.plans.size(), {});
  l.fused.assign(l.plans.size(), false);
  std::map<std::string, int> readers;
  for (const auto& np : l.g.nodes)
    for (const auto& in : np->inputs)
      if (!in.empty()) ++readers[in];
  for (const auto& o : l.g.outputs) ++readers[o];
  for (size_t i = 0; i < l.plans.size(); ++i) {
    if (!l.plans[i].gemm) continue;
    const std::string& mout = l.plans[i].node->outputs.at(0);
    const int64_t n_out = known_numel(l.g, mout);
    if (n_out <= 0) continue;
    std::vector<size_t> group = epilogue_candidates(l, i, n_out);
    trim_to_private_values(l, readers, mout, group);
    for (size_t j : group) l.fused[j] = true;
    l.epilogue[i] = std::move(group);
  }
}

}  // namespace wafer::npu::lowering
