// Strided views through chains of layout-only nodes. Reshape, Transpose,
// Slice (constant starts, step 1), Squeeze, Unsqueeze, Flatten and Identity
// move no arithmetic: their output is the input's elements seen through
// another (offset, dims, strides). A kernel that takes strided operands can
// read its inputs straight out of the buffer the chain started from, and
// write its output straight into the buffer the chain ends in, so the chain
// nodes never run. Usage (the cpu backend's attention lowering):
//
//   ViewChain q = trace_view_back(graph, node.inputs[0]);
//   // q.source: the value whose buffer holds Q's elements; q.view: where they
//   // are in it (row-major element offsets); q.nodes: the nodes it skips.
//
// A chain only passes a value whose sole reader is the next node of the chain
// (graph outputs count as readers), and every value in it needs static dims.
// Where a step cannot be expressed on strides (a Reshape merging dims that are
// not adjacent in memory), the chain stops there: that value is materialized.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace wafer {

// Element (i0, .., ik) of the view is at offset + sum(i_n * strides[n]) in the
// flat buffer it views (strides in elements; a dim of size 1 may have any stride).
struct StridedView {
  int64_t offset = 0;
  Dims dims;
  Dims strides;

  static StridedView row_major(const Dims& dims);
  // Whether the view is exactly the row-major layout of its dims (dims of size 1 ignored).
  bool is_row_major() const;
  std::string str() const;  // "[12,128,64] strides [64,2304,1] + 0"
};

// The view reshaped to `dims` (same element count), when expressible on strides.
std::optional<StridedView> reshape_view(const StridedView& v, const Dims& dims);
// Output dim i is input dim perm[i] (perm must be a permutation of 0..rank-1).
std::optional<StridedView> transpose_view(const StridedView& v, const std::vector<int64_t>& perm);
// Elements [start, start + length) of `axis`.
std::optional<StridedView> slice_view(const StridedView& v, int64_t axis, int64_t start, int64_t length);

// The output of layout node `n` as a view, given its input as the view `in`;
// nullopt when n is no layout node (or a Slice with non-constant or non-unit
// steps) or strides cannot express the result.
std::optional<StridedView> layout_node_view(const Graph& g, const Node& n, const StridedView& in);

struct ViewChain {
  std::string source;              // the value whose buffer the view indexes
  StridedView view;                // the traced value as a view of `source`
  std::vector<const Node*> nodes;  // the layout nodes skipped, in graph order
};

// Which layout nodes a chain may take (e.g. not those another chain took).
using ViewNodeFilter = std::function<bool(const Node&)>;

// `value` as a view of the farthest value upstream: walks producers while
// they are layout nodes whose output is read only by the chain.
ViewChain trace_view_back(const Graph& g, const std::string& value, const ViewNodeFilter& allow = {});

// `value` as a view of the farthest value downstream: walks readers while the
// value is read only by a layout node other than Slice (the view must cover
// the final value exactly, so a kernel writing `value` writes all of it).
// The final value (`source`) may have any readers and be a graph output.
ViewChain trace_view_forward(const Graph& g, const std::string& value, const ViewNodeFilter& allow = {});

}  // namespace wafer
