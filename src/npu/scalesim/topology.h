// SCALE-Sim v2 topology files: one layer per CSV row.
//
// Conv layout: `Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,`
// (an optional ninth number is the column stride). GEMM layout (`-i gemm`): `Layer, M, N, K,`, which SCALE-Sim
// maps to an M x K "image" convolved with N 1 x K filters (scalesim/topology_utils.py, load_arrays_gemm).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wafer::scalesim {

struct Layer {
  std::string name;
  int64_t ifmap_h = 0, ifmap_w = 0;
  int64_t filter_h = 0, filter_w = 0;
  int64_t channels = 0, num_filters = 0;
  int64_t stride_h = 1, stride_w = 1;

  // SCALE-Sim rounds the output size up: ceil((H - R + S) / S) (topology_utils.py, topo_calc_hyperparams).
  int64_t ofmap_h() const { return (ifmap_h - filter_h + stride_h + stride_h - 1) / stride_h; }
  int64_t ofmap_w() const { return (ifmap_w - filter_w + stride_w + stride_w - 1) / stride_w; }
  int64_t ofmap_pixels() const { return ofmap_h() * ofmap_w(); }  // per filter
  int64_t window() const { return filter_h * filter_w * channels; }
  int64_t macs() const { return ofmap_pixels() * num_filters * window(); }
};

enum class TopologyKind { kConv, kGemm };

std::vector<Layer> parse_topology_text(const std::string& text, const std::string& name, TopologyKind kind);
std::vector<Layer> parse_topology_file(const std::string& path, TopologyKind kind);

}  // namespace wafer::scalesim
