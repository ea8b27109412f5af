// Concurrent collectives of several groups of a system's chips, at flow level (docs/SYSTEMS.md,
// "Contention"): the idea of the analytical network simulators (ASTRA-sim's analytical backend), not
// their code. Each group's collective is a pattern of flows between its chips (its logical ring, both
// directions; all pairs for all-to-all and the switch algorithms), routed over the physical links:
//   switch, wafer-fabric  a chip's own port up and the peer's port down (the switch is non-blocking);
//   ring                  the shortest direction (a tie split half each way);
//   torus                 dimension order, each dimension's shortest direction (ties split).
// A link's load is the flows of every group that cross it; a step lasts as long as the most loaded
// link the group uses. Against the alpha-beta formula (collectives.h), which is the group on a topology
// of its own shape (a whole ring, the full lines of a torus), the bandwidth term grows by
//   dilation   = the group's busiest link alone / the formula's busiest link (longer routes of a group
//                placed on part of a ring or a torus line), and
//   contention = the busiest link the group uses, all groups together / the group alone;
// time = alpha-beta time + (dilation x contention - 1) x its bandwidth term. The per-step latency is the
// formula's (longer routes' extra hops are not counted).
// Different kinds of traffic in flight at once (a tensor-parallel all-reduce beside another group's expert
// all-to-all, pipeline sends) share the links too: a link's load is then counted in bytes. Each pattern's
// flows carry its bytes, scaled so that the group on a topology of its own shape crosses the formula's
// link_bytes; `contention` is the bytes of everything in flight on the busiest link the group uses over
// the group's own bytes there (other traffic of groups sharing a chip with it excepted: a chip runs one
// communication at a time). With one kind and one buffer size this is the count of flows above.
#pragma once

#include <optional>
#include <vector>

#include "npu/collectives.h"
#include "npu/system.h"

namespace wafer::npu {

struct ConcurrentCost {
  CollectiveCost cost;       // the slowest group's collective, contention included (link_bytes, energy: that group's)
  double alpha_beta_s = 0;   // the formula: the group on a topology of its own shape
  double uncontended_s = 0;  // the group alone on the system (dilation included)
  double dilation = 1, contention = 1;
};

// Other traffic in flight beside a collective: `kind` over `groups` (each chip's buffer `n_bytes`), or
// pipeline sends (`send`): each group a pair {from, to}, the first chip sending `n_bytes` to the second.
// A chip runs one communication at a time: a group of it that shares a chip with the group being timed is
// not counted beside that group.
struct Traffic {
  bool send = false;
  Collective kind = Collective::AllReduce;
  std::vector<std::vector<int>> groups;
  double n_bytes = 0;
};

// `groups` are disjoint sets of chip indices (0 .. count-1), all the same size, each running collective
// `c` on an `n_bytes` buffer at the same moment. On a torus a chip's coordinates are its index with
// dimension 0 fastest, and a group must be a block: the product of a set of coordinates per dimension.
// `algorithm` as for system_collective (unset: the fastest the group's shape offers). Errors name the
// system, the group and the reason. `others`: the traffic of other kinds (or sizes) in flight at once.
ConcurrentCost concurrent_collective(const SystemDesc& s, Collective c, const std::vector<std::vector<int>>& groups,
                                     double n_bytes, std::optional<CollectiveAlgorithm> algorithm = std::nullopt,
                                     const std::vector<Traffic>& others = {});

// Pipeline sends at once: each pair {from, to} sends `n_bytes` (npu::point_to_point alone), beside `others`.
ConcurrentCost concurrent_sends(const SystemDesc& s, const std::vector<std::vector<int>>& pairs, double n_bytes,
                                const std::vector<Traffic>& others = {});

// The pairs of a pipeline's sends: each chip of stage j (`stage_chips` consecutive chips) to the chip at
// the same place in stage j + 1, for `stages` stages.
std::vector<std::vector<int>> stage_send_pairs(int stage_chips, int stages);

// Groups of `size` chips `stride` apart, in blocks of size x stride consecutive chips tiled over the
// first `chips` chips: stride 1 gives contiguous groups (0..size-1, size..2 size-1, ...), stride k the
// chips with the same position in k-chip groups (tensor parallelism innermost, expert groups across it).
std::vector<std::vector<int>> strided_groups(int chips, int size, int stride = 1);

}  // namespace wafer::npu
