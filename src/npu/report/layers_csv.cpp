// layers.csv: the per-layer table for spreadsheets; units in the header.
#include <sstream>

#include "npu/report/report.h"

namespace wafer::report {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

uint64_t level(const npu::LayerStats& l, npu::MemLevel m) {
  auto it = l.bytes.find(m);
  return it == l.bytes.end() ? 0 : it->second;
}

}  // namespace

std::string layers_csv(const npu::SimResult& r) {
  std::ostringstream out;
  out.precision(17);
  out << "index,name,op_type,unit,macs,vector_elements,start_cycle,end_cycle,cycles,matrix_utilization_pct,"
         "vector_utilization_pct,offchip_bytes,global_bytes,scratchpad_bytes,accumulator_bytes,noc_bytes,"
         "noc_byte_hops,bound,energy_j\n";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    uint64_t span = l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
    out << i << "," << csv_field(l.name) << "," << csv_field(l.op_type) << "," << csv_field(l.unit) << "," << l.macs
        << "," << l.vector_elements << "," << l.start_cycle << "," << l.end_cycle << "," << span << ","
        << 100 * l.matrix_utilization << "," << 100 * l.vector_utilization << "," << level(l, npu::MemLevel::OffChip)
        << "," << level(l, npu::MemLevel::GlobalBuffer) << "," << level(l, npu::MemLevel::Scratchpad) << ","
        << level(l, npu::MemLevel::Accumulator) << "," << l.noc_bytes << "," << l.noc_byte_hops << ","
        << csv_field(l.bound) << "," << l.energy_j << "\n";
  }
  return out.str();
}

}  // namespace wafer::report
