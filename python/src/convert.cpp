#include "convert.h"

#include <cstring>

#include "core/error.h"

namespace wafer::py_api {

py::object to_python(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return py::none();
    case nlohmann::json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case nlohmann::json::value_t::number_float:
      return py::float_(j.get<double>());
    case nlohmann::json::value_t::string:
      return py::str(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::binary:
      return py::bytes(std::string(j.get_binary().begin(), j.get_binary().end()));
    case nlohmann::json::value_t::array: {
      py::list out;
      for (const auto& e : j) out.append(to_python(e));
      return out;
    }
    case nlohmann::json::value_t::object: {
      py::dict out;
      for (const auto& [k, v] : j.items()) out[py::str(k)] = to_python(v);
      return out;
    }
  }
  return py::none();
}

namespace {

DType dtype_of_numpy(const py::dtype& dt, const std::string& what) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'b' && size == 1) return DType::Bool;
  if (kind == 'f' && size == 2) return DType::Float16;
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' || kind == 'u') {
    const bool s = kind == 'i';
    switch (size) {
      case 1:
        return s ? DType::Int8 : DType::UInt8;
      case 2:
        return s ? DType::Int16 : DType::UInt16;
      case 4:
        return s ? DType::Int32 : DType::UInt32;
      case 8:
        return s ? DType::Int64 : DType::UInt64;
      default:
        break;
    }
  }
  fail(what, ": numpy dtype ", dt.attr("name").cast<std::string>(), " has no Wafer dtype");
}

py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::Bool:
      return py::dtype::of<bool>();
    case DType::Float16:
      return py::dtype("float16");
    case DType::Float32:
      return py::dtype::of<float>();
    case DType::Float64:
      return py::dtype::of<double>();
    case DType::Int8:
      return py::dtype::of<int8_t>();
    case DType::UInt8:
      return py::dtype::of<uint8_t>();
    case DType::Int16:
      return py::dtype::of<int16_t>();
    case DType::UInt16:
      return py::dtype::of<uint16_t>();
    case DType::Int32:
      return py::dtype::of<int32_t>();
    case DType::UInt32:
      return py::dtype::of<uint32_t>();
    case DType::Int64:
      return py::dtype::of<int64_t>();
    case DType::UInt64:
      return py::dtype::of<uint64_t>();
    default:
      fail("a ", dtype_name(t), " tensor has no numpy dtype");
  }
}

}  // namespace

Tensor to_tensor(const py::handle& array, const std::string& what) {
  // Native byte order, C order: the layout a Tensor holds. A Python list becomes numpy's default dtype.
  auto numpy = py::module_::import("numpy");
  py::array a = numpy.attr("ascontiguousarray")(array);
  if (!a.dtype().attr("isnative").cast<bool>()) a = a.attr("astype")(a.dtype().attr("newbyteorder")("="));
  Dims dims(a.shape(), a.shape() + a.ndim());
  Tensor t(dtype_of_numpy(a.dtype(), what), dims);
  if (t.nbytes() > 0) std::memcpy(t.raw(), a.data(), t.nbytes());
  return t;
}

py::array to_numpy(const Tensor& tensor) {
  // The array's base owns a Tensor that shares the storage: no copy, freed with the array.
  Tensor t = tensor.dtype() == DType::BFloat16 ? tensor.cast(DType::Float32) : tensor;
  py::dtype dt = numpy_dtype(t.dtype());
  std::vector<py::ssize_t> shape(t.dims().begin(), t.dims().end());
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = py::ssize_t(dtype_size(t.dtype()));
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  auto* owner = new Tensor(t);
  py::capsule base(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dt, shape, strides, owner->raw(), base);
}

std::string path_string(const py::handle& path) {
  return py::module_::import("os").attr("fspath")(path).cast<std::string>();
}

namespace {

// One value as the YAML (and --set) text the CLI would be given.
std::string value_text(const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "true" : "false";
  return py::str(v).cast<std::string>();
}

std::string join(const py::handle& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ",") + value_text(v);
  return out;
}

bool is_sequence(const py::handle& v) {
  return !py::isinstance<py::str>(v) && !py::isinstance<py::bytes>(v) && py::isinstance<py::sequence>(v);
}

std::vector<std::string> specs(const py::handle& given, bool lists, const char* what) {
  std::vector<std::string> out;
  if (given.is_none()) return out;
  if (py::isinstance<py::dict>(given)) {
    for (const auto& [k, v] : given.cast<py::dict>()) {
      std::string value = lists && is_sequence(v) ? join(v) : value_text(v);
      out.push_back(py::str(k).cast<std::string>() + "=" + value);
    }
    return out;
  }
  if (py::isinstance<py::str>(given)) return {given.cast<std::string>()};
  check(is_sequence(given), what, ": expected a dict or a list of strings, got ",
        py::type::of(given).attr("__name__").cast<std::string>());
  for (const auto& s : given) out.push_back(py::str(s).cast<std::string>());
  return out;
}

}  // namespace

std::vector<std::string> shape_specs(const py::handle& shapes) {
  return specs(shapes, true, "shapes");
}

std::vector<std::string> field_specs(const py::handle& fields, bool lists) {
  return specs(fields, lists, lists ? "grid" : "overrides");
}

}  // namespace wafer::py_api
