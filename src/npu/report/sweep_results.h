// The append-only results file of a sweep (JSON Lines): what `--resume`, `--shard` and
// `wafer sweep-merge` read and write, and the form a design point travels in between MPI ranks.
//
// Line 1, the header: {"wafer_sweep_results":1,"sweep":FINGERPRINT,"model":...,"hw":...,"batch":B,
//                      "axes":[{"field":F,"values":[...]}...],"points":TOTAL}
// Then one line per completed design point, flushed as it completes, in completion order:
//   {"sweep":FINGERPRINT,"index":I,"values":[v per axis],"valid":true,"hw":...,"cycles":...,...}
// Every line carries the sweep's fingerprint (a hash of its arguments), so results of another
// sweep are refused line by line, whichever file they sit in. Doubles are written in the shortest
// form that reads back to the same bits, so a merged sweep prints exactly what the serial one does.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "npu/sweep.h"

namespace wafer::report {

struct SweepResultsHeader {
  std::string fingerprint;  // of the sweep's arguments (api::sweep_fingerprint)
  std::string model, hw;    // the table's title: "sweep of MODEL over HW (batch B)"
  int batch = 1;
  std::vector<npu::SweepAxis> axes;
  size_t total = 0;  // points in the grid
};

std::string sweep_results_header_line(const SweepResultsHeader& header);
// One point as a line (no newline). The point's values must be in the header's axis order.
std::string sweep_point_line(const std::string& fingerprint, size_t index, const npu::SweepPoint& point);
// Reads a point line back (index and point, pareto false); throws naming `where` if it is malformed,
// belongs to another sweep or does not match the grid point of its index.
std::pair<size_t, npu::SweepPoint> parse_sweep_point_line(const std::string& line, const SweepResultsHeader& header,
                                                          const std::string& where);

struct SweepResults {
  std::optional<SweepResultsHeader> header;  // none: empty, or killed before its first line was complete
  std::map<size_t, npu::SweepPoint> points;  // by grid index
  size_t complete_bytes = 0;                 // up to the end of the last complete line
};

// Parses the text of a results file named `name`. A last line without its newline is what a killed
// writer leaves: it is ignored. Any other malformed line is an error naming the file and line.
SweepResults parse_sweep_results(const std::string& text, const std::string& name);
// The same for a file on disk; a missing file reads as empty.
SweepResults read_sweep_results(const std::string& path);

// Appends point lines to a results file, each written and flushed as it completes.
class SweepResultsWriter {
 public:
  // Starts `path` afresh with the header, or, with resume, keeps the complete lines of an existing
  // file of the same sweep (an incomplete last line is cut off) and appends after them. `existing`
  // is what the file held (read_sweep_results), checked against `header` (throws naming the file
  // when it is another sweep's).
  SweepResultsWriter(const std::string& path, const SweepResultsHeader& header, const SweepResults* existing);
  ~SweepResultsWriter();
  SweepResultsWriter(const SweepResultsWriter&) = delete;
  SweepResultsWriter& operator=(const SweepResultsWriter&) = delete;

  void append(size_t index, const npu::SweepPoint& point);  // not thread-safe: callers serialise

 private:
  std::string path_, fingerprint_;
  std::FILE* file_ = nullptr;
};

// Checks that a results file belongs to the sweep described by `expected` (same fingerprint).
void check_same_sweep(const SweepResultsHeader& found, const SweepResultsHeader& expected, const std::string& name);

}  // namespace wafer::report
