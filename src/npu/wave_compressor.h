// Folds runs of identical waves of a layer's tile loop into Program::repeats, so a timing program's size
// (and the simulator's cost) depends on the layers and their distinct tile shapes, not on the batch.
#pragma once

#include <vector>

#include "npu/program.h"

namespace wafer::npu {

class WaveCompressor {
 public:
  // The loop's instructions start at the program's current end; `enabled` false keeps every wave
  // (programs for the functional executor).
  WaveCompressor(Program& prog, bool enabled);

  void begin_wave();
  // After a wave is emitted: when it repeats the wave before it exactly (same instructions, dependencies at
  // the same offsets) and enough identical waves precede it for everything it looks back at, it is dropped
  // from the program and counted in a Repeat. Returns the number of instructions dropped (0: kept); the
  // caller then moves every index it holds into the loop back by that much (shift()).
  int end_wave();
  // An index the emitter keeps (a buffer's last reader, a stored tile), after a dropped wave.
  int shift(int index, int dropped) const { return index >= loop_begin_ ? index - dropped : index; }

 private:
  bool same(int a, int b, int len) const;
  int lookback(int begin, int len) const;  // waves back the wave's dependencies reach

  Program& prog_;
  bool enabled_;
  int loop_begin_;
  int cur_begin_ = -1;
  int prev_begin_ = -1, prev_len_ = 0;
  int run_ = 0;    // consecutive identical explicit waves ending at the previous one
  int open_ = -1;  // the Repeat being extended, or -1
};

}  // namespace wafer::npu
