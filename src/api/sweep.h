// Sweeping a model over a grid of hardware designs: what `wafer sweep` and wafer.sweep do.
#pragma once

#include <string>
#include <vector>

#include "api/simulate.h"
#include "npu/sweep.h"

namespace wafer::api {

struct SweepOptions {
  NpuModelArgs m;
  HardwareSource hw;              // the base design
  std::vector<std::string> sets;  // FIELD=v1,v2,... one axis each (cartesian product)
};

struct SweepRun {
  std::vector<npu::SweepAxis> axes;
  std::vector<npu::SweepPoint> points;
};

// The model is optimized once and lowered for every design; an invalid point is a result, not an error.
SweepRun sweep(const SweepOptions& options, const npu::SweepProgress& progress = {});

}  // namespace wafer::api
