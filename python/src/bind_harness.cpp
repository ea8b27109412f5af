// wafer.bench: api::run_bench, the MLPerf-style harness `wafer bench` runs.
#include "api/bench.h"
#include "bindings.h"
#include "convert.h"

namespace wafer::py_api {

namespace {

std::vector<std::string> conf_files(const py::object& conf) {
  std::vector<std::string> out;
  if (conf.is_none()) return out;
  if (py::isinstance<py::str>(conf) || py::hasattr(conf, "__fspath__")) return {path_string(conf)};
  for (const auto& f : conf) out.push_back(path_string(f));
  return out;
}

py::dict bench(const py::object& model, const std::string& target, const std::string& scenario, const std::string& mode,
               const std::string& sut, std::optional<double> target_qps, std::optional<double> target_latency_ms,
               std::optional<int64_t> min_queries, std::optional<int64_t> max_queries,
               std::optional<int64_t> duration_ms, std::optional<int64_t> samples_per_query, int max_batch,
               const std::string& precision, double batch_timeout_us, int workers, int threads,
               const std::string& service_us, int64_t qsl_size, std::optional<int64_t> performance_samples,
               std::optional<int64_t> seed, const py::object& shapes, const py::object& conf, const py::object& out) {
  api::BenchOptions o;
  if (!model.is_none()) o.model = model_path(model);
  o.target = target;
  o.scenario = scenario;
  o.mode = mode;
  o.sut = sut;
  o.target_qps = target_qps;
  o.target_latency_ms = target_latency_ms;
  o.min_queries = min_queries;
  o.max_queries = max_queries;
  o.duration_ms = duration_ms;
  o.samples_per_query = samples_per_query;
  o.max_batch = max_batch;
  o.precision = precision_arg(precision);
  o.batch_timeout_us = batch_timeout_us;
  o.workers = workers;
  o.threads = threads;
  o.service_us = service_us;
  o.qsl_size = qsl_size;
  o.performance_samples = performance_samples;
  o.seed = seed;
  o.shapes = shape_specs(shapes);
  o.conf_files = conf_files(conf);
  if (!out.is_none()) o.out_dir = path_string(out);
  nlohmann::json j;
  {
    py::gil_scoped_release unlocked;
    j = api::bench_json(api::run_bench(o));
  }
  return to_python(j);
}

}  // namespace

void bind_harness(py::module_& m) {
  const api::BenchOptions d;
  m.def("bench", &bench, py::arg("model") = py::none(), py::arg("target") = d.target, py::arg("scenario") = d.scenario,
        py::arg("mode") = d.mode, py::arg("sut") = d.sut, py::arg("target_qps") = py::none(),
        py::arg("target_latency_ms") = py::none(), py::arg("min_queries") = py::none(),
        py::arg("max_queries") = py::none(), py::arg("duration_ms") = py::none(),
        py::arg("samples_per_query") = py::none(), py::arg("max_batch") = d.max_batch,
        py::arg("precision") = precision_name(d.precision), py::arg("batch_timeout_us") = d.batch_timeout_us,
        py::arg("workers") = d.workers, py::arg("threads") = d.threads, py::arg("service_us") = d.service_us,
        py::arg("qsl_size") = d.qsl_size, py::arg("performance_samples") = py::none(), py::arg("seed") = py::none(),
        py::arg("shapes") = py::none(), py::arg("conf") = py::none(), py::arg("out") = py::none(),
        "MLPerf-style benchmark of a model on a target (reference, cpu: real clock; npu:PRESET: virtual time) in a "
        "scenario (SingleStream, MultiStream, Server, Offline): the dict `wafer bench --json` prints. The "
        "arguments are `wafer bench`'s options; sut='null' or 'device' (with service_us) takes no model.");
}

}  // namespace wafer::py_api
