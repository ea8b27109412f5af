#include "frontend/onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/dtype.h"

namespace wafer {

namespace fs = std::filesystem;

std::string read_file_bytes(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, ": no such file");
  if (fs::is_directory(path, ec)) fail(path, ": is a directory, expected a file");
  uint64_t size = fs::file_size(path, ec);
  if (ec) fail(path, ": cannot read size: ", ec.message());
  if (size > max_bytes) fail(path, ": file is ", size, " bytes, over the limit of ", max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open for reading");
  std::string data(size, '\0');
  in.read(data.data(), std::streamsize(size));
  if (!in) fail(path, ": read failed");
  return data;
}

namespace {

// Copies `count` little-endian elements of `src` into the tensor, checking size.
void fill_from_bytes(Tensor& t, const char* src, uint64_t size, const std::string& where) {
  if (size != t.nbytes())
    fail(where, ": holds ", size, " bytes of data, but shape ", dims_to_string(t.dims()), " of ",
         dtype_name(t.dtype()), " needs ", t.nbytes());
  if (size) std::memcpy(t.raw(), src, size);
}

template <typename Field>
void check_count(const Field& field, const Tensor& t, const std::string& where, const char* field_name) {
  if (int64_t(field.size()) != t.numel())
    fail(where, ": ", field_name, " has ", field.size(), " values, but shape ", dims_to_string(t.dims()),
         " needs ", t.numel());
}

void read_external(Tensor& t, const onnx::TensorProto& p, const std::string& where, const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      fail(where, ": external_data '", kv.key(), "' is not a number: '", kv.value(), "'");
    }
  }
  check(!location.empty(), where, ": external data without a location");
  fs::path rel(location);
  check(!rel.is_absolute() && rel.lexically_normal().string().rfind("..", 0) != 0, where,
        ": external data location '", location, "' must stay inside the model's folder");
  fs::path file = fs::path(base_dir) / rel;
  std::error_code ec;
  uint64_t file_size = fs::file_size(file, ec);
  if (ec) fail(where, ": external data file '", file.string(), "': ", ec.message());
  check(offset >= 0, where, ": negative external data offset ", offset);
  uint64_t want = t.nbytes();
  if (length >= 0) check(uint64_t(length) == want, where, ": external data length ", length, " but the tensor needs ", want);
  if (uint64_t(offset) > file_size || want > file_size - uint64_t(offset))
    fail(where, ": external data file '", file.string(), "' has ", file_size, " bytes; needs ", want,
         " from offset ", offset);
  std::ifstream in(file, std::ios::binary);
  in.seekg(offset);
  in.read(static_cast<char*>(t.raw()), std::streamsize(want));
  check(bool(in), where, ": reading external data file '", file.string(), "' failed");
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& where, const std::string& base_dir) {
  if (p.data_type() == onnx::TensorProto::STRING)
    throw UnsupportedError(where + ": string tensors are not supported");
  if (!dtype_is_valid_onnx(p.data_type()))
    throw UnsupportedError(where + ": element type " + std::to_string(p.data_type()) + " is not supported");
  if (p.has_segment()) throw UnsupportedError(where + ": segmented tensors are not supported");
  Dims dims(p.dims().begin(), p.dims().end());
  for (int64_t d : dims) check(d >= 0, where, ": negative dimension ", d, " in ", dims_to_string(dims));
  DType dtype = DType(p.data_type());
  int64_t numel = element_count(dims);  // overflow-checked

  // Check that data for every element is present before allocating, so a
  // gigantic declared shape with little data is an error, not an allocation.
  uint64_t elem = dtype_size(dtype);
  bool external = p.data_location() == onnx::TensorProto::EXTERNAL;
  if (!external) {
    uint64_t have = p.has_raw_data() ? p.raw_data().size() : 0;
    if (!p.has_raw_data()) {
      switch (dtype) {
        case DType::Float32: have = uint64_t(p.float_data_size()) * elem; break;
        case DType::Float64: have = uint64_t(p.double_data_size()) * elem; break;
        case DType::Int64: have = uint64_t(p.int64_data_size()) * elem; break;
        case DType::UInt32: case DType::UInt64: have = uint64_t(p.uint64_data_size()) * elem; break;
        default: have = uint64_t(p.int32_data_size()) * elem; break;
      }
    }
    if (have / elem != uint64_t(numel))
      fail(where, ": declares shape ", dims_to_string(dims), " (", numel, " elements) but holds data for ",
           have / elem);
  }

  Tensor t(dtype, dims);
  if (external) {
    read_external(t, p, where, base_dir);
    return t;
  }
  if (p.has_raw_data()) {
    fill_from_bytes(t, p.raw_data().data(), p.raw_data().size(), where);
    if (dtype == DType::Bool)  // normalise any non-zero byte to true
      for (int64_t i = 0; i < numel; ++i) t.data<bool>()[i] = reinterpret_cast<const uint8_t*>(t.raw())[i] != 0;
    return t;
  }
  visit_dtype(dtype, [&]<typename T>() {
    T* dst = t.data<T>();
    if constexpr (std::is_same_v<T, float>) {
      check_count(p.float_data(), t, where, "float_data");
      std::copy(p.float_data().begin(), p.float_data().end(), dst);
    } else if constexpr (std::is_same_v<T, double>) {
      check_count(p.double_data(), t, where, "double_data");
      std::copy(p.double_data().begin(), p.double_data().end(), dst);
    } else if constexpr (std::is_same_v<T, int64_t>) {
      check_count(p.int64_data(), t, where, "int64_data");
      std::copy(p.int64_data().begin(), p.int64_data().end(), dst);
    } else if constexpr (std::is_same_v<T, uint32_t> || std::is_same_v<T, uint64_t>) {
      check_count(p.uint64_data(), t, where, "uint64_data");
      for (int64_t i = 0; i < numel; ++i) dst[i] = T(p.uint64_data(int(i)));
    } else if constexpr (std::is_same_v<T, wafer::Float16> || std::is_same_v<T, wafer::BFloat16>) {
      check_count(p.int32_data(), t, where, "int32_data");
      for (int64_t i = 0; i < numel; ++i) dst[i].bits = uint16_t(p.int32_data(int(i)));
    } else {
      check_count(p.int32_data(), t, where, "int32_data");
      for (int64_t i = 0; i < numel; ++i) dst[i] = T(p.int32_data(int(i)));
    }
  });
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->Clear();
  p->set_name(name);
  p->set_data_type(int(t.dtype()));
  for (int64_t d : t.dims()) p->add_dims(d);
  p->set_raw_data(t.raw(), t.nbytes());
}

NamedTensor read_tensor_pb(const std::string& path) {
  std::string bytes = read_file_bytes(path, uint64_t(2) << 30);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) fail(path, ": not a valid ONNX TensorProto (protobuf parse failed)");
  fs::path parent = fs::path(path).parent_path();
  return {proto.name(), tensor_from_proto(proto, path, parent.string())};
}

void write_tensor_pb(const std::string& path, const Tensor& t, const std::string& name) {
  onnx::TensorProto proto;
  tensor_to_proto(t, name, &proto);
  std::ofstream out(path, std::ios::binary);
  if (!out || !proto.SerializeToOstream(&out)) fail(path, ": cannot write tensor file");
}

}  // namespace wafer
