// report.html: one self-contained page (no scripts, no external files) with
// the summary, a roofline plot as inline SVG and the per-layer table.
//
// Roofline: x = arithmetic intensity in MACs per off-chip byte, y = achieved
// MAC/s (the layer's MACs over its span), both log10; the roof is
// min(peak MAC/s, off-chip B/s x intensity). One dot per layer that does MACs
// and takes time; a layer with no off-chip traffic sits on the right edge.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "npu/report/report.h"

namespace wafer::report {

namespace {

std::string esc(const std::string& s) {
  return html_escape(s);
}

std::string num(double v, const char* fmt = "%.4g") {
  return format_number(v, fmt);
}

uint64_t level(const npu::LayerStats& l, npu::MemLevel m) {
  auto it = l.bytes.find(m);
  return it == l.bytes.end() ? 0 : it->second;
}

struct Dot {
  std::string name;
  double intensity;  // MAC per off-chip byte; +inf without off-chip traffic
  double macs_per_s;
  std::string bound;
};

std::string roofline_svg(const npu::SimResult& r) {
  std::vector<Dot> dots;
  for (const auto& l : r.layers) {
    uint64_t span = l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
    if (l.macs <= 0 || span == 0 || r.clock_hz <= 0) continue;
    uint64_t off = level(l, npu::MemLevel::OffChip);
    double intensity = off ? double(l.macs) / double(off) : INFINITY;
    dots.push_back({l.name, intensity, double(l.macs) * r.clock_hz / double(span), l.bound});
  }
  const double peak = r.peak_macs_per_s, bw = r.offchip_bytes_per_s;
  const double ridge = peak > 0 && bw > 0 ? peak / bw : 1.0;
  double xlo = ridge, xhi = ridge, ylo = peak > 0 ? peak : 1.0, yhi = ylo;
  for (const auto& d : dots) {
    if (std::isfinite(d.intensity)) {
      xlo = std::min(xlo, d.intensity);
      xhi = std::max(xhi, d.intensity);
    }
    ylo = std::min(ylo, d.macs_per_s);
    yhi = std::max(yhi, d.macs_per_s);
  }
  const double lx0 = std::floor(std::log10(xlo)) - 1, lx1 = std::ceil(std::log10(xhi)) + 1;
  const double ly0 = std::floor(std::log10(ylo)) - 1, ly1 = std::ceil(std::log10(yhi)) + 1;
  const double W = 760, H = 460, L = 80, R = 20, T = 20, B = 60;
  auto px = [&](double x) { return L + (std::log10(x) - lx0) / (lx1 - lx0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (std::log10(y) - ly0) / (ly1 - ly0) * (H - T - B); };

  std::ostringstream s;
  s << "<svg id=\"roofline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  for (int e = int(lx0); e <= int(lx1); ++e) {
    double x = px(std::pow(10.0, e));
    s << "<line x1=\"" << num(x) << "\" y1=\"" << T << "\" x2=\"" << num(x) << "\" y2=\"" << H - B
      << "\" stroke=\"#e4e4e4\"/><text x=\"" << num(x) << "\" y=\"" << H - B + 15 << "\" text-anchor=\"middle\">1e" << e
      << "</text>\n";
  }
  for (int e = int(ly0); e <= int(ly1); ++e) {
    double y = py(std::pow(10.0, e));
    s << "<line x1=\"" << L << "\" y1=\"" << num(y) << "\" x2=\"" << W - R << "\" y2=\"" << num(y)
      << "\" stroke=\"#e4e4e4\"/><text x=\"" << L - 5 << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">1e" << e
      << "</text>\n";
  }
  s << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 20
    << "\" text-anchor=\"middle\">arithmetic intensity (MAC per off-chip byte, log)</text>\n";
  s << "<text transform=\"translate(18," << (T + H - B) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">achieved MAC/s (log)</text>\n";
  if (peak > 0) {
    // The roof: bandwidth slope up to the ridge point, then flat at peak.
    double x0 = std::pow(10.0, lx0), x1 = std::pow(10.0, lx1);
    std::ostringstream pts;
    if (bw > 0) {
      double xs = std::max(x0, std::pow(10.0, ly0) / bw);
      pts << num(px(xs)) << "," << num(py(std::min(peak, bw * xs))) << " ";
      if (ridge > xs && ridge < x1) pts << num(px(ridge)) << "," << num(py(peak)) << " ";
    } else {
      pts << num(px(x0)) << "," << num(py(peak)) << " ";
    }
    pts << num(px(x1)) << "," << num(py(peak));
    s << "<polyline class=\"roof\" points=\"" << pts.str()
      << "\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\"/>\n";
    s << "<text x=\"" << W - R - 5 << "\" y=\"" << num(py(peak) - 5) << "\" text-anchor=\"end\" fill=\"#c0392b\">peak "
      << num(peak / 1e12) << " TMAC/s; off-chip " << num(bw / 1e9) << " GB/s; ridge " << num(ridge)
      << " MAC/B</text>\n";
  }
  for (const auto& d : dots) {
    double x = std::isfinite(d.intensity) ? px(d.intensity) : W - R - 4;
    const char* color = d.bound == "compute" ? "#2471a3" : d.bound == "memory" ? "#d68910" : "#7d3c98";
    s << "<circle class=\"layer\" cx=\"" << num(x) << "\" cy=\"" << num(py(d.macs_per_s)) << "\" r=\"4\" fill=\""
      << color << "\" fill-opacity=\"0.75\"><title>" << esc(d.name) << ": "
      << (std::isfinite(d.intensity) ? num(d.intensity) + " MAC/B" : std::string("no off-chip traffic")) << ", "
      << num(d.macs_per_s / 1e12) << " TMAC/s, " << esc(d.bound) << "-bound</title></circle>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace

std::string html_report(const npu::SimResult& r) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wafer sim: " << esc(r.model) << " on "
    << esc(r.hw_name) << "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}"
    << "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
    << "td.n{text-align:right}th{background:#eee}</style></head><body>\n";
  h << "<h1>" << esc(r.model) << " on " << esc(r.hw_name) << "</h1>\n<table class=\"summary\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h << "<tr><th>" << k << "</th><td class=\"n\">" << v << "</td></tr>\n";
  };
  row("precision, batch", std::string(dtype_name(r.precision)) + ", " + std::to_string(r.batch));
  row("latency", num(r.latency_s * 1e3, "%.4f") + " ms (" + std::to_string(r.cycles) + " cycles at " +
                     num(r.clock_hz / 1e6, "%.0f") + " MHz)");
  row("throughput", num(r.throughput_samples_per_s, "%.1f") + " samples/s");
  row("energy", num(r.energy_j * 1e3, "%.4f") + " mJ (" + num(r.batch > 0 ? r.energy_j * 1e3 / r.batch : 0, "%.4f") +
                    " mJ/sample)");
  for (const auto& [k, j] : r.energy_breakdown_j) row("&nbsp;&nbsp;energy: " + esc(k), num(j * 1e3, "%.4f") + " mJ");
  row("area", num(r.area_mm2, "%.2f") + " mm&sup2;");
  row("MACs", std::to_string(r.macs));
  row("off-chip traffic", format_bytes(double(r.offchip_bytes)));
  row("on-chip traffic", format_bytes(double(r.onchip_bytes)));
  row("peak", num(r.peak_macs_per_s / 1e12) + " TMAC/s");
  row("off-chip bandwidth", num(r.offchip_bytes_per_s / 1e9) + " GB/s");
  h << "</table>\n<h2>Roofline</h2>\n<p>One dot per layer with MACs: blue compute-bound, orange memory-bound, "
       "purple other. Hover for details.</p>\n";
  h << roofline_svg(r);
  h << "<h2>Layers</h2>\n<table class=\"layers\">\n<tr><th>#</th><th>layer</th><th>op</th><th>unit</th>"
       "<th>cycles</th><th>% total</th><th>MACs</th><th>matrix util %</th><th>vector util %</th>"
       "<th>off-chip B</th><th>global buffer B</th><th>scratchpad B</th><th>energy (uJ)</th><th>bound</th></tr>\n";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    uint64_t span = l.end_cycle > l.start_cycle ? l.end_cycle - l.start_cycle : 0;
    h << "<tr><td class=\"n\">" << i << "</td><td>" << esc(l.name) << "</td><td>" << esc(l.op_type) << "</td><td>"
      << esc(l.unit) << "</td><td class=\"n\">" << span << "</td><td class=\"n\">"
      << num(r.cycles ? 100.0 * double(span) / double(r.cycles) : 0, "%.1f") << "</td><td class=\"n\">" << l.macs
      << "</td><td class=\"n\">" << num(100 * l.matrix_utilization, "%.1f") << "</td><td class=\"n\">"
      << num(100 * l.vector_utilization, "%.1f") << "</td><td class=\"n\">" << level(l, npu::MemLevel::OffChip)
      << "</td><td class=\"n\">" << level(l, npu::MemLevel::GlobalBuffer) << "</td><td class=\"n\">"
      << level(l, npu::MemLevel::Scratchpad) + level(l, npu::MemLevel::Accumulator) << "</td><td class=\"n\">"
      << num(l.energy_j * 1e6, "%.3f") << "</td><td>" << esc(l.bound) << "</td></tr>\n";
  }
  h << "</table>\n</body></html>\n";
  return h.str();
}

}  // namespace wafer::report
