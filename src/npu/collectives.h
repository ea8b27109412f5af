// Collective communication over a system of chips, as an alpha-beta cost model: a step costs the
// link latency alpha, a byte costs 1/B. n is always the bytes of one chip's buffer: all-reduce's
// buffer, all-gather's output (each chip contributes n/p), reduce-scatter's input (each keeps n/p),
// all-to-all's send buffer (n/p to each peer). Reduction arithmetic is not costed.
//
// Formulas, with p chips (docs/SYSTEMS.md lists them with their sources):
//   ring      all-reduce 2(p-1) a + 2(p-1)/p n/B; all-gather, reduce-scatter, all-to-all (pairwise
//             exchange) (p-1) a + (p-1)/p n/B             [Thakur, Rabenseifner, Gropp, IJHPCA 2005]
//   tree      all-reduce: pipelined double binary tree, 2 ceil(log2 p) a + 2 n/B [Sanders, Speck, Traeff
//             2009; NCCL 2.4]; all-gather by recursive doubling and reduce-scatter by recursive halving,
//             log2 p a + (p-1)/p n/B (p a power of two); all-to-all by Bruck, ceil(log2 p) (a + n/(2B)) [Thakur]
//   direct    every peer at once through a switch: all-reduce 2 a + 2(p-1)/p n/B (reduce-scatter then
//             all-gather), the others a + (p-1)/p n/B
//   in-network  the fabric reduces (wafer-fabric, like NVLink SHARP): all-reduce 2 a + n/B
// On a ring or torus the links are shared, so the topology sets B and, for all-to-all, the hops
// (system_collective below).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "npu/system.h"

namespace wafer::npu {

enum class Collective { AllReduce, AllGather, ReduceScatter, AllToAll };
enum class CollectiveAlgorithm { Ring, Tree, Direct, InNetwork };
std::string_view collective_name(Collective c);          // "all-reduce", ...
std::string_view algorithm_name(CollectiveAlgorithm a);  // "ring", "tree", "direct", "in-network"
CollectiveAlgorithm parse_collective_algorithm(const std::string& s);

// The uncontended alpha-beta time of one collective: `alpha_s` per step, `bytes_per_s` what one chip
// sends (and receives) per direction. p = 1 costs nothing. Bad p or n is an error.
double alpha_beta_time(Collective c, CollectiveAlgorithm a, int p, double n_bytes, double alpha_s, double bytes_per_s);

struct CollectiveCost {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::Ring;
  double time_s = 0;
  double alg_bytes_per_s = 0;  // n / time (nccl-tests' algbw)
  double bus_bytes_per_s = 0;  // algbw x 2(p-1)/p for all-reduce, x (p-1)/p otherwise (nccl-tests' busbw)
  double link_bytes = 0;       // bytes x links crossed, all chips together
  double energy_j = 0;         // link_bytes x the links' pJ/byte
};

// One collective over `group` chips of the system (group <= count; on a torus a product of its leading
// dims, on a ring the whole ring). `algorithm` unset: the fastest the topology offers. An algorithm the
// topology cannot run (a tree on a ring) is an error naming both.
CollectiveCost system_collective(const SystemDesc& s, Collective c, int group, double n_bytes,
                                 std::optional<CollectiveAlgorithm> algorithm = std::nullopt);

// The ring collectives on a torus (system_collective): the buffer is split into one part per dimension,
// part j starting at dimension j; the bytes each chip sends over dimension d's rings, per dimension, for
// a group spanning `dims` and a buffer of n bytes (one reduce-scatter or all-gather pass).
std::vector<double> torus_dim_traffic(const std::vector<int>& dims, double n_bytes);

// One chip sends `n_bytes` to the next (pipeline stages sit on neighbouring chips): alpha + n / B, with
// B the links that join the two: all the chip's links through a switch or wafer fabric, one direction's
// share on a ring (per_chip / 2) or a torus (per_chip / (2 x dims)). link_bytes = n (one hop).
CollectiveCost point_to_point(const SystemDesc& s, double n_bytes);

}  // namespace wafer::npu
