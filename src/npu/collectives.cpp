#include "npu/collectives.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace wafer::npu {

std::string_view collective_name(Collective c) {
  switch (c) {
    case Collective::AllReduce:
      return "all-reduce";
    case Collective::AllGather:
      return "all-gather";
    case Collective::ReduceScatter:
      return "reduce-scatter";
    case Collective::AllToAll:
      return "all-to-all";
  }
  return "?";
}

std::string_view algorithm_name(CollectiveAlgorithm a) {
  switch (a) {
    case CollectiveAlgorithm::Ring:
      return "ring";
    case CollectiveAlgorithm::Tree:
      return "tree";
    case CollectiveAlgorithm::Direct:
      return "direct";
    case CollectiveAlgorithm::InNetwork:
      return "in-network";
  }
  return "?";
}

CollectiveAlgorithm parse_collective_algorithm(const std::string& s) {
  for (auto a : {CollectiveAlgorithm::Ring, CollectiveAlgorithm::Tree, CollectiveAlgorithm::Direct,
                 CollectiveAlgorithm::InNetwork})
    if (s == algorithm_name(a)) return a;
  fail("unknown collective algorithm '", s, "' (ring, tree, direct, in-network)");
}

namespace {

int ceil_log2(int p) {
  int k = 0;
  while ((1 << k) < p) ++k;
  return k;
}

// Sum over the other chips of the shortest distance around a ring of k chips.
double ring_distance_sum(int k) {
  double d = 0;
  for (int i = 1; i < k; ++i) d += std::min(i, k - i);
  return d;
}

}  // namespace

double alpha_beta_time(Collective c, CollectiveAlgorithm a, int p, double n, double alpha, double bw) {
  check(p >= 1, "collective over ", p, " chips: need at least 1");
  check(n >= 0 && std::isfinite(n), "collective of ", n, " bytes: need a finite size of at least 0");
  check(bw > 0 && alpha >= 0, "collective: bandwidth must be positive and latency at least 0");
  if (p == 1) return 0;
  const double P = p, frac = (P - 1) / P;
  switch (a) {
    case CollectiveAlgorithm::Ring:
      return c == Collective::AllReduce ? 2 * (P - 1) * alpha + 2 * frac * n / bw : (P - 1) * alpha + frac * n / bw;
    case CollectiveAlgorithm::Direct:
      return c == Collective::AllReduce ? 2 * alpha + 2 * frac * n / bw : alpha + frac * n / bw;
    case CollectiveAlgorithm::Tree: {
      const double steps = ceil_log2(p);
      if (c == Collective::AllReduce) return 2 * steps * alpha + 2 * n / bw;
      if (c == Collective::AllToAll) return steps * (alpha + n / (2 * bw));
      check((p & (p - 1)) == 0, algorithm_name(a), " ", collective_name(c), " (recursive ",
            c == Collective::AllGather ? "doubling" : "halving", ") needs a power-of-two group, got ", p);
      return steps * alpha + frac * n / bw;
    }
    case CollectiveAlgorithm::InNetwork:
      return c == Collective::AllReduce ? 2 * alpha + n / bw : alpha + frac * n / bw;
  }
  return 0;
}

CollectiveCost system_collective(const SystemDesc& s, Collective c, int group, double n,
                                 std::optional<CollectiveAlgorithm> algorithm) {
  check(group >= 1 && group <= s.count, s.name, ": a collective over ", group, " chips, but the system has ", s.count);
  const double alpha = s.links.latency_s, B = s.chip_bytes_per_s(), P = group;
  CollectiveCost best;
  best.time_s = std::numeric_limits<double>::infinity();
  auto consider = [&](CollectiveAlgorithm a, double t, double link_bytes) {
    if (algorithm && *algorithm != a) return;
    if (t < best.time_s) best.algorithm = a, best.time_s = t, best.link_bytes = link_bytes;
  };
  // Bytes each chip sends, by algorithm (each crosses one chip-to-chip link, through a switch or not).
  const double frac = (P - 1) / P;
  const double sent_ring = (c == Collective::AllReduce ? 2 : 1) * frac * n;

  switch (s.topology) {
    case Topology::Switch:
    case Topology::WaferFabric: {
      // Every chip reaches every other at its full link bandwidth: no shared links.
      // Direct first: on a tie (p = 2) a switch does it in one step each way.
      consider(CollectiveAlgorithm::Direct, alpha_beta_time(c, CollectiveAlgorithm::Direct, group, n, alpha, B),
               P * sent_ring);
      consider(CollectiveAlgorithm::Ring, alpha_beta_time(c, CollectiveAlgorithm::Ring, group, n, alpha, B),
               P * sent_ring);
      const bool tree_ok = c == Collective::AllReduce || c == Collective::AllToAll || (group & (group - 1)) == 0;
      if (tree_ok) {
        const double tree_sent = c == Collective::AllReduce  ? 2 * n
                                 : c == Collective::AllToAll ? ceil_log2(group) * n / 2
                                                             : frac * n;
        consider(CollectiveAlgorithm::Tree, alpha_beta_time(c, CollectiveAlgorithm::Tree, group, n, alpha, B),
                 P * tree_sent);
      }
      if (s.topology == Topology::WaferFabric && c == Collective::AllReduce)
        consider(CollectiveAlgorithm::InNetwork, alpha_beta_time(c, CollectiveAlgorithm::InNetwork, group, n, alpha, B),
                 P * 2 * n);
      break;
    }
    case Topology::Ring:
    case Topology::Torus: {
      // The group spans the whole ring, or the leading dims of a torus (each dim wraps around, so a
      // line of it is a ring of its own).
      std::vector<int> dims;
      int64_t covered = 1;
      for (int k : s.dims) {
        if (covered == group) break;
        dims.push_back(k), covered *= k;
      }
      check(covered == group, s.name, ": a collective on a ", topology_name(s.topology), " ",
            s.topology == Topology::Ring ? "spans the whole ring (" + std::to_string(s.count) + " chips)"
                                         : "spans its leading dimensions (products of the dims)",
            ", not ", group, " chips");
      if (group == 1) {  // no dims to cross (and no traffic to take the busiest of)
        consider(CollectiveAlgorithm::Ring, 0, 0);
        break;
      }
      // Each dim's links: per_chip / (2 x all dims) per direction of travel, both directions used
      // (two counter-rotating rings each carry half the data).
      const double B_dim = B / double(s.dims.size());
      if (c == Collective::AllToAll) {
        // Shortest-path routing, dimension by dimension, load balanced: each dim carries the bytes x hops
        // of its coordinate, at its share of the chip's links.
        double t = 0, hops_alpha = 0, byte_hops = 0;
        for (int k : dims) {
          t = std::max(t, n * ring_distance_sum(k) / double(k) / B_dim);
          hops_alpha += std::floor(k / 2.0);
          byte_hops += n * ring_distance_sum(k) / double(k);
        }
        consider(CollectiveAlgorithm::Ring, t + hops_alpha * alpha, P * byte_hops);
      } else {
        // Ring reduce-scatter / all-gather along each dim in turn (a ring per dim, all dims busy at once
        // on different parts of the buffer: part j starts at dim j): the busiest dim sets the time.
        const std::vector<double> traffic = torus_dim_traffic(dims, n);
        double steps = 0;
        for (int k : dims) steps += k - 1;
        const double busiest = *std::max_element(traffic.begin(), traffic.end());
        const double times = c == Collective::AllReduce ? 2 : 1;
        consider(CollectiveAlgorithm::Ring, times * (steps * alpha + busiest / B_dim), P * sent_ring);
      }
      break;
    }
  }
  check(std::isfinite(best.time_s), s.name, ": ", algorithm ? std::string(algorithm_name(*algorithm)) : "", " ",
        collective_name(c), " is not available on a ", topology_name(s.topology));
  if (group == 1) best.time_s = 0, best.link_bytes = 0;
  best.alg_bytes_per_s = best.time_s > 0 ? n / best.time_s : 0;
  best.bus_bytes_per_s = best.alg_bytes_per_s * (c == Collective::AllReduce ? 2 * frac : frac);
  best.energy_j = best.link_bytes * s.links.pj_per_byte * 1e-12;
  return best;
}

std::vector<double> torus_dim_traffic(const std::vector<int>& dims, double n) {
  std::vector<double> traffic(dims.size(), 0.0);
  for (size_t j = 0; j < dims.size(); ++j) {
    double size = n / double(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) {
      size_t d = (i + j) % dims.size();
      traffic[d] += size * (dims[d] - 1) / dims[d];
      size /= dims[d];
    }
  }
  return traffic;
}

CollectiveCost point_to_point(const SystemDesc& s, double n) {
  check(n >= 0 && std::isfinite(n), s.name, ": a send of ", n, " bytes");
  const int directions = s.topology == Topology::Ring ? 2 : s.topology == Topology::Torus ? 2 * int(s.dims.size()) : 1;
  const double B = s.chip_bytes_per_s() / directions;
  CollectiveCost c;
  c.algorithm = CollectiveAlgorithm::Direct;
  c.time_s = n > 0 ? s.links.latency_s + n / B : 0;
  c.alg_bytes_per_s = c.bus_bytes_per_s = c.time_s > 0 ? n / c.time_s : 0;
  c.link_bytes = n;
  c.energy_j = n * s.links.pj_per_byte * 1e-12;
  return c;
}

}  // namespace wafer::npu
