#include "npu/wave_compressor.h"

#include <algorithm>

namespace wafer::npu {

WaveCompressor::WaveCompressor(Program& prog, bool enabled)
    : prog_(prog), enabled_(enabled), loop_begin_(int(prog.instrs.size())) {}

void WaveCompressor::begin_wave() {
  cur_begin_ = int(prog_.instrs.size());
}

bool WaveCompressor::same(int a, int b, int len) const {
  for (int j = 0; j < len; ++j) {
    const Instr& x = prog_.instrs[size_t(a + j)];
    const Instr& y = prog_.instrs[size_t(b + j)];
    // What the simulator costs: the tile's extents, not its place in the GEMM view.
    if (x.kind != y.kind || x.layer != y.layer || x.core != y.core || x.src != y.src || x.dst != y.dst ||
        x.peer_core != y.peer_core || x.bytes != y.bytes || x.m1 - x.m0 != y.m1 - y.m0 || x.k1 - x.k0 != y.k1 - y.k0 ||
        x.n1 - x.n0 != y.n1 - y.n0 || x.dtype != y.dtype || x.elements != y.elements || x.op_class != y.op_class ||
        x.what != y.what || x.deps.size() != y.deps.size())
      return false;
    for (size_t i = 0; i < x.deps.size(); ++i) {
      const int dx = x.deps[i], dy = y.deps[i];
      const bool inside = dx >= loop_begin_;
      if (inside != (dy >= loop_begin_) || (inside ? dx - a != dy - b : dx != dy)) return false;
    }
  }
  return true;
}

int WaveCompressor::lookback(int begin, int len) const {
  int waves = 1;
  for (int j = 0; j < len; ++j)
    for (int d : prog_.instrs[size_t(begin + j)].deps)
      if (d >= loop_begin_ && d < begin) waves = std::max(waves, (begin - d + len - 1) / len);
  return waves;
}

int WaveCompressor::end_wave() {
  const int len = int(prog_.instrs.size()) - cur_begin_;
  const bool repeats =
      enabled_ && len > 0 && prev_begin_ >= 0 && len == prev_len_ && same(prev_begin_, cur_begin_, len);
  if (!repeats) {
    open_ = -1;
    run_ = 1;
    prev_begin_ = cur_begin_, prev_len_ = len;
    return 0;
  }
  // Dropping the wave renames every index the emitter holds one wave back: the waves it looks back at must
  // be explicit and identical.
  if (open_ < 0 && run_ < lookback(cur_begin_, len) + 1) {
    ++run_;
    prev_begin_ = cur_begin_;
    return 0;
  }
  if (open_ < 0) {
    prog_.repeats.push_back({loop_begin_, prev_begin_, len, 0});
    open_ = int(prog_.repeats.size()) - 1;
  }
  ++prog_.repeats[size_t(open_)].times;
  prog_.instrs.resize(size_t(cur_begin_));
  return len;
}

}  // namespace wafer::npu
