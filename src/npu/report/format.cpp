// Shared formatting for the reports: numbers with their units, file output.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "npu/report/report.h"

namespace wafer::report {

namespace {
std::string printf_string(const char* fmt, double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v, unit);
  return buf;
}
}  // namespace

std::string format_number(double v, const char* fmt) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string aligned_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto is_message = [&](const std::vector<std::string>& cells, size_t c) {
    return cells.size() < header.size() && c + 1 == cells.size();
  };
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c)
      if (!is_message(row, c)) width[c] = std::max(width[c], row[c].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string& s = cells[c];
      text += "  ";
      if (c < width.size() && !is_message(cells, c) && s.size() < width[c])
        text += std::string(width[c] - s.size(), ' ');
      text += s;
    }
    out += text.substr(0, text.find_last_not_of(' ') + 1) + "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(bytes) >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return printf_string(u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
}

std::string format_seconds(double s) {
  double a = std::fabs(s);
  if (a == 0) return "0 s";
  if (a < 1e-6) return printf_string("%.2f %s", s * 1e9, "ns");
  if (a < 1e-3) return printf_string("%.2f %s", s * 1e6, "us");
  if (a < 1) return printf_string("%.3f %s", s * 1e3, "ms");
  return printf_string("%.3f %s", s, "s");
}

std::string format_joules(double j) {
  double a = std::fabs(j);
  if (a == 0) return "0 J";
  if (a < 1e-6) return printf_string("%.2f %s", j * 1e9, "nJ");
  if (a < 1e-3) return printf_string("%.2f %s", j * 1e6, "uJ");
  if (a < 1) return printf_string("%.3f %s", j * 1e3, "mJ");
  return printf_string("%.3f %s", j, "J");
}

std::string level_key(npu::MemLevel m) {
  switch (m) {
    case npu::MemLevel::OffChip:
      return "offchip";
    case npu::MemLevel::GlobalBuffer:
      return "global";
    case npu::MemLevel::Scratchpad:
      return "scratchpad";
    case npu::MemLevel::Accumulator:
      return "accumulator";
  }
  return "?";
}

void write_text_file(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  check(!ec, "cannot create folder ", p.parent_path().string(), ": ", ec.message());
  std::ofstream out(path, std::ios::binary);
  check(bool(out), "cannot write ", path);
  out << text;
  out.close();
  check(bool(out), "error writing ", path);
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

}  // namespace wafer::report
