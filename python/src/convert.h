// Conversions between Wafer's C++ values and Python's: JSON reports to dicts and lists, tensors
// to and from numpy arrays, and the option forms a Python caller writes (dicts of shapes, paths).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // in every file: pybind11 needs one view of each type it converts

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace wafer::py_api {

namespace py = pybind11;

// The same keys and values the CLI's --json prints.
py::object to_python(const nlohmann::json& j);

// A copy of a numpy array (any layout) as a tensor of the matching dtype; `what` names it in errors.
Tensor to_tensor(const py::handle& array, const std::string& what);

// The tensor's own storage as a numpy array (kept alive by the array); bfloat16, which numpy lacks,
// comes back as float32.
py::array to_numpy(const Tensor& tensor);

// A str or os.PathLike as a path string.
std::string path_string(const py::handle& path);

// --shape specs from None, a list of "NAME=d0,d1,..." strings, or a dict {NAME: [d0, ...] or SYMBOL: v}.
std::vector<std::string> shape_specs(const py::handle& shapes);

// FIELD=VALUE specs from None, a list of strings, or a dict {FIELD: value}; with `lists`, a dict's values
// may be sequences (a sweep axis: FIELD=v1,v2,...). Python's True/False are written as YAML's true/false.
std::vector<std::string> field_specs(const py::handle& fields, bool lists);

}  // namespace wafer::py_api
