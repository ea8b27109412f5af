// wafer.compile, wafer.simulate, wafer.sweep, wafer.hardware, wafer.presets: api::simulate and api::sweep over a
// preset, a YAML file or a description given as a dict.
#include "api/compile.h"
#include "api/hardware.h"
#include "api/llm_sim.h"
#include "api/sweep.h"
#include "api/system_sweep.h"
#include "bindings.h"
#include "convert.h"
#include "npu/report/report.h"
#include "npu/report/sweep_report.h"
#include "npu/system.h"

namespace wafer::py_api {

namespace {

// A dict is written as JSON, which is YAML, and parsed as a description file would be.
api::HardwareSource hardware_source(const py::object& hw) {
  api::HardwareSource source;
  if (py::isinstance<py::dict>(hw)) {
    source.yaml_text = py::module_::import("json").attr("dumps")(hw).cast<std::string>();
    source.name_for_errors = "hw";
  } else {
    source.preset_or_path = path_string(hw);
  }
  return source;
}

api::NpuModelArgs model_args(const py::object& model, int batch, const std::string& precision,
                             const py::object& shapes) {
  api::NpuModelArgs a;
  a.model = path_string(model);
  a.batch = batch;
  a.precision = precision_arg(precision);
  a.shapes = shape_specs(shapes);
  return a;
}

py::dict simulate(const py::object& model, const py::object& hw, int batch, const std::string& precision,
                  const py::object& shapes, const py::object& overrides) {
  api::SimOptions o;
  o.m = model_args(model, batch, precision, shapes);
  o.hw = hardware_source(hw);
  o.sets = field_specs(overrides, false);
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    j = report::sim_json(api::simulate(o, false).result);
  }
  return to_python(j);
}

py::dict compile(const py::object& model, const py::object& hw, int batch, const std::string& precision,
                 const py::object& shapes, const py::object& overrides, const py::object& output) {
  api::CompileOptions o;
  o.m = model_args(model, batch, precision, shapes);
  o.hw = hardware_source(hw);
  o.sets = field_specs(overrides, false);
  if (!output.is_none()) o.output = path_string(output);
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    j = api::compile_json(api::compile(o));
  }
  return to_python(j);
}

py::dict simulate_llm(const py::object& model, const py::object& hw, int64_t prompt_len, int64_t gen_len, int64_t batch,
                      const std::string& precision, const py::object& overrides, int64_t layers, int64_t tp, int64_t pp,
                      int64_t dp, int64_t ep) {
  api::LlmSimOptions o;
  o.model = path_string(model);
  o.hw = hardware_source(hw);
  o.sets = field_specs(overrides, false);
  o.precision = precision_arg(precision);
  o.prompt_len = prompt_len, o.gen_len = gen_len, o.batch = batch, o.layers = layers, o.tp = tp;
  o.pp = pp, o.dp = dp, o.ep = ep;
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    j = api::llm_sim_json(api::simulate_llm(o));
  }
  return to_python(j);
}

// A number where the text is one ("128" -> 128), so a DataFrame's axis columns sort numerically.
py::object axis_value(const std::string& text) {
  auto builtins = py::module_::import("builtins");
  for (const char* type : {"int", "float"}) {
    try {
      return builtins.attr(type)(text);
    } catch (const py::error_already_set&) {
    }
  }
  return py::str(text);
}

// One dict per design: the point of `wafer sweep --json`, and each axis as a column of its own.
py::list sweep_rows(const nlohmann::json& j) {
  py::list rows;
  for (const auto& point : j["points"]) {
    py::dict row = to_python(point);
    for (const auto& [field, value] : point["values"].items()) row[py::str(field)] = axis_value(value);
    rows.append(row);
  }
  return rows;
}

py::list sweep(const py::object& model, const py::object& hw, const py::object& grid, int batch,
               const std::string& precision, const py::object& shapes, int jobs) {
  api::SweepOptions o;
  o.jobs = jobs;
  o.m = model_args(model, batch, precision, shapes);
  o.hw = hardware_source(hw);
  o.sets = field_specs(grid, true);
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    // A system of chips: the model data parallel on each point's system (api/system_sweep.h).
    api::SweepRun run = npu::is_system(o.hw.preset_or_path) ? api::sweep_system_model(o) : api::sweep(o);
    j = report::sweep_json(run.axes, run.points);
  }
  return sweep_rows(j);
}

py::list sweep_system(const py::object& model, const py::object& hw, const py::object& grid, int64_t prompt_len,
                      int64_t gen_len, int64_t batch, const std::string& precision, int64_t tp, int64_t pp, int64_t dp,
                      int64_t ep, int jobs) {
  api::SystemSweepOptions o;
  o.llm.model = path_string(model);
  o.llm.hw = hardware_source(hw);
  o.llm.precision = precision_arg(precision);
  o.llm.prompt_len = prompt_len, o.llm.gen_len = gen_len, o.llm.batch = batch;
  o.llm.tp = tp, o.llm.pp = pp, o.llm.dp = dp, o.llm.ep = ep;
  o.sets = field_specs(grid, true);
  o.jobs = jobs;
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    j = api::system_sweep_json(api::sweep_system(o));
  }
  return sweep_rows(j);
}

py::dict hardware(const py::object& hw, const py::object& overrides) {
  api::HardwareSource source = hardware_source(hw);
  const auto sets = api::parse_set_options(field_specs(overrides, false));
  if (source.yaml_text.empty() && npu::is_system(source.preset_or_path))  // as `wafer hw SYSTEM --json`
    return to_python(api::system_json(npu::load_system(source.preset_or_path, sets)));
  return to_python(api::hardware_json(source.load(sets)));
}

}  // namespace

void bind_npu(py::module_& m) {
  const api::NpuModelArgs d;
  m.def("simulate", &simulate, py::arg("model"), py::arg("hw"), py::arg("batch") = d.batch,
        py::arg("precision") = precision_name(d.precision), py::arg("shapes") = py::none(),
        py::arg("overrides") = py::none(),
        "Compile a model for an NPU and simulate it: the dict `wafer sim --json` prints. hw: a preset name, a "
        "YAML file, or a description as a dict (the YAML's fields); overrides: {FIELD: value} as --set.");
  m.def("compile", &compile, py::arg("model"), py::arg("hw"), py::arg("batch") = d.batch,
        py::arg("precision") = precision_name(d.precision), py::arg("shapes") = py::none(),
        py::arg("overrides") = py::none(), py::arg("output") = py::none(),
        "Compile a model for an NPU without simulating it: the dict `wafer compile --json` prints (layers by unit, "
        "instructions, matmul tiles, weight bytes resident and streamed). output: a file to write the program to "
        "(JSON, with OUTPUT.txt in readable form).");
  const api::LlmSimOptions l;
  m.def("simulate_llm", &simulate_llm, py::arg("model"), py::arg("hw"), py::arg("prompt_len") = l.prompt_len,
        py::arg("gen_len") = l.gen_len, py::arg("batch") = l.batch, py::arg("precision") = precision_name(l.precision),
        py::arg("overrides") = py::none(), py::arg("layers") = l.layers, py::arg("tp") = l.tp, py::arg("pp") = l.pp,
        py::arg("dp") = l.dp, py::arg("ep") = l.ep,
        "LLM inference on an NPU (docs/LLM.md): the dict `wafer sim MODEL --prompt-len P --gen-len G --json` "
        "prints (ttft_s, tpot_s, tokens_per_s, weights_bytes, kv_cache_bytes, ...). model: a Hugging Face "
        "config.json or an ONNX decoder with past_key_values inputs; a model that does not fit raises WaferError. "
        "hw may name a system of chips with tp, pp, dp, ep > 1 (tensor, pipeline, data, expert parallelism; "
        "docs/SYSTEMS.md).");
  m.def("sweep", &sweep, py::arg("model"), py::arg("hw"), py::arg("grid"), py::arg("batch") = d.batch,
        py::arg("precision") = precision_name(d.precision), py::arg("shapes") = py::none(),
        py::arg("jobs") = api::SweepOptions{}.jobs,
        "Simulate every design of a grid {FIELD: [v1, v2, ...]} over the base hw: a list with one dict per "
        "design, the points of `wafer sweep --json` (values, valid, pareto, latency_s, energy_j, area_mm2, ... or "
        "error) with each axis also a key of its own; pandas.DataFrame(...) takes it as it is. jobs: design "
        "points evaluated at once on threads (0: all cores), as `wafer sweep --jobs`; the result is the same.");
  m.def("sweep_system", &sweep_system, py::arg("model"), py::arg("hw"), py::arg("grid"),
        py::arg("prompt_len") = l.prompt_len, py::arg("gen_len") = l.gen_len, py::arg("batch") = l.batch,
        py::arg("precision") = precision_name(l.precision), py::arg("tp") = l.tp, py::arg("pp") = l.pp,
        py::arg("dp") = l.dp, py::arg("ep") = l.ep, py::arg("jobs") = api::SystemSweepOptions{}.jobs,
        "An LLM (config.json) over a grid {FIELD: [v1, ...]} of systems of chips (docs/SYSTEMS.md): the system's "
        "fields (count, topology, dims, links.bandwidth, ...) and tp, pp, dp, ep. One dict per point, the points of "
        "`wafer sweep CONFIG --hw SYSTEM --json` (tokens_per_s, tpot_s, energy_per_token_j, power_w, cost_usd, "
        "perf_per_w, perf_per_usd, contention, pareto, ... or error), each axis also a key. Without tp, pp, dp, ep "
        "each point splits the model tp-ways over all its chips.");
  m.def("hardware", &hardware, py::arg("hw"), py::arg("overrides") = py::none(),
        "Validate a hardware description (preset, YAML file or dict) or a system of chips: the dict `wafer hw "
        "--json` prints.");
  m.def("presets", &npu::hardware_presets, "The hardware presets found (hw/, PREFIX/share/wafer/hw, WAFER_HW_PATH).");
}

}  // namespace wafer::py_api
