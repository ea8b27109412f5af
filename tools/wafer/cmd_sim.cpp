// wafer sim MODEL --hw PRESET|FILE: compile the model for a described NPU,
// simulate it, and report latency, throughput, energy, area and per-layer
// figures (text, JSON, CSV, Chrome trace, HTML with a roofline).
#include <filesystem>
#include <iostream>

#include "api/llm_report.h"
#include "api/llm_sim.h"
#include "api/simulate.h"
#include "commands.h"
#include "core/error.h"
#include "frontend/llm/llm_config.h"
#include "model_options.h"
#include "npu/report/report.h"

namespace wafer::cli {

void add_sim_command(CLI::App& app) {
  auto* sub = app.add_subcommand("sim", "Compile a model for an NPU description and simulate its timing and energy");
  struct Opts : api::SimOptions {
    std::string trace, out;
    int top = 15;
    bool json = false, all = false;
    int64_t prompt_len = -1, gen_len = -1, layers = -1;  // -1: not given
    int64_t tp = 1, pp = 1, dp = 1, ep = 1, micro_batches = 0;
    std::string parallel;
    double max_tpot_ms = 0;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->m.model,
                  "ONNX model file or folder with model.onnx; or an LLM architecture (Hugging Face config.json, "
                  "e.g. models/llm/llama-3.1-8b.json)")
      ->required();
  sub->add_option(
         "--hw", o->hw.preset_or_path,
         "Hardware preset (wafer hw --list) or YAML file; in LLM mode also a system of chips (docs/SYSTEMS.md)")
      ->required();
  sub->add_option("--batch", o->m.batch, "Batch size (binds the 'batch' dimension)")->capture_default_str();
  add_precision_option(sub, o->m.precision);
  sub->add_option("--shape", o->m.shapes, "NAME=d0,d1,... fixes an input's shape, or SYMBOL=value binds a dim");
  sub->add_option("--set", o->sets, "FIELD=VALUE hardware override, e.g. cores.matrix.rows=128 (repeatable)");
  sub->add_option("--top", o->top, "Layers in the table (most cycles first)")->capture_default_str();
  sub->add_flag("--all", o->all, "Every layer in the table, in program order");
  sub->add_flag("--json", o->json, "Print the result as JSON instead of the table");
  sub->add_option("--trace", o->trace, "Write a Chrome trace (open in ui.perfetto.dev) to this file");
  sub->add_option("--out", o->out,
                  "Write report.html, sim.json, layers.csv and trace.json into this folder (LLM mode: report.html with "
                  "the phases and the latency-throughput curve, llm.json)");
  // LLM inference (docs/LLM.md): prefill and decode simulated separately, memory checked per level.
  sub->add_option("--prompt-len", o->prompt_len, "LLM mode: prompt tokens per sequence (prefill)");
  sub->add_option("--gen-len", o->gen_len, "LLM mode: tokens generated per sequence (decode)");
  sub->add_option("--layers", o->layers, "LLM mode, config models: simulate only the first N decoder layers");
  sub->add_option("--tp", o->tp, "LLM mode: tensor parallelism over N chips of the --hw system (docs/SYSTEMS.md)")
      ->capture_default_str();
  sub->add_option("--pp", o->pp, "LLM mode: pipeline parallelism, decoder layers in N stages (docs/SYSTEMS.md)")
      ->capture_default_str();
  sub->add_option("--dp", o->dp, "LLM mode: data parallelism, N replicas each running --batch")->capture_default_str();
  sub->add_option("--ep", o->ep, "LLM mode, mixture-of-experts: experts spread over N chips (all-to-all)")
      ->capture_default_str();
  sub->add_option("--micro-batches", o->micro_batches, "LLM mode with --pp: prefill micro-batches (default: --batch)");
  sub->add_option("--parallel", o->parallel,
                  "LLM mode: 'auto' simulates every split of the --hw system's chips and lists the best");
  sub->add_option("--max-tpot-ms", o->max_tpot_ms, "With --parallel auto: rank splits within this TPOT first");
  set_action(sub, [o]() {
    if (o->prompt_len >= 0 || o->gen_len >= 0 || o->layers >= 0 || llm::is_llm_config_path(o->m.model)) {
      check(o->trace.empty() && o->m.shapes.empty() && !o->all,
            "--trace, --shape and --all are not available in LLM mode (--prompt-len/--gen-len)");
      api::LlmSimOptions l;
      l.model = o->m.model;
      l.hw = o->hw;
      l.sets = o->sets;
      l.precision = o->m.precision;
      l.batch = o->m.batch;
      l.prompt_len = o->prompt_len >= 0 ? o->prompt_len : 128;
      l.gen_len = o->gen_len >= 0 ? o->gen_len : 128;
      l.layers = o->layers;
      l.tp = o->tp, l.pp = o->pp, l.dp = o->dp, l.ep = o->ep, l.micro_batches = o->micro_batches;
      if (!o->parallel.empty()) {
        check(o->parallel == "auto", "--parallel: expected 'auto', got '", o->parallel, "'");
        check(o->out.empty(), "--out is not available with --parallel auto");
        auto choices = api::search_llm_parallel(l, o->max_tpot_ms * 1e-3);
        if (o->json) {
          nlohmann::json j = nlohmann::json::array();
          for (const auto& c : choices) {
            nlohmann::json e = api::llm_sim_json(c.report);
            e["why"] = c.why;
            e["within_tpot_bound"] = c.within_bound;
            j.push_back(e);
          }
          std::cout << j.dump(2) << "\n";
        } else {
          std::cout << api::llm_parallel_table(choices) << "best:\n" << api::llm_sim_table(choices.front().report);
        }
        return 0;
      }
      check(o->max_tpot_ms == 0, "--max-tpot-ms is for --parallel auto");
      api::LlmSimReport r = api::simulate_llm(l);
      if (!o->out.empty()) {
        // The page's latency-throughput curve: the same request at batch 1, 2, 4, ... up to what fits.
        auto curve = api::llm_latency_throughput(l, std::min<int64_t>(std::max(r.max_batch, l.batch), 1024));
        std::filesystem::path dir(o->out);
        report::write_text_file((dir / "report.html").string(), api::llm_sim_html(r, curve));
        nlohmann::json j = api::llm_sim_json(r);
        j["curve"] = api::llm_curve_json(curve);
        report::write_text_file((dir / "llm.json").string(), j.dump(2) + "\n");
      }
      if (o->json)
        std::cout << api::llm_sim_json(r).dump(2) << "\n";
      else
        std::cout << api::llm_sim_table(r) << "wall time: prefill " << r.prefill.wall_ms << " ms, decode "
                  << r.decode.wall_ms << " ms\n"
                  << (o->out.empty() ? "" : "reports written to " + o->out + " (report.html, llm.json)\n");
      return 0;
    }
    check(o->tp == 1 && o->pp == 1 && o->dp == 1 && o->ep == 1 && o->parallel.empty(),
          "--tp, --pp, --dp, --ep and --parallel are for the LLM mode of wafer sim (--prompt-len/--gen-len or a "
          "config.json)");
    bool want_trace = !o->trace.empty() || !o->out.empty();
    api::SimRun run = api::simulate(*o, want_trace);
    const npu::SimResult& r = run.result;
    if (!o->trace.empty()) report::write_text_file(o->trace, report::chrome_trace(r).dump() + "\n");
    if (!o->out.empty()) {
      namespace fs = std::filesystem;
      fs::path dir(o->out);
      report::write_text_file((dir / "report.html").string(), report::html_report(r));
      report::write_text_file((dir / "sim.json").string(), report::sim_json(r).dump(2) + "\n");
      report::write_text_file((dir / "layers.csv").string(), report::layers_csv(r));
      report::write_text_file((dir / "trace.json").string(), report::chrome_trace(r).dump() + "\n");
    }
    if (o->json) {
      std::cout << report::sim_json(r).dump(2) << "\n";
    } else {
      report::TableOptions t;
      t.top = o->top;
      t.all = o->all;
      std::cout << report::sim_table(r, t);
      // Wall times go to the text report only: the JSON stays identical run to run.
      std::cout << "wall time: import+optimize " << run.load_ms << " ms, compile+simulate+energy " << run.evaluate_ms
                << " ms\n";
      if (!o->trace.empty()) std::cout << "trace written to " << o->trace << " (open in ui.perfetto.dev)\n";
      if (!o->out.empty())
        std::cout << "reports written to " << o->out << " (report.html, sim.json, layers.csv, trace.json)\n";
    }
    return 0;
  });
}

}  // namespace wafer::cli
