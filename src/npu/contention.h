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
// formula's (longer routes' extra hops are not counted). One kind of collective at a time, the same
// buffer size in every group.
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

// `groups` are disjoint sets of chip indices (0 .. count-1), all the same size, each running collective
// `c` on an `n_bytes` buffer at the same moment. On a torus a chip's coordinates are its index with
// dimension 0 fastest, and a group must be a block: the product of a set of coordinates per dimension.
// `algorithm` as for system_collective (unset: the fastest the group's shape offers). Errors name the
// system, the group and the reason.
ConcurrentCost concurrent_collective(const SystemDesc& s, Collective c, const std::vector<std::vector<int>>& groups,
                                     double n_bytes, std::optional<CollectiveAlgorithm> algorithm = std::nullopt);

// Groups of `size` chips `stride` apart, in blocks of size x stride consecutive chips tiled over the
// first `chips` chips: stride 1 gives contiguous groups (0..size-1, size..2 size-1, ...), stride k the
// chips with the same position in k-chip groups (tensor parallelism innermost, expert groups across it).
std::vector<std::vector<int>> strided_groups(int chips, int size, int stride = 1);

}  // namespace wafer::npu
