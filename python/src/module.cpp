// wafer._wafer: the Python module over src/api, the layer the CLI uses too. Every wafer::Error
// is raised as wafer.WaferError carrying the message the CLI prints after "wafer: error: ".
#include <pybind11/pybind11.h>

#include <filesystem>
#include <new>

#include "api/errors.h"
#include "bindings.h"
#include "convert.h"
#include "core/error.h"

namespace wafer::py_api {

std::string model_path(const py::handle& model) {
  std::string path = path_string(model);
  if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "model.onnx").string();
  return path;
}

Precision precision_arg(const std::string& text) {
  return parse_precision(text);
}

}  // namespace wafer::py_api

PYBIND11_MODULE(_wafer, m) {
  namespace py = pybind11;
  using namespace wafer::py_api;
  m.doc() =
      "Wafer: ONNX models on the reference, cpu and simulated npu backends, NPU simulation and sweeps, "
      "and the MLPerf-style harness (docs/PYTHON.md)";
  static py::exception<wafer::Error> error(m, "WaferError", PyExc_Exception);
  error.attr("__module__") = "wafer";
  error.attr("__doc__") = "An error Wafer reports: the message is what the CLI prints after 'wafer: error: '.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const wafer::Error& e) {
      error(wafer::api::one_line(e.what()).c_str());
    }
  });
  bind_model(m);
  bind_npu(m);
  bind_harness(m);
  bind_generate(m);
}
