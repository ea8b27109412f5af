// Collectives (domain "wafer", version 1): the communication a shard of a model split over chips does, as
// ops of its graph, so the npu compiler can schedule it like any layer (npu/compiler_emit.cpp lowers each to
// a Collective instruction on the system's links; docs/SYSTEMS.md).
//
//   wafer.AllReduce(X), group        Y = the sum of X over the group's chips; Y has X's shape
//   wafer.AllGather(X), group, axis  Y = the group's X concatenated along axis: Y[axis] = group x X[axis]
//   wafer.AllToAll(X), group         Y = the rows of X exchanged: chip i sends its j-th of group blocks of
//                                    rows to chip j and gets theirs (an expert layer's dispatch and combine);
//                                    Y has X's shape
//   wafer.Send(X)                    X sent to the next pipeline stage's chip, which gets Y = X
//
// A graph holds one chip's shard, and one process has only that shard's values: the other chips' X are
// not there to be summed or gathered. So the reference kernel is exact for group = 1 (the identity) and
// refuses group > 1 instead of inventing the peers' data (summing p copies of X would be a wrong answer
// that looks right). Graphs with group > 1 are for the npu compiler and simulator (wafer sim --tp).
#include "ops/op_util.h"

namespace wafer {
namespace {

int64_t group_of(const Node& node) {
  const int64_t p = node.attr_int("group", 1);
  check(p >= 1, node.label(), ": group must be at least 1, got ", p);
  return p;
}

std::vector<Tensor> collective_kernel(const KernelContext& ctx) {
  const int64_t p = group_of(ctx.node);
  check(ctx.node.op_type != "Send", ctx.node.label(),
        ": a send moves X to another chip, which one process does not have: a pipelined graph runs on the npu "
        "simulator of a system of chips (wafer sim --pp)");
  check(p == 1, ctx.node.label(), ": ", ctx.node.op_type, " over ", p,
        " chips needs the other chips' shards, which one process does not have: a graph with tensor-parallel "
        "collectives runs on the npu simulator of a system of chips (wafer sim --tp), not on the reference or "
        "cpu backend");
  return {ctx.in(0)};
}

std::vector<ValueType> infer_all_gather(const InferContext& ctx) {
  ValueType t = ctx.in(0);
  if (!t.shape.rank_known) return {t};
  const int64_t axis = normalize_axis(ctx.node.attr_int("axis", -1), int64_t(t.shape.dims.size()), ctx.node);
  Dim& d = t.shape.dims[size_t(axis)];
  d = d.known() ? Dim(d.value * group_of(ctx.node)) : Dim();
  return {t};
}

WAFER_REGISTER_OP(wafer_all_reduce, {.name = "AllReduce",
                                     .domain = "wafer",
                                     .since = 1,
                                     .attrs = {{"group", AttrType::Int}},
                                     .infer = infer_same_as_input,
                                     .kernel = collective_kernel});

WAFER_REGISTER_OP(wafer_all_gather, {.name = "AllGather",
                                     .domain = "wafer",
                                     .since = 1,
                                     .attrs = {{"group", AttrType::Int}, {"axis", AttrType::Int}},
                                     .infer = infer_all_gather,
                                     .kernel = collective_kernel});

WAFER_REGISTER_OP(wafer_all_to_all, {.name = "AllToAll",
                                     .domain = "wafer",
                                     .since = 1,
                                     .attrs = {{"group", AttrType::Int}},
                                     .infer = infer_same_as_input,
                                     .kernel = collective_kernel});

WAFER_REGISTER_OP(
    wafer_send,
    {.name = "Send", .domain = "wafer", .since = 1, .infer = infer_same_as_input, .kernel = collective_kernel});

}  // namespace
}  // namespace wafer
