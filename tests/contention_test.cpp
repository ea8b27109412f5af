// Concurrent collectives (npu/contention.h): alone on a shape of their own they are the alpha-beta
// formulas exactly; groups that share links slow down by the derived factor, disjoint ones not at all.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "npu/contention.h"

namespace wafer::npu {
namespace {

using ::testing::HasSubstr;
using A = CollectiveAlgorithm;
using C = Collective;

constexpr double kN = 64e6;

std::vector<int> first(int g) {
  std::vector<int> v(size_t(g), 0);
  for (int i = 0; i < g; ++i) v[size_t(i)] = i;
  return v;
}

std::string error_of(auto f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Contention, StridedGroupsTileTheChips) {
  EXPECT_EQ(strided_groups(8, 4), (std::vector<std::vector<int>>{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  EXPECT_EQ(strided_groups(8, 2, 2), (std::vector<std::vector<int>>{{0, 2}, {1, 3}, {4, 6}, {5, 7}}));
  EXPECT_THAT(error_of([] { strided_groups(8, 3); }), HasSubstr("do not tile 8 chips"));
}

TEST(Contention, OneGroupOnItsOwnShapeIsTheAlphaBetaFormulaExactly) {
  // Every preset topology, collective and algorithm: the same time, algorithm, bytes and energy.
  struct Case {
    const char* system;
    std::vector<int> groups;
  };
  for (const Case& k : {Case{"dgx-h100", {2, 4, 8}}, Case{"cs-3-cluster", {2, 4}}, Case{"edge-quad", {4}},
                        Case{"tpu-v4-slice", {4, 16, 64}}, Case{"trn2-server", {4, 16}}}) {
    SystemDesc s = load_system(k.system);
    for (int g : k.groups)
      for (C c : {C::AllReduce, C::AllGather, C::ReduceScatter, C::AllToAll})
        for (std::optional<A> a : {std::optional<A>(), std::optional<A>(A::Ring), std::optional<A>(A::Tree),
                                   std::optional<A>(A::Direct), std::optional<A>(A::InNetwork)}) {
          SCOPED_TRACE(std::string(k.system) + " " + std::to_string(g) + " " + std::string(collective_name(c)) + " " +
                       (a ? std::string(algorithm_name(*a)) : "best"));
          CollectiveCost want;
          try {
            want = system_collective(s, c, g, kN, a);
          } catch (const Error&) {
            EXPECT_THROW(concurrent_collective(s, c, {first(g)}, kN, a), Error);
            continue;
          }
          ConcurrentCost got = concurrent_collective(s, c, {first(g)}, kN, a);
          EXPECT_EQ(got.cost.time_s, want.time_s);
          EXPECT_EQ(got.cost.algorithm, want.algorithm);
          EXPECT_EQ(got.cost.link_bytes, want.link_bytes);
          EXPECT_EQ(got.cost.energy_j, want.energy_j);
          EXPECT_EQ(got.alpha_beta_s, want.time_s);
          EXPECT_EQ(got.uncontended_s, want.time_s);
          EXPECT_EQ(got.dilation, 1);
          EXPECT_EQ(got.contention, 1);
        }
  }
}

TEST(Contention, DisjointGroupsAndSwitchesNeverSlowEachOther) {
  // On a switch each chip has its own ports: 4 pairs or 2 quads at once cost what one costs alone.
  SystemDesc h = load_system("dgx-h100");
  for (int g : {2, 4})
    for (int stride : {1, 8 / g})
      for (C c : {C::AllReduce, C::AllGather, C::AllToAll})
        for (A a : {A::Ring, A::Direct}) {
          ConcurrentCost got = concurrent_collective(h, c, strided_groups(8, g, stride), kN, a);
          EXPECT_EQ(got.cost.time_s, system_collective(h, c, g, kN, a).time_s);
          EXPECT_EQ(got.contention, 1);
        }
  // A 4x4x4 torus: the 16 lines of dimension 0 (tensor-parallel groups of dp replicas), or the lines of
  // dimension 1 (groups 4 apart), use links no other line uses.
  SystemDesc t = load_system("tpu-v4-slice");
  for (int stride : {1, 4})
    for (C c : {C::AllReduce, C::AllToAll}) {
      ConcurrentCost got = concurrent_collective(t, c, strided_groups(64, 4, stride), kN);
      EXPECT_EQ(got.cost.time_s, system_collective(t, c, 4, kN).time_s);
      EXPECT_EQ(got.contention, 1);
      EXPECT_EQ(got.dilation, 1);
    }
}

TEST(Contention, InterleavedGroupsOnARingShareEveryLink) {
  // 8 chips on a ring, 2 links of 2 GB/s (B = 4 GB/s per chip), 1 us per step. Groups {0,2,4,6} and
  // {1,3,5,7}: each logical ring hop is 2 physical hops, so each group alone loads every link once (as a
  // ring of 4 of its own would) and both together twice: the bandwidth term doubles.
  SystemDesc r = load_system("edge-quad", {{"count", "8"}});
  const double a = 1e-6, B = 4e9;
  ConcurrentCost ar = concurrent_collective(r, C::AllReduce, strided_groups(8, 4, 2), kN);
  EXPECT_EQ(ar.dilation, 1);
  EXPECT_EQ(ar.contention, 2);
  EXPECT_DOUBLE_EQ(ar.alpha_beta_s, 6 * a + 2 * 0.75 * kN / B);
  EXPECT_DOUBLE_EQ(ar.uncontended_s, ar.alpha_beta_s);
  EXPECT_DOUBLE_EQ(ar.cost.time_s, 6 * a + 2 * 2 * 0.75 * kN / B);
  // All-to-all: shortest paths (the opposite chip split both ways) load every link as a ring of 4 does
  // (n x 4 / 4 / B, 2 hops of latency); twice with both groups.
  ConcurrentCost a2a = concurrent_collective(r, C::AllToAll, strided_groups(8, 4, 2), kN);
  EXPECT_EQ(a2a.contention, 2);
  EXPECT_DOUBLE_EQ(a2a.cost.time_s, 2 * a + 2 * kN / B);
  // One of the two alone is the ring of 4.
  EXPECT_DOUBLE_EQ(concurrent_collective(r, C::AllReduce, {{0, 2, 4, 6}}, kN).cost.time_s, ar.alpha_beta_s);
}

TEST(Contention, ARingsClosureOnPartOfARingDoublesItsLoad) {
  // Groups {0..3} and {4..7} on the 8-ring: the closure 3 -> 0 runs back over 3 -> 2 -> 1 -> 0 (shorter
  // than 5 hops forward), so links 0-1, 1-2, 2-3 carry two flows each way: dilation 2; the other group
  // uses the links of 4..7 only: no contention. Its energy counts the longer routes: 12 flow-hops a
  // step against a ring of 4's 8.
  SystemDesc r = load_system("edge-quad", {{"count", "8"}});
  const double a = 1e-6, B = 4e9;
  ConcurrentCost ar = concurrent_collective(r, C::AllReduce, strided_groups(8, 4), kN);
  EXPECT_EQ(ar.dilation, 2);
  EXPECT_EQ(ar.contention, 1);
  EXPECT_DOUBLE_EQ(ar.cost.time_s, 6 * a + 2 * 2 * 0.75 * kN / B);
  EXPECT_DOUBLE_EQ(ar.uncontended_s, ar.cost.time_s);
  EXPECT_DOUBLE_EQ(ar.cost.link_bytes,
                   1.5 * system_collective(load_system("edge-quad"), C::AllReduce, 4, kN).link_bytes);
}

TEST(Contention, APartialTorusLineUsesOneDirectionsLinks) {
  // trn2-server, 4x4 torus: groups of 8 are blocks 4 x {0,1} and 4 x {2,3}. Their formula is a 4x2
  // torus's: dimension 0 carries 9/16 of the buffer, dimension 1 5/16 (torus_dim_traffic). On a line of 4
  // the pair {0,1} reaches each other over one direction's links only (a ring of 2 would use both), so
  // dimension 1's links carry 2 x 5/16 = 10/16 against the busiest 9/16: dilation 10/9.
  SystemDesc t = load_system("trn2-server");
  EXPECT_EQ(torus_dim_traffic({4, 2}, 1.0), (std::vector<double>{9.0 / 16, 5.0 / 16}));
  ConcurrentCost ar = concurrent_collective(t, C::AllReduce, strided_groups(16, 8), kN);
  EXPECT_DOUBLE_EQ(ar.dilation, 10.0 / 9);
  EXPECT_EQ(ar.contention, 1);
  SystemDesc no_latency = t;
  no_latency.links.latency_s = 0;
  const double beta = concurrent_collective(no_latency, C::AllReduce, {first(8)}, kN).alpha_beta_s;
  EXPECT_DOUBLE_EQ(ar.cost.time_s, ar.alpha_beta_s + beta / 9);
}

TEST(Contention, NvswitchBusBandwidthStillHoldsWithConcurrentGroups) {
  // nccl-tests on DGX H100 (issue 212): ~370 GB/s busbw for the ring all-reduce, line rate 450 GB/s.
  SystemDesc h = load_system("dgx-h100");
  ConcurrentCost all = concurrent_collective(h, C::AllReduce, {first(8)}, 8.0 * (1ull << 30), A::Ring);
  EXPECT_GE(all.cost.bus_bytes_per_s, 370e9);
  EXPECT_LE(all.cost.bus_bytes_per_s, 370e9 * 1.25);
  // Two groups of 4 at once each keep the line rate (bus bandwidth of a 4-chip all-reduce).
  ConcurrentCost halves = concurrent_collective(h, C::AllReduce, strided_groups(8, 4, 2), 8.0 * (1ull << 30), A::Ring);
  EXPECT_NEAR(halves.cost.bus_bytes_per_s, 450e9, 0.5e9);
}

TEST(Contention, AnAllReduceAndAnAllToAllOnTheSameLinksSlowEachOther) {
  // The 8-ring (2 GB/s each way per chip, 1 us a step). The all-reduce of {0,2,4,6} loads every directed
  // link with 3/4 n (a ring of 4's, each logical hop two physical ones); the all-to-all of {1,3,5,7} (m/4 to
  // each peer: the neighbours 2 hops away, the opposite chip 4 hops split both ways) puts m/2 on every one.
  // In flight together every link carries 3/4 n + m/2, and each collective's bandwidth term becomes that
  // over 2 GB/s.
  SystemDesc r = load_system("edge-quad", {{"count", "8"}});
  const double a = 1e-6, dir = 2e9, n = kN, m = kN;
  const std::vector<int> even{0, 2, 4, 6}, odd{1, 3, 5, 7};
  const ConcurrentCost ar_alone = concurrent_collective(r, C::AllReduce, {even}, n);
  const ConcurrentCost a2a_alone = concurrent_collective(r, C::AllToAll, {odd}, m);
  EXPECT_NEAR(ar_alone.cost.time_s, 6 * a + 0.75 * n / dir, 1e-12);
  EXPECT_NEAR(a2a_alone.cost.time_s, 2 * a + 0.5 * m / dir, 1e-12);
  const ConcurrentCost ar =
      concurrent_collective(r, C::AllReduce, {even}, n, std::nullopt, {{false, C::AllToAll, {odd}, m}});
  const ConcurrentCost a2a =
      concurrent_collective(r, C::AllToAll, {odd}, m, std::nullopt, {{false, C::AllReduce, {even}, n}});
  EXPECT_NEAR(ar.contention, 5.0 / 3, 1e-12);  // (3/4 n + m/2) / (3/4 n)
  EXPECT_NEAR(a2a.contention, 2.5, 1e-12);     // (3/4 n + m/2) / (m/2)
  EXPECT_NEAR(ar.cost.time_s, 6 * a + (0.75 * n + 0.5 * m) / dir, 1e-12);
  EXPECT_NEAR(a2a.cost.time_s, 2 * a + (0.75 * n + 0.5 * m) / dir, 1e-12);
  EXPECT_DOUBLE_EQ(ar.uncontended_s, ar_alone.cost.time_s);
  // The same size and kind given as "other" traffic counts as a second group of the same collective would.
  const ConcurrentCost twice = concurrent_collective(r, C::AllReduce, {even, odd}, n);
  const ConcurrentCost as_other =
      concurrent_collective(r, C::AllReduce, {even}, n, std::nullopt, {{false, C::AllReduce, {odd}, n}});
  EXPECT_DOUBLE_EQ(as_other.contention, twice.contention);
  EXPECT_NEAR(as_other.cost.time_s, twice.cost.time_s, 1e-15);
}

TEST(Contention, AChipRunsOneCommunicationAtATime) {
  // Traffic of a group that shares a chip with the one timed is not beside it: the pair {0,1}'s all-reduce
  // and the expert group {0,2,4,6}'s all-to-all take turns on chip 0 (the ring: the all-to-all alone would
  // cross link 0 -> 1 too).
  for (const char* name : {"dgx-h100", "edge-quad"}) {
    SystemDesc s = load_system(name, {{"count", "8"}});
    const ConcurrentCost alone = concurrent_collective(s, C::AllReduce, {{0, 1}}, kN);
    const ConcurrentCost beside =
        concurrent_collective(s, C::AllReduce, {{0, 1}}, kN, std::nullopt, {{false, C::AllToAll, {{0, 2, 4, 6}}, kN}});
    EXPECT_EQ(beside.contention, 1) << name;
    EXPECT_DOUBLE_EQ(beside.cost.time_s, alone.cost.time_s) << name;
  }
}

TEST(Contention, MixedKindsOnDisjointLinksDoNotMeet) {
  // The 8-ring's halves: an all-reduce on {0..3} and an all-to-all on {4..7} route within their own halves.
  SystemDesc r = load_system("edge-quad", {{"count", "8"}});
  const ConcurrentCost alone = concurrent_collective(r, C::AllReduce, {first(4)}, kN);
  const ConcurrentCost beside = concurrent_collective(r, C::AllReduce, {first(4)}, kN, std::nullopt,
                                                      {{false, C::AllToAll, {{4, 5, 6, 7}}, 4 * kN}});
  EXPECT_EQ(beside.contention, 1);
  EXPECT_DOUBLE_EQ(beside.cost.time_s, alone.cost.time_s);
  // A switch: groups on different chips never meet (pairs' all-reduces, four chips' all-to-all, a send).
  SystemDesc h = load_system("dgx-h100");
  const ConcurrentCost pairs = concurrent_collective(h, C::AllReduce, {{0, 1}, {2, 3}}, kN);
  const ConcurrentCost with =
      concurrent_collective(h, C::AllReduce, {{0, 1}, {2, 3}}, kN, std::nullopt,
                            {{false, C::AllToAll, {{4, 5, 6}}, kN}, {true, C::AllReduce, {{6, 7}}, kN}});
  EXPECT_EQ(with.contention, 1);
  EXPECT_DOUBLE_EQ(with.cost.time_s, pairs.cost.time_s);
}

TEST(Contention, ASendAloneIsPointToPointAndSharesItsLink) {
  SystemDesc r = load_system("edge-quad", {{"count", "8"}});
  const double a = 1e-6, dir = 2e9, n = kN, m = 0.25 * kN;
  EXPECT_EQ(stage_send_pairs(2, 3), (std::vector<std::vector<int>>{{0, 2}, {1, 3}, {2, 4}, {3, 5}}));
  // Alone: one link latency and the bytes over one direction's links, exactly point_to_point.
  const ConcurrentCost alone = concurrent_sends(r, {{0, 1}}, m);
  EXPECT_EQ(alone.cost.time_s, point_to_point(r, m).time_s);
  EXPECT_NEAR(alone.cost.time_s, a + m / dir, 1e-15);
  // A chain of sends (0 -> 1 -> 2) uses different links: no contention.
  EXPECT_EQ(concurrent_sends(r, {{0, 1}, {1, 2}}, m).contention, 1);
  // Beside a send 7 -> 2 (over 7 -> 0 -> 1 -> 2): link 0 -> 1 carries both.
  const ConcurrentCost send = concurrent_sends(r, {{0, 1}}, m, {{true, C::AllReduce, {{7, 2}}, n}});
  EXPECT_NEAR(send.cost.time_s, a + (m + n) / dir, 1e-12);
  // An all-to-all of {3,5} (over 3 -> 4 -> 5 and back) does not touch link 0 -> 1.
  EXPECT_EQ(concurrent_sends(r, {{0, 1}}, m, {{false, C::AllToAll, {{3, 5}}, n}}).contention, 1);
  EXPECT_THAT(error_of([&] { concurrent_sends(r, {{0, 0}}, m); }), HasSubstr("a pair of different chips"));
}

TEST(Contention, BadGroupsAreErrorsNamingTheSystem) {
  SystemDesc t = load_system("trn2-server");
  EXPECT_THAT(error_of([&] {
                concurrent_collective(t, C::AllReduce, {{0, 1, 2, 5}}, kN);
              }),
              HasSubstr("trn2-server: the group {0, 1, 2, 5} is not a block of the torus"));
  EXPECT_THAT(error_of([&] {
                concurrent_collective(t, C::AllReduce, {{0, 1}, {1, 2}}, kN);
              }),
              HasSubstr("chip 1 is in two concurrent groups"));
  EXPECT_THAT(error_of([&] {
                concurrent_collective(t, C::AllReduce, {{0, 1}, {2}}, kN);
              }),
              HasSubstr("must have the same size"));
  EXPECT_THAT(error_of([&] {
                concurrent_collective(t, C::AllReduce, {{15, 16}}, kN);
              }),
              HasSubstr("chip 16 of group {15, 16} is not one of its 16 chips"));
}

}  // namespace
}  // namespace wafer::npu
