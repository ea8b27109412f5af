#include "frontend/onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/dtype.h"

namespace wafer {

namespace fs = std::filesystem;

uint64_t checked_file_size(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, ": no such file");
  if (fs::is_directory(path, ec)) fail(path, ": is a directory, expected a file");
  uint64_t size = fs::file_size(path, ec);
  if (ec) fail(path, ": cannot read size: ", ec.message());
  if (size > max_bytes) fail(path, ": file is ", size, " bytes, over the limit of ", max_bytes);
  return size;
}

std::string read_file_bytes(const std::string& path, uint64_t max_bytes) {
  uint64_t size = checked_file_size(path, max_bytes);
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
    fail(where, ": holds ", size, " bytes of data, but shape ", dims_to_string(t.dims()), " of ", dtype_name(t.dtype()),
         " needs ", t.nbytes());
  if (size) std::memcpy(t.raw(), src, size);
}

template <typename Field>
void check_count(const Field& field, const Tensor& t, const std::string& where, const char* field_name) {
  if (int64_t(field.size()) != t.numel())
    fail(where, ": ", field_name, " has ", field.size(), " values, but shape ", dims_to_string(t.dims()), " needs ",
         t.numel());
}

// A zeroed tensor; a size-limit error names the tensor.
Tensor allocate(DType dtype, const Dims& dims, const std::string& where) {
  try {
    return Tensor(dtype, dims);
  } catch (const Error& e) {
    rethrow_with_context(e, where);
  }
}

// Parses a whole decimal number; "12abc", "", "-" and overflow are errors.
int64_t parse_int(const std::string& text, const std::string& where, const std::string& key) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) fail(where, ": external_data '", key, "' is not a number: '", text, "'");
  return v;
}

// Where an external tensor's bytes are, validated before anything is allocated.
struct ExternalSpan {
  fs::path file;
  uint64_t offset = 0;
};

ExternalSpan locate_external(const onnx::TensorProto& p, uint64_t want, const std::string& where,
                             const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  bool has_length = false;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset") {
      offset = parse_int(kv.value(), where, "offset");
    } else if (kv.key() == "length") {
      length = parse_int(kv.value(), where, "length");
      has_length = true;
    }
  }
  check(!location.empty(), where, ": external data without a location");
  check(location.find('\0') == std::string::npos, where, ": external data location contains a NUL byte");
  // The location must name a file below the model's folder: no absolute
  // paths and no ".." that climbs out (checked on the path as written, so
  // symlinked model caches such as Hugging Face's keep working).
  fs::path rel(location);
  bool escapes = rel.is_absolute() || rel.has_root_name() || rel.has_root_directory();
  int depth = 0;
  for (const auto& part : rel.lexically_normal()) {
    if (part == "..")
      escapes |= --depth < 0;
    else if (part != "." && !part.empty())
      ++depth;
  }
  check(!escapes, where, ": external data location '", location, "' points outside the model's folder");
  check(offset >= 0, where, ": negative external data offset ", offset);
  check(!has_length || length >= 0, where, ": negative external data length ", length);
  if (has_length)
    check(uint64_t(length) == want, where, ": external data length is ", length, " bytes but the tensor needs ", want);
  fs::path file = fs::path(base_dir) / rel;
  std::error_code ec;
  check(fs::is_regular_file(file, ec), where, ": external data file '", file.string(),
        "' does not exist or is not a regular file");
  uint64_t file_size = fs::file_size(file, ec);
  if (ec) fail(where, ": external data file '", file.string(), "': ", ec.message());
  if (uint64_t(offset) > file_size || want > file_size - uint64_t(offset))
    fail(where, ": external data file '", file.string(), "' has ", file_size, " bytes; the tensor needs ", want,
         " from offset ", offset, " (past the end of the file)");
  return {file, uint64_t(offset)};
}

void read_external(Tensor& t, const ExternalSpan& span, const std::string& where) {
  std::ifstream in(span.file, std::ios::binary);
  check(bool(in), where, ": cannot open external data file '", span.file.string(), "'");
  in.seekg(std::streamoff(span.offset));
  in.read(static_cast<char*>(t.raw()), std::streamsize(t.nbytes()));
  check(bool(in), where, ": reading external data file '", span.file.string(), "' failed");
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& where, const std::string& base_dir) {
  if (p.data_type() == onnx::TensorProto::STRING) throw UnsupportedError(where + ": string tensors are not supported");
  if (!dtype_is_valid_onnx(p.data_type()))
    throw UnsupportedError(where + ": element type " + std::to_string(p.data_type()) + " is not supported");
  if (p.has_segment()) throw UnsupportedError(where + ": segmented tensors are not supported");
  Dims dims(p.dims().begin(), p.dims().end());
  for (int64_t d : dims) check(d >= 0, where, ": negative dimension ", d, " in ", dims_to_string(dims));
  DType dtype = DType(p.data_type());
  int64_t numel = 0;
  try {
    numel = element_count(dims);  // overflow-checked
  } catch (const Error& e) {
    rethrow_with_context(e, where);
  }

  // Check that data for every element is present before allocating, so a
  // gigantic declared shape with little data is an error, not an allocation.
  uint64_t elem = dtype_size(dtype);
  bool external = p.data_location() == onnx::TensorProto::EXTERNAL;
  if (!external) {
    uint64_t have = p.has_raw_data() ? p.raw_data().size() : 0;
    if (!p.has_raw_data()) {
      switch (dtype) {
        case DType::Float32:
          have = uint64_t(p.float_data_size()) * elem;
          break;
        case DType::Float64:
          have = uint64_t(p.double_data_size()) * elem;
          break;
        case DType::Int64:
          have = uint64_t(p.int64_data_size()) * elem;
          break;
        case DType::UInt32:
        case DType::UInt64:
          have = uint64_t(p.uint64_data_size()) * elem;
          break;
        default:
          have = uint64_t(p.int32_data_size()) * elem;
          break;
      }
    }
    if (have / elem != uint64_t(numel))
      fail(where, ": declares shape ", dims_to_string(dims), " (", numel, " elements) but holds data for ",
           have / elem);
  }

  if (external) {
    // Size checks against the file come before allocation, so a gigantic
    // declared shape backed by a small file is an error, not an allocation.
    uint64_t want = uint64_t(numel);
    check(want <= max_tensor_bytes() / elem, where, ": declared shape ", dims_to_string(dims), " of ",
          dtype_name(dtype), " is over the tensor size limit of ", max_tensor_bytes(), " bytes");
    ExternalSpan span = locate_external(p, want * elem, where, base_dir);
    Tensor t = allocate(dtype, dims, where);
    read_external(t, span, where);
    if (dtype == DType::Bool)
      for (int64_t i = 0; i < numel; ++i) t.data<bool>()[i] = reinterpret_cast<const uint8_t*>(t.raw())[i] != 0;
    return t;
  }
  Tensor t = allocate(dtype, dims, where);
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
