// wafer.inspect, wafer.run, wafer.run_timed, wafer.backends: api::inspect_model and api::run_model.
#include "api/inspect.h"
#include "api/run.h"
#include "backends/backend.h"
#include "bindings.h"
#include "convert.h"

namespace wafer::py_api {

namespace {

py::dict inspect(const py::object& model, const py::object& shapes, const std::string& backend, bool no_optimize,
                 bool dump) {
  api::InspectOptions o;
  o.model = model_path(model);
  o.shapes = shape_specs(shapes);
  o.backend = backend;
  o.no_optimize = no_optimize;
  o.dump = dump;
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    j = api::inspect_json(o, api::inspect_model(o));
  }
  return to_python(j);
}

// inputs: None, {name: array}, or [array, ...] in the model's input order.
api::GivenInputs given_inputs(const py::object& inputs) {
  api::GivenInputs given;
  if (inputs.is_none()) return given;
  if (py::isinstance<py::dict>(inputs)) {
    for (const auto& [k, v] : inputs.cast<py::dict>()) {
      std::string name = py::str(k);
      given.by_name[name] = to_tensor(v, "input '" + name + "'");
    }
    return given;
  }
  size_t i = 0;
  for (const auto& v : inputs) given.in_order.push_back(to_tensor(v, "input " + std::to_string(i++)));
  return given;
}

api::RunOptions run_options(const py::object& model, const std::string& backend, const std::string& precision,
                            const py::object& shapes, int threads, uint64_t seed, bool optimize) {
  api::RunOptions o;
  o.model = model_path(model);
  o.backend = backend;
  o.precision = precision_arg(precision);
  o.shapes = shape_specs(shapes);
  o.threads = threads;
  o.seed = seed;
  o.optimize = optimize;
  return o;
}

api::RunResult run_unlocked(const api::RunOptions& o, api::GivenInputs given) {
  py::gil_scoped_release unlocked;
  return api::run_model(o, std::move(given));
}

py::dict run(const py::object& model, const py::object& inputs, const std::string& backend,
             const std::string& precision, const py::object& shapes, int threads, uint64_t seed, bool optimize) {
  api::RunOptions o = run_options(model, backend, precision, shapes, threads, seed, optimize);
  api::RunResult r = run_unlocked(o, given_inputs(inputs));
  py::dict out;
  for (size_t i = 0; i < r.outputs.size(); ++i) out[py::str(r.model.graph->outputs[i])] = to_numpy(r.outputs[i]);
  return out;
}

py::dict run_timed(const py::object& model, const py::object& inputs, const std::string& backend,
                   const std::string& precision, const py::object& shapes, int threads, uint64_t seed, bool optimize,
                   int repeat, int warmup, bool profile) {
  api::RunOptions o = run_options(model, backend, precision, shapes, threads, seed, optimize);
  o.repeat = repeat;
  o.warmup = warmup;
  o.profile = profile;
  api::RunResult r = run_unlocked(o, given_inputs(inputs));
  return to_python(api::run_json(o, r));
}

}  // namespace

void bind_model(py::module_& m) {
  const api::RunOptions d;
  m.def("inspect", &inspect, py::arg("model"), py::arg("shapes") = py::none(), py::arg("backend") = "",
        py::arg("no_optimize") = false, py::arg("dump") = false,
        "Describe a model (a .onnx file or a folder with model.onnx): the dict `wafer inspect --json` prints. "
        "shapes: {INPUT: [d0, ...], SYMBOL: value} or ['NAME=d0,d1', ...] as --shape; backend: also list the "
        "nodes it does not support.");
  m.def("run", &run, py::arg("model"), py::arg("inputs") = py::none(), py::arg("backend") = d.backend,
        py::arg("precision") = precision_name(d.precision), py::arg("shapes") = py::none(),
        py::arg("threads") = d.threads, py::arg("seed") = d.seed, py::arg("optimize") = d.optimize,
        "Run a model once on a backend (reference, cpu, npu:PRESET[:PRECISION]). inputs: {name: array} or a "
        "list of arrays in input order; inputs not given are generated from seed, as `wafer run` does. "
        "Returns {output name: numpy array} (bfloat16 outputs as float32).");
  m.def("run_timed", &run_timed, py::arg("model"), py::arg("inputs") = py::none(), py::arg("backend") = d.backend,
        py::arg("precision") = precision_name(d.precision), py::arg("shapes") = py::none(),
        py::arg("threads") = d.threads, py::arg("seed") = d.seed, py::arg("optimize") = d.optimize,
        py::arg("repeat") = 10, py::arg("warmup") = d.warmup, py::arg("profile") = d.profile,
        "Time repeated runs: the dict `wafer run --json --repeat N [--profile]` prints (load_ms, median_ms, "
        "min_ms, times_ms, peak_rss_kb, outputs' names, dtypes and shapes; cpu, cpu_isa and program on the cpu "
        "backend; with profile=True, every step's kernel, mean time, share and rate).");
  m.def("backends", &backend_names, "The registered backends (npu takes a preset: npu:PRESET).");
}

}  // namespace wafer::py_api
