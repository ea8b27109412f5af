#include "npu/contention.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "core/error.h"

namespace wafer::npu {

namespace {

// The physical links as directed channels. Switch and wafer fabric: each chip's port up (2 chip) and
// down (2 chip + 1). Ring and torus: the links leaving a chip along dimension d in the + (0) or - (1)
// direction, (chip x dims + d) x 2 + direction; every such channel has the same capacity, so loads
// compare directly.
struct LinkNet {
  bool switched = false;
  std::vector<int> dims;  // ring: {count}

  int count() const {
    int n = 1;
    for (int k : dims) n *= k;
    return n;
  }
  size_t channels() const { return size_t(count()) * (switched ? 2 : 2 * dims.size()); }
  std::vector<int> coords(int chip) const {
    std::vector<int> c(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) c[d] = chip % dims[d], chip /= dims[d];
    return c;
  }
  int index(const std::vector<int>& c) const {
    int chip = 0;
    for (size_t d = dims.size(); d-- > 0;) chip = chip * dims[d] + c[d];
    return chip;
  }
  size_t channel(const std::vector<int>& c, size_t d, int dir) const {
    return (size_t(index(c)) * dims.size() + d) * 2 + size_t(dir);
  }

  // Adds weight w to every channel of the route from src to dst.
  void route(int src, int dst, double w, std::vector<double>& load) const {
    if (switched) {
      load[2 * size_t(src)] += w, load[2 * size_t(dst) + 1] += w;
      return;
    }
    std::vector<int> cur = coords(src);
    const std::vector<int> to = coords(dst);
    for (size_t d = 0; d < dims.size(); ++d) {  // dimension order
      const int k = dims[d], forward = ((to[d] - cur[d]) % k + k) % k;
      if (forward == 0) continue;
      auto walk = [&](int dir, int hops, double weight) {
        std::vector<int> c = cur;
        for (int h = 0; h < hops; ++h) {
          load[channel(c, d, dir)] += weight;
          c[d] = (c[d] + (dir == 0 ? 1 : k - 1)) % k;
        }
      };
      const int backward = k - forward;
      if (forward < backward)
        walk(0, forward, w);
      else if (backward < forward)
        walk(1, backward, w);
      else
        walk(0, forward, w / 2), walk(1, backward, w / 2);
      cur[d] = to[d];
    }
  }
};

LinkNet network_of(const SystemDesc& s) {
  LinkNet n;
  n.switched = s.topology == Topology::Switch || s.topology == Topology::WaferFabric;
  n.dims = n.switched ? std::vector<int>{s.count} : s.dims;
  return n;
}

std::string group_text(const std::vector<int>& g) {
  std::string t = "{";
  for (size_t i = 0; i < g.size() && i < 8; ++i) t += (i ? ", " : "") + std::to_string(g[i]);
  return t + (g.size() > 8 ? ", ...}" : "}");
}

// The coordinates a group takes in each dimension (sorted); on a ring or torus the group must be
// their product (a block), so that its collective is a ring per dimension, as on a torus of its own.
std::vector<std::vector<int>> block_of(const LinkNet& net, const std::vector<int>& group, const std::string& system) {
  std::vector<std::set<int>> sets(net.dims.size());
  for (int chip : group) {
    const std::vector<int> c = net.coords(chip);
    for (size_t d = 0; d < c.size(); ++d) sets[d].insert(c[d]);
  }
  std::vector<std::vector<int>> block;
  size_t product = 1;
  for (const auto& s : sets) block.emplace_back(s.begin(), s.end()), product *= s.size();
  check(product == group.size(), system, ": the group ", group_text(group),
        " is not a block of the torus (a set of coordinates per dimension and every chip of their product)");
  return block;
}

// The flows of one group's collective, added to `load`. All-to-all and the switch algorithms other
// than the ring: every ordered pair, weight 1. The ring algorithm: each chip to its successor and its
// predecessor in the group's logical ring of every dimension it spans (the two counter-rotating rings),
// weighted by the bytes the formula sends over that dimension.
void add_flows(const LinkNet& net, Collective c, CollectiveAlgorithm a, const std::vector<int>& group,
               const std::string& system, std::vector<double>& load) {
  if (c == Collective::AllToAll || (net.switched && a != CollectiveAlgorithm::Ring)) {
    for (int i : group)
      for (int j : group)
        if (i != j) net.route(i, j, 1.0, load);
    return;
  }
  if (net.switched) {
    const size_t p = group.size();
    for (size_t i = 0; i < p; ++i) {
      net.route(group[i], group[(i + 1) % p], 1.0, load);
      net.route(group[i], group[(i + p - 1) % p], 1.0, load);
    }
    return;
  }
  const std::vector<std::vector<int>> block = block_of(net, group, system);
  std::vector<int> spanned;
  for (const auto& b : block)
    if (b.size() > 1) spanned.push_back(int(b.size()));
  const std::vector<double> traffic = torus_dim_traffic(spanned, 1.0);
  size_t j = 0;
  for (size_t d = 0; d < block.size(); ++d) {
    if (block[d].size() < 2) continue;
    const std::vector<int>& line = block[d];
    const double w = traffic[j++];
    for (int chip : group) {
      std::vector<int> at = net.coords(chip);
      const size_t i = size_t(std::lower_bound(line.begin(), line.end(), at[d]) - line.begin());
      at[d] = line[(i + 1) % line.size()];
      net.route(chip, net.index(at), w, load);
      at[d] = line[(i + line.size() - 1) % line.size()];
      net.route(chip, net.index(at), w, load);
    }
  }
}

// Snaps a ratio of sums that differ only by rounding to exactly 1.
double ratio(double a, double b) {
  const double r = b > 0 ? a / b : 1.0;
  return std::abs(r - 1) < 1e-9 ? 1.0 : r;
}

double max_of(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}
double sum_of(const std::vector<double>& v) {
  double t = 0;
  for (double x : v) t += x;
  return t;
}

}  // namespace

std::vector<std::vector<int>> strided_groups(int chips, int size, int stride) {
  check(size >= 1 && stride >= 1 && chips % (size * stride) == 0, "groups of ", size, " chips ", stride,
        " apart do not tile ", chips, " chips");
  std::vector<std::vector<int>> groups;
  for (int block = 0; block < chips; block += size * stride)
    for (int first = 0; first < stride; ++first) {
      std::vector<int> g;
      for (int i = 0; i < size; ++i) g.push_back(block + first + i * stride);
      groups.push_back(std::move(g));
    }
  return groups;
}

ConcurrentCost concurrent_collective(const SystemDesc& s, Collective c, const std::vector<std::vector<int>>& groups,
                                     double n, std::optional<CollectiveAlgorithm> algorithm) {
  check(!groups.empty(), s.name, ": concurrent ", collective_name(c), " with no groups");
  const size_t g = groups.front().size();
  std::vector<bool> taken(size_t(std::max(s.count, 0)), false);
  for (const auto& group : groups) {
    check(group.size() == g && g >= 1, s.name, ": concurrent groups must have the same size (", g, " and ",
          group.size(), ")");
    for (int chip : group) {
      check(chip >= 0 && chip < s.count, s.name, ": chip ", chip, " of group ", group_text(group),
            " is not one of its ", s.count, " chips");
      check(!taken[size_t(chip)], s.name, ": chip ", chip, " is in two concurrent groups");
      taken[size_t(chip)] = true;
    }
  }
  ConcurrentCost out;
  if (g == 1) {
    out.cost = system_collective(s, c, 1, n, algorithm);
    return out;
  }
  const LinkNet net = network_of(s);
  // The formula's system: the group on a topology of its own shape (a ring of g; a torus of the block's
  // extents in the same dimensions, so each dimension keeps its share of the links), links unchanged.
  SystemDesc own = s;
  own.count = int(g);
  LinkNet own_net;
  own_net.switched = net.switched;
  if (net.switched) {
    own.dims = {int(g)};
  } else {
    own.dims.clear();
    for (const auto& b : block_of(net, groups.front(), s.name))
      if (b.size() > 1) own.dims.push_back(int(b.size()));
    while (own.dims.size() < s.dims.size()) own.dims.push_back(1);
  }
  own_net.dims = net.switched ? std::vector<int>{int(g)} : own.dims;
  const CollectiveCost formula = system_collective(own, c, int(g), n, algorithm);
  SystemDesc no_latency = own;
  no_latency.links.latency_s = 0;
  const double beta = system_collective(no_latency, c, int(g), n, formula.algorithm).time_s;

  std::vector<int> own_group(g);
  for (size_t i = 0; i < g; ++i) own_group[i] = int(i);
  std::vector<double> ideal(own_net.channels(), 0.0);
  add_flows(own_net, c, formula.algorithm, own_group, s.name, ideal);
  const double ideal_max = max_of(ideal), ideal_hops = sum_of(ideal);

  std::vector<std::vector<double>> alone(groups.size(), std::vector<double>(net.channels(), 0.0));
  std::vector<double> all(net.channels(), 0.0);
  for (size_t k = 0; k < groups.size(); ++k) {
    add_flows(net, c, formula.algorithm, groups[k], s.name, alone[k]);
    for (size_t l = 0; l < all.size(); ++l) all[l] += alone[k][l];
  }
  double worst = -1, hops = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    double busiest_shared = 0;
    for (size_t l = 0; l < all.size(); ++l)
      if (alone[k][l] > 0) busiest_shared = std::max(busiest_shared, all[l]);
    const double dilation = ratio(max_of(alone[k]), ideal_max);
    const double contention = ratio(busiest_shared, max_of(alone[k]));
    if (dilation * contention > worst)
      worst = dilation * contention, out.dilation = dilation, out.contention = contention, hops = sum_of(alone[k]);
  }
  out.alpha_beta_s = formula.time_s;
  out.uncontended_s = out.dilation == 1 ? formula.time_s : formula.time_s + (out.dilation - 1) * beta;
  out.cost = formula;
  if (worst != 1) out.cost.time_s = formula.time_s + (worst - 1) * beta;
  out.cost.link_bytes = formula.link_bytes * ratio(hops, ideal_hops);
  out.cost.energy_j = out.cost.link_bytes * s.links.pj_per_byte * 1e-12;
  out.cost.alg_bytes_per_s = out.cost.time_s > 0 ? n / out.cost.time_s : 0;
  const double frac = double(g - 1) / double(g);
  out.cost.bus_bytes_per_s = out.cost.alg_bytes_per_s * (c == Collective::AllReduce ? 2 * frac : frac);
  return out;
}

}  // namespace wafer::npu
