// The Python module's functions, one file per stage; module.cpp registers them and the exception.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // in every file: pybind11 needs one view of each type it converts

#include <string>

#include "core/precision.h"

namespace wafer::py_api {

namespace py = pybind11;

void bind_model(py::module_& m);     // inspect, run, run_timed, backends
void bind_npu(py::module_& m);       // simulate, sweep, hardware, presets
void bind_harness(py::module_& m);   // bench
void bind_generate(py::module_& m);  // generate

// The model argument: a path, or a folder holding model.onnx (as `wafer sim` takes it).
std::string model_path(const py::handle& model);

// precision="auto" | "fp32" | ...: parse_precision, with the CLI's messages.
Precision precision_arg(const std::string& text);

}  // namespace wafer::py_api
