// sweep.html: the sweep's designs over two chosen metrics with their Pareto front (the 2-D front of
// those metrics, which may hold designs the table's 3-D front does not and miss some it does).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "npu/report/report.h"
#include "npu/report/sweep_report.h"

namespace wafer::report {

namespace {

struct Metric {
  const char* name;
  const char* label;  // with its unit
  double scale;       // from the SweepPoint's SI value to the unit shown
  bool maximise;
  double (*get)(const npu::SweepPoint&);
};

const Metric kMetrics[] = {
    {"latency", "latency (ms)", 1e3, false, [](const npu::SweepPoint& p) { return p.latency_s; }},
    {"throughput", "throughput (samples/s)", 1, true,
     [](const npu::SweepPoint& p) { return p.throughput_samples_per_s; }},
    {"energy", "energy (mJ)", 1e3, false, [](const npu::SweepPoint& p) { return p.energy_j; }},
    {"area", "area (mm2)", 1, false, [](const npu::SweepPoint& p) { return p.area_mm2; }},
    {"cycles", "cycles", 1, false, [](const npu::SweepPoint& p) { return double(p.cycles); }},
};

std::string metric_names() {
  std::string s;
  for (const auto& m : kMetrics) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

const Metric& metric(const std::string& name) {
  for (const auto& m : kMetrics)
    if (name == m.name) return m;
  fail("--pareto: unknown metric '", name, "' (one of ", metric_names(), ")");
}

std::string num(double v, const char* fmt = "%.6g") {
  return format_number(v, fmt);
}

// One plot axis: log10 when the values span more than a decade (array sizes usually do), else linear.
struct Scale {
  double lo, hi;
  bool log;
  double pos(double v) const {
    double t = log ? (std::log10(v) - lo) / (hi - lo) : (v - lo) / (hi - lo);
    return std::clamp(t, 0.0, 1.0);
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (log) {
      for (int e = int(std::ceil(lo)); e <= int(std::floor(hi)); ++e) t.push_back(std::pow(10.0, e));
    } else {
      // Round steps (1, 2 or 5 times a power of ten), about five of them.
      double step = std::pow(10.0, std::floor(std::log10((hi - lo) / 5)));
      for (double m : {2.0, 5.0, 10.0})
        if ((hi - lo) / step > 8) step = std::pow(10.0, std::floor(std::log10((hi - lo) / 5))) * m;
      for (double v = std::ceil(lo / step) * step; v <= hi; v += step) t.push_back(std::fabs(v) < step / 2 ? 0 : v);
    }
    return t;
  }
};

Scale scale_for(const std::vector<double>& values) {
  double lo = *std::min_element(values.begin(), values.end()), hi = *std::max_element(values.begin(), values.end());
  if (lo > 0 && hi / lo > 10) return {std::floor(std::log10(lo)), std::ceil(std::log10(hi)), true};
  double pad = hi > lo ? (hi - lo) * 0.08 : (lo != 0 ? std::fabs(lo) * 0.1 : 1.0);
  return {lo - pad, hi + pad, false};
}

// Recomputes the front in the browser from the plotted numbers (data-x, data-y) and says whether
// it agrees with data-pareto; hovering a design shows its numbers in the panel beside the plot.
const char* kScript = R"JS(
(function () {
  var plot = document.getElementById('pareto-plot');
  var maxX = plot.dataset.maxX === '1', maxY = plot.dataset.maxY === '1';
  var dots = Array.prototype.slice.call(plot.querySelectorAll('circle.design'));
  var pts = dots.map(function (d) {
    var x = parseFloat(d.dataset.x), y = parseFloat(d.dataset.y);
    return { i: d.dataset.index, x: maxX ? -x : x, y: maxY ? -y : y, cpp: d.dataset.pareto === '1' };
  });
  var front = pts.filter(function (p) {
    return !pts.some(function (q) { return q.x <= p.x && q.y <= p.y && (q.x < p.x || q.y < p.y); });
  });
  var ids = front.map(function (p) { return p.i; });
  var agrees = pts.every(function (p) { return p.cpp === (ids.indexOf(p.i) >= 0); });
  var check = document.getElementById('front-check');
  check.dataset.front = ids.join(',');
  check.dataset.agrees = agrees ? 'true' : 'false';
  check.textContent = 'Pareto front recomputed in the browser: ' + ids.length + ' design(s), ' +
      (agrees ? 'the same as wafer computed.' : 'DIFFERENT from what wafer computed.');
  var panel = document.getElementById('hover');
  dots.forEach(function (d) {
    d.addEventListener('mouseenter', function () {
      d.setAttribute('r', 7);
      panel.textContent = d.querySelector('title').textContent;
    });
    d.addEventListener('mouseleave', function () { d.setAttribute('r', 5); });
  });
})();
)JS";

}  // namespace

SweepPlotAxes parse_sweep_plot_axes(const std::string& spec) {
  SweepPlotAxes axes;
  bool x = false, y = false;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string part = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    auto eq = part.find('=');
    check(eq != std::string::npos, "--pareto '", spec, "': expected x=METRIC,y=METRIC (metrics: ", metric_names(), ")");
    std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    metric(value);  // throws for an unknown one
    if (key == "x") {
      axes.x = value;
      x = true;
    } else if (key == "y") {
      axes.y = value;
      y = true;
    } else {
      fail("--pareto '", spec, "': '", key, "' is not an axis (x or y)");
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  check(x && y, "--pareto '", spec, "': give both axes, x=METRIC,y=METRIC");
  check(axes.x != axes.y, "--pareto '", spec, "': x and y are the same metric");
  return axes;
}

std::string sweep_html(const std::string& title, const std::vector<npu::SweepAxis>& axes,
                       const std::vector<npu::SweepPoint>& points, const SweepPlotAxes& plot) {
  const Metric& mx = metric(plot.x);
  const Metric& my = metric(plot.y);
  std::vector<size_t> shown;  // valid designs with finite numbers on both axes
  std::vector<double> xs, ys;
  std::vector<std::vector<double>> objectives;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!points[i].ok) continue;
    double x = mx.get(points[i]) * mx.scale, y = my.get(points[i]) * my.scale;
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    shown.push_back(i);
    xs.push_back(x);
    ys.push_back(y);
    objectives.push_back({mx.maximise ? -x : x, my.maximise ? -y : y});
  }
  const std::vector<bool> front = pareto_front(objectives);

  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << html_escape(title)
    << "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}"
    << "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
    << "td.n{text-align:right}th{background:#eee}circle.design{cursor:pointer}"
    << "#hover{white-space:pre;font-size:12px;min-height:8em;border:1px solid #ccc;padding:4px;width:40em}"
    << "</style></head><body>\n<h1>" << html_escape(title) << "</h1>\n";
  size_t valid = std::count_if(points.begin(), points.end(), [](const auto& p) { return p.ok; });
  size_t on_front = std::count(front.begin(), front.end(), true);
  h << "<p>" << points.size() << " design(s), " << valid << " valid; " << on_front << " on the Pareto front of "
    << mx.label << (mx.maximise ? " (higher is better)" : "") << " against " << my.label
    << (my.maximise ? " (higher is better)" : "") << ". Hover a design for all its numbers.</p>\n";

  const double W = 760, H = 480, L = 90, R = 20, T = 20, B = 60;
  h << "<svg id=\"pareto-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"11\" data-x-metric=\""
    << mx.name << "\" data-y-metric=\"" << my.name << "\" data-max-x=\"" << mx.maximise << "\" data-max-y=\""
    << my.maximise << "\">\n";
  h << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  h << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 15 << "\" text-anchor=\"middle\">" << mx.label
    << "</text>\n<text transform=\"translate(18," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << my.label << "</text>\n";
  if (!shown.empty()) {
    const Scale sx = scale_for(xs), sy = scale_for(ys);
    auto px = [&](double v) { return L + sx.pos(v) * (W - L - R); };
    auto py = [&](double v) { return H - B - sy.pos(v) * (H - T - B); };
    for (double t : sx.ticks())
      h << "<line x1=\"" << num(px(t)) << "\" y1=\"" << T << "\" x2=\"" << num(px(t)) << "\" y2=\"" << H - B
        << "\" stroke=\"#e4e4e4\"/><text x=\"" << num(px(t)) << "\" y=\"" << H - B + 15 << "\" text-anchor=\"middle\">"
        << num(t, "%.6g") << "</text>\n";
    for (double t : sy.ticks())
      h << "<line x1=\"" << L << "\" y1=\"" << num(py(t)) << "\" x2=\"" << W - R << "\" y2=\"" << num(py(t))
        << "\" stroke=\"#e4e4e4\"/><text x=\"" << L - 5 << "\" y=\"" << num(py(t) + 4) << "\" text-anchor=\"end\">"
        << num(t, "%.6g") << "</text>\n";
    // The front as a staircase-free line through its designs in x order.
    std::vector<size_t> order;
    for (size_t k = 0; k < shown.size(); ++k)
      if (front[k]) order.push_back(k);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return xs[a] < xs[b] || (xs[a] == xs[b] && ys[a] < ys[b]); });
    h << "<polyline class=\"front\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"";
    for (size_t k : order) h << num(px(xs[k])) << "," << num(py(ys[k])) << " ";
    h << "\"/>\n";
    for (size_t k = 0; k < shown.size(); ++k) {
      const auto& p = points[shown[k]];
      std::ostringstream tip;
      tip << "design #" << shown[k] + 1 << (front[k] ? " (on the Pareto front)" : "") << "\n";
      for (const auto& [field, value] : p.values) tip << field << " = " << value << "\n";
      tip << "hw: " << p.hw_name << "\nlatency: " << num(p.latency_s * 1e3)
          << " ms\nthroughput: " << num(p.throughput_samples_per_s) << " samples/s\nenergy: " << num(p.energy_j * 1e3)
          << " mJ\narea: " << num(p.area_mm2) << " mm2\ncycles: " << p.cycles;
      // data-x/-y carry the exact numbers (17 digits) the browser's check compares.
      h << "<circle class=\"design\" data-index=\"" << shown[k] + 1 << "\" data-x=\"" << num(xs[k], "%.17g")
        << "\" data-y=\"" << num(ys[k], "%.17g") << "\" data-pareto=\"" << (front[k] ? 1 : 0) << "\" cx=\""
        << num(px(xs[k])) << "\" cy=\"" << num(py(ys[k])) << "\" r=\"5\" fill=\"" << (front[k] ? "#c0392b" : "#2471a3")
        << "\" fill-opacity=\"0.8\"><title>" << html_escape(tip.str()) << "</title></circle>\n";
    }
  }
  h << "</svg>\n<div id=\"hover\">(hover a design)</div>\n<p id=\"front-check\">(the check needs JavaScript)</p>\n";

  h << "<h2>Designs</h2>\n<table class=\"designs\">\n<tr><th>#</th>";
  for (const auto& a : axes) h << "<th>" << html_escape(a.field) << "</th>";
  h << "<th>latency (ms)</th><th>throughput (samples/s)</th><th>energy (mJ)</th><th>area (mm2)</th>"
       "<th>Pareto (latency, energy, area)</th></tr>\n";
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    h << "<tr><td class=\"n\">" << i + 1 << "</td>";
    for (const auto& [_, v] : p.values) h << "<td>" << html_escape(v) << "</td>";
    if (p.ok)
      h << "<td class=\"n\">" << num(p.latency_s * 1e3, "%.4f") << "</td><td class=\"n\">"
        << num(p.throughput_samples_per_s, "%.1f") << "</td><td class=\"n\">" << num(p.energy_j * 1e3, "%.4f")
        << "</td><td class=\"n\">" << num(p.area_mm2, "%.2f") << "</td><td>" << (p.pareto ? "*" : "") << "</td>";
    else
      h << "<td colspan=\"5\">invalid: " << html_escape(p.error) << "</td>";
    h << "</tr>\n";
  }
  h << "</table>\n<script>" << kScript << "</script>\n</body></html>\n";
  return h.str();
}

}  // namespace wafer::report
