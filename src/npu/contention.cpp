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

namespace {

// One kind of traffic on the system: its formula (the group on a topology of its own shape) and the bytes
// each of its groups puts on every channel.
struct Pattern {
  CollectiveCost formula;
  double beta = 0;                         // the formula's bandwidth term (its time at zero latency)
  double ideal_max = 0;                    // bytes on the formula's busiest channel
  double ideal_bytes = 0;                  // bytes on all its channels
  std::vector<std::vector<double>> alone;  // per group: bytes per channel
};

// Groups of one kind of traffic: the same size, chips of the system, and (collectives) disjoint; a
// pipeline's sends chain (a stage's chips receive from the one before and send to the next).
void check_groups(const SystemDesc& s, const std::vector<std::vector<int>>& groups, std::string_view what,
                  bool disjoint = true) {
  check(!groups.empty(), s.name, ": concurrent ", what, " with no groups");
  const size_t g = groups.front().size();
  std::vector<bool> taken(size_t(std::max(s.count, 0)), false);
  for (const auto& group : groups) {
    check(group.size() == g && g >= 1, s.name, ": concurrent groups must have the same size (", g, " and ",
          group.size(), ")");
    for (int chip : group) {
      check(chip >= 0 && chip < s.count, s.name, ": chip ", chip, " of group ", group_text(group),
            " is not one of its ", s.count, " chips");
      check(!disjoint || !taken[size_t(chip)], s.name, ": chip ", chip, " is in two concurrent groups");
      taken[size_t(chip)] = true;
    }
  }
}

Pattern collective_pattern(const SystemDesc& s, const LinkNet& net, Collective c,
                           const std::vector<std::vector<int>>& groups, double n,
                           std::optional<CollectiveAlgorithm> algorithm) {
  check_groups(s, groups, collective_name(c));
  const size_t g = groups.front().size();
  Pattern p;
  if (g == 1) {
    p.formula = system_collective(s, c, 1, n, algorithm);
    p.alone.assign(groups.size(), std::vector<double>(net.channels(), 0.0));
    return p;
  }
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
  p.formula = system_collective(own, c, int(g), n, algorithm);
  SystemDesc no_latency = own;
  no_latency.links.latency_s = 0;
  p.beta = system_collective(no_latency, c, int(g), n, p.formula.algorithm).time_s;

  std::vector<int> own_group(g);
  for (size_t i = 0; i < g; ++i) own_group[i] = int(i);
  std::vector<double> ideal(own_net.channels(), 0.0);
  add_flows(own_net, c, p.formula.algorithm, own_group, s.name, ideal);
  // A unit of flow carries the bytes that make the group on its own shape cross the formula's link_bytes.
  const double hops = sum_of(ideal), unit = hops > 0 ? p.formula.link_bytes / hops : 0;
  p.ideal_max = max_of(ideal) * unit, p.ideal_bytes = hops * unit;
  for (const auto& group : groups) {
    std::vector<double> load(net.channels(), 0.0);
    add_flows(net, c, p.formula.algorithm, group, s.name, load);
    for (double& l : load) l *= unit;
    p.alone.push_back(std::move(load));
  }
  return p;
}

Pattern send_pattern(const SystemDesc& s, const LinkNet& net, const std::vector<std::vector<int>>& pairs, double n) {
  check_groups(s, pairs, "sends", false);
  Pattern p;
  p.formula = point_to_point(s, n);
  SystemDesc no_latency = s;
  no_latency.links.latency_s = 0;
  p.beta = point_to_point(no_latency, n).time_s;
  // One hop between neighbours: through a switch the sender's port up and the receiver's port down (two
  // channels for one link crossed, as every switched flow), on a ring or torus one channel.
  const double unit = n / (net.switched ? 2 : 1);
  p.ideal_max = unit, p.ideal_bytes = n;
  for (const auto& pair : pairs) {
    check(pair.size() == 2 && pair[0] != pair[1], s.name, ": a send is a pair of different chips {from, to}, not ",
          group_text(pair));
    std::vector<double> load(net.channels(), 0.0);
    net.route(pair[0], pair[1], unit, load);
    p.alone.push_back(std::move(load));
  }
  return p;
}

Pattern traffic_pattern(const SystemDesc& s, const LinkNet& net, const Traffic& t) {
  return t.send ? send_pattern(s, net, t.groups, t.n_bytes)
                : collective_pattern(s, net, t.kind, t.groups, t.n_bytes, std::nullopt);
}

// The slowest of `own`'s groups (`own_groups`) with everything in flight on the links: `own`'s groups and
// `others`. A chip runs one communication at a time, so the other traffic of a group that shares a chip with
// the one being timed is not beside it (those chips are busy with this collective).
ConcurrentCost in_flight(const SystemDesc& s, const LinkNet& net, const Pattern& own,
                         const std::vector<std::vector<int>>& own_groups, const std::vector<Traffic>& others, double n,
                         double bus_factor) {
  ConcurrentCost out;
  out.cost = own.formula;
  out.alpha_beta_s = out.uncontended_s = own.formula.time_s;
  if (own.ideal_bytes <= 0) return out;  // one chip, or nothing to move
  std::vector<double> mine(net.channels(), 0.0);
  for (const auto& load : own.alone)
    for (size_t l = 0; l < mine.size(); ++l) mine[l] += load[l];
  struct Other {
    const std::vector<int>* chips;
    std::vector<double> load;
  };
  std::vector<Other> other;
  for (const Traffic& t : others) {
    Pattern p = traffic_pattern(s, net, t);
    for (size_t k = 0; k < p.alone.size(); ++k) other.push_back({&t.groups[k], std::move(p.alone[k])});
  }
  double worst = -1, bytes = 0;
  for (size_t k = 0; k < own.alone.size(); ++k) {
    const std::vector<double>& load = own.alone[k];
    std::vector<double> all = mine;
    for (const Other& o : other) {
      const bool shares = std::any_of(o.chips->begin(), o.chips->end(), [&](int c) {
        return std::find(own_groups[k].begin(), own_groups[k].end(), c) != own_groups[k].end();
      });
      if (!shares)
        for (size_t l = 0; l < all.size(); ++l) all[l] += o.load[l];
    }
    double busiest_shared = 0;
    for (size_t l = 0; l < all.size(); ++l)
      if (load[l] > 0) busiest_shared = std::max(busiest_shared, all[l]);
    const double dilation = ratio(max_of(load), own.ideal_max);
    const double contention = ratio(busiest_shared, max_of(load));
    if (dilation * contention > worst)
      worst = dilation * contention, out.dilation = dilation, out.contention = contention, bytes = sum_of(load);
  }
  const CollectiveCost& f = own.formula;
  out.uncontended_s = out.dilation == 1 ? f.time_s : f.time_s + (out.dilation - 1) * own.beta;
  if (worst != 1) out.cost.time_s = f.time_s + (worst - 1) * own.beta;
  out.cost.link_bytes = f.link_bytes * ratio(bytes, own.ideal_bytes);
  out.cost.energy_j = out.cost.link_bytes * s.links.pj_per_byte * 1e-12;
  out.cost.alg_bytes_per_s = out.cost.time_s > 0 ? n / out.cost.time_s : 0;
  out.cost.bus_bytes_per_s = out.cost.alg_bytes_per_s * bus_factor;
  return out;
}

}  // namespace

ConcurrentCost concurrent_collective(const SystemDesc& s, Collective c, const std::vector<std::vector<int>>& groups,
                                     double n, std::optional<CollectiveAlgorithm> algorithm,
                                     const std::vector<Traffic>& others) {
  const LinkNet net = network_of(s);
  const Pattern own = collective_pattern(s, net, c, groups, n, algorithm);
  const double g = double(groups.front().size()), frac = (g - 1) / g;
  return in_flight(s, net, own, groups, others, n, c == Collective::AllReduce ? 2 * frac : frac);
}

ConcurrentCost concurrent_sends(const SystemDesc& s, const std::vector<std::vector<int>>& pairs, double n,
                                const std::vector<Traffic>& others) {
  const LinkNet net = network_of(s);
  return in_flight(s, net, send_pattern(s, net, pairs, n), pairs, others, n, 1.0);
}

std::vector<std::vector<int>> stage_send_pairs(int stage_chips, int stages) {
  std::vector<std::vector<int>> pairs;
  for (int j = 0; j + 1 < stages; ++j)
    for (int i = 0; i < stage_chips; ++i) pairs.push_back({j * stage_chips + i, (j + 1) * stage_chips + i});
  return pairs;
}

}  // namespace wafer::npu
