#include "api/llm_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/error.h"
#include "npu/report/report.h"

namespace wafer::api {

std::vector<LlmCurvePoint> llm_latency_throughput(const LlmSimOptions& options, int64_t max_batch) {
  std::vector<int64_t> batches;
  for (int64_t b = 1; b < max_batch; b *= 2) batches.push_back(b);
  if (max_batch >= 1) batches.push_back(max_batch);
  std::vector<LlmCurvePoint> curve;
  for (int64_t b : batches) {
    LlmSimOptions o = options;
    o.batch = b;
    LlmSimReport r;
    try {
      r = simulate_llm(o);
    } catch (const Error& e) {
      if (std::string(e.what()).find("does not fit") == std::string::npos) throw;
      break;  // the capacity limit ends the curve
    }
    curve.push_back({b, r.ttft_s, r.tpot_s, r.decode_tokens_per_s, r.tokens_per_s, r.tokens_per_s_per_user});
  }
  return curve;
}

nlohmann::json llm_curve_json(const std::vector<LlmCurvePoint>& curve) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : curve)
    j.push_back({{"batch", p.batch},
                 {"ttft_s", p.ttft_s},
                 {"tpot_s", p.tpot_s},
                 {"decode_tokens_per_s", p.decode_tokens_per_s},
                 {"tokens_per_s", p.tokens_per_s},
                 {"tokens_per_s_per_user", p.tokens_per_s_per_user}});
  return j;
}

namespace {

std::string num(double v, const char* fmt = "%.4g") {
  return report::format_number(v, fmt);
}

std::string esc(const std::string& s) {
  return report::html_escape(s);
}

// A tick step of 1, 2 or 5 x 10^k giving about 5 ticks up to `hi`.
double tick_step(double hi) {
  double raw = hi / 5, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

// TPOT (y) against decode tokens/s (x), one labelled dot per batch size, joined in batch order.
std::string curve_svg(const std::vector<LlmCurvePoint>& curve) {
  double xmax = 0, ymax = 0;
  for (const auto& p : curve) {
    xmax = std::max(xmax, p.decode_tokens_per_s);
    ymax = std::max(ymax, p.tpot_s * 1e3);
  }
  const double xs = tick_step(xmax), ys = tick_step(ymax);
  xmax = std::ceil(xmax / xs) * xs;
  ymax = std::ceil(ymax / ys) * ys;
  const double W = 760, H = 420, L = 70, R = 30, T = 20, B = 55;
  auto px = [&](double x) { return L + x / xmax * (W - L - R); };
  auto py = [&](double y) { return H - B - y / ymax * (H - T - B); };
  std::ostringstream s;
  s << "<svg id=\"latency-throughput\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  for (double x = 0; x <= xmax + xs / 2; x += xs)
    s << "<line x1=\"" << num(px(x)) << "\" y1=\"" << T << "\" x2=\"" << num(px(x)) << "\" y2=\"" << H - B
      << "\" stroke=\"#e4e4e4\"/><text x=\"" << num(px(x)) << "\" y=\"" << H - B + 15 << "\" text-anchor=\"middle\">"
      << num(x) << "</text>\n";
  for (double y = 0; y <= ymax + ys / 2; y += ys)
    s << "<line x1=\"" << L << "\" y1=\"" << num(py(y)) << "\" x2=\"" << W - R << "\" y2=\"" << num(py(y))
      << "\" stroke=\"#e4e4e4\"/><text x=\"" << L - 5 << "\" y=\"" << num(py(y) + 4) << "\" text-anchor=\"end\">"
      << num(y) << "</text>\n";
  s << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 15
    << "\" text-anchor=\"middle\">decode throughput (tokens/s, all users)</text>\n";
  s << "<text transform=\"translate(18," << (T + H - B) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">TPOT (ms per output token)</text>\n";
  std::ostringstream line;
  for (const auto& p : curve) line << num(px(p.decode_tokens_per_s)) << "," << num(py(p.tpot_s * 1e3)) << " ";
  s << "<polyline points=\"" << line.str() << "\" fill=\"none\" stroke=\"#2471a3\" stroke-width=\"1.5\"/>\n";
  for (const auto& p : curve) {
    const double x = px(p.decode_tokens_per_s), y = py(p.tpot_s * 1e3);
    s << "<circle class=\"point\" cx=\"" << num(x) << "\" cy=\"" << num(y)
      << "\" r=\"4\" fill=\"#2471a3\"><title>batch " << p.batch << ": TPOT " << num(p.tpot_s * 1e3) << " ms, "
      << num(p.decode_tokens_per_s) << " tokens/s, TTFT " << num(p.ttft_s * 1e3) << " ms</title></circle><text x=\""
      << num(x + 6) << "\" y=\"" << num(y - 6) << "\">b" << p.batch << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

// Share of a phase's simulated cycles by op type (the layers of the programs simulated for it).
std::vector<std::pair<std::string, double>> time_by_op(const npu::SimResult& sim) {
  std::map<std::string, double> cycles;
  double total = 0;
  for (const auto& l : sim.layers) {
    double span = l.end_cycle > l.start_cycle ? double(l.end_cycle - l.start_cycle) : 0;
    cycles[l.op_type] += span;
    total += span;
  }
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [op, c] : cycles)
    if (c > 0) out.emplace_back(op, c / total);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace

std::string llm_sim_html(const LlmSimReport& r, const std::vector<LlmCurvePoint>& curve) {
  std::ostringstream h;
  const std::string title = r.model + " on " + (r.system_name.empty() ? r.hw_name : r.system_name);
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wafer sim: " << esc(title)
    << "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}"
    << "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px}"
    << "td.n{text-align:right}th{background:#eee}</style></head><body>\n";
  h << "<h1>" << esc(title) << "</h1>\n<table class=\"summary\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h << "<tr><th>" << k << "</th><td class=\"n\">" << v << "</td></tr>\n";
  };
  row("precision, batch", std::string(dtype_name(r.precision)) + ", " + std::to_string(r.batch));
  row("prompt, generated tokens", std::to_string(r.prompt_len) + ", " + std::to_string(r.gen_len));
  row("parameters, layers", num(double(r.parameters) / 1e9) + " B, " + std::to_string(r.layers));
  if (r.tp > 1) row("tensor parallel", std::to_string(r.tp) + " chips (" + esc(r.collective) + " all-reduce)");
  if (r.pp > 1)
    row("pipeline parallel", std::to_string(r.pp) + " stages, " + std::to_string(r.micro_batches) +
                                 " prefill micro-batches (bubble " + num(100 * r.pipeline_bubble) + " %)");
  if (r.dp > 1 || r.ep > 1)
    row("replicas (dp x ep)", std::to_string(r.dp) + " x " + std::to_string(r.ep) +
                                  (r.ep > 1 ? " (experts over " + std::to_string(r.ep) + " chips)" : ""));
  if (r.chips > 1) row("communication", num(100 * r.comm_fraction) + " % of the request");
  row("TTFT", num(r.ttft_s * 1e3) + " ms");
  row("TPOT", num(r.tpot_s * 1e3) + " ms (decode floor " + num(r.bandwidth_floor_s * 1e3) + " ms)");
  row("tokens/s", num(r.tokens_per_s_per_user) + " per user, " + num(r.decode_tokens_per_s) + " in decode, " +
                      num(r.tokens_per_s) + " over the request");
  row("energy per generated token", num(r.energy_per_token_j * 1e3) + " mJ");
  h << "</table>\n<h2>Phases</h2>\n<table class=\"phases\">\n<tr><th>phase</th><th>time (ms)</th>"
       "<th>communication (ms)</th><th>matrix utilization %</th><th>MACs</th><th>off-chip traffic</th>"
       "<th>energy (mJ)</th><th>energy per token (mJ)</th><th>programs simulated</th></tr>\n";
  auto phase = [&](const char* name, const LlmPhase& p, double util, double per_token_j) {
    h << "<tr><td>" << name << "</td><td class=\"n\">" << num(p.sim.latency_s * 1e3) << "</td><td class=\"n\">"
      << num(p.comm_s * 1e3) << "</td><td class=\"n\">" << num(100 * util, "%.2f") << "</td><td class=\"n\">"
      << p.sim.macs << "</td><td class=\"n\">" << report::format_bytes(double(p.sim.offchip_bytes))
      << "</td><td class=\"n\">" << num(p.sim.energy_j * 1e3) << "</td><td class=\"n\">" << num(per_token_j * 1e3)
      << "</td><td class=\"n\">" << p.segments << "</td></tr>\n";
  };
  phase("prefill", r.prefill, r.prefill_utilization, r.prefill_energy_per_token_j);
  phase("decode (one step)", r.decode, r.decode_utilization, r.decode_energy_per_token_j);
  h << "</table>\n<h3>Where each phase's time goes, by op type</h3>\n<table class=\"ops\">\n"
       "<tr><th>op type</th><th>prefill %</th><th>decode %</th></tr>\n";
  auto pre = time_by_op(r.prefill.sim), dec = time_by_op(r.decode.sim);
  std::map<std::string, std::pair<double, double>> ops;
  for (const auto& [op, f] : pre) ops[op].first = f;
  for (const auto& [op, f] : dec) ops[op].second = f;
  std::vector<std::pair<std::string, std::pair<double, double>>> rows(ops.begin(), ops.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.first + a.second.second > b.second.first + b.second.second;
  });
  for (const auto& [op, f] : rows)
    h << "<tr><td>" << esc(op) << "</td><td class=\"n\">" << num(100 * f.first, "%.1f") << "</td><td class=\"n\">"
      << num(100 * f.second, "%.1f") << "</td></tr>\n";
  h << "</table>\n<h2>Memory" << (r.tp > 1 ? " (per chip)" : "") << "</h2>\n<table class=\"memory\">\n"
    << "<tr><th>level</th><th>capacity</th><th>used</th><th>holds</th></tr>\n";
  for (const auto& m : r.memory)
    h << "<tr><td>" << esc(m.name) << "</td><td class=\"n\">" << report::format_bytes(double(m.capacity_bytes))
      << "</td><td class=\"n\">" << report::format_bytes(double(m.used_bytes)) << "</td><td>" << esc(m.holds)
      << "</td></tr>\n";
  h << "</table>\n<p>Weights " << report::format_bytes(double(r.weights_bytes)) << ", KV cache "
    << report::format_bytes(double(r.kv_cache_bytes)) << " (" << esc(r.kv_level) << "), at most " << r.max_batch
    << " sequences fit at this context.</p>\n";
  h << "<h2>Latency and throughput over the batch</h2>\n";
  if (curve.empty()) {
    h << "<p>No batch size fits.</p>\n";
  } else {
    h << "<p>The same request at each batch size: time per output token against the decode throughput of all "
         "users. Hover a point for its TTFT.</p>\n"
      << curve_svg(curve) << "<table class=\"curve\">\n<tr><th>batch</th><th>TTFT (ms)</th><th>TPOT (ms)</th>"
      << "<th>tokens/s per user</th><th>decode tokens/s</th><th>tokens/s over the request</th></tr>\n";
    for (const auto& p : curve)
      h << "<tr><td class=\"n\">" << p.batch << "</td><td class=\"n\">" << num(p.ttft_s * 1e3)
        << "</td><td class=\"n\">" << num(p.tpot_s * 1e3) << "</td><td class=\"n\">" << num(p.tokens_per_s_per_user)
        << "</td><td class=\"n\">" << num(p.decode_tokens_per_s) << "</td><td class=\"n\">" << num(p.tokens_per_s)
        << "</td></tr>\n";
    h << "</table>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace wafer::api
