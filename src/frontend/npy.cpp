#include "frontend/npy.h"

#include <cstring>
#include <fstream>
#include <regex>

#include "frontend/onnx/tensor_proto.h"

namespace wafer {

namespace {
struct NpyType {
  const char* descr;
  DType dtype;
};
const NpyType kTypes[] = {
    {"<f4", DType::Float32}, {"<f8", DType::Float64}, {"<f2", DType::Float16}, {"|i1", DType::Int8},
    {"|u1", DType::UInt8},   {"<i2", DType::Int16},   {"<u2", DType::UInt16},  {"<i4", DType::Int32},
    {"<u4", DType::UInt32},  {"<i8", DType::Int64},   {"<u8", DType::UInt64},  {"|b1", DType::Bool},
};
}  // namespace

Tensor read_npy(const std::string& path) {
  std::string bytes = read_file_bytes(path, uint64_t(16) << 30);
  check(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, path, ": not a .npy file");
  int major = uint8_t(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    offset = 10;
  } else {
    check(bytes.size() >= 12, path, ": truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t(uint8_t(bytes[8 + size_t(i)])) << (8 * i);
    offset = 12;
  }
  check(offset + header_len <= bytes.size(), path, ": truncated .npy header");
  std::string header = bytes.substr(offset, header_len);
  std::smatch m;
  check(std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")), path, ": .npy header has no descr");
  std::string descr = m[1];
  if (descr == "<b1") descr = "|b1";
  if (descr == "<i1") descr = "|i1";
  if (descr == "<u1") descr = "|u1";
  check(!std::regex_search(header, std::regex("'fortran_order':\\s*True")), path,
        ": Fortran-order arrays are not supported");
  check(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), path, ": .npy header has no shape");
  Dims dims;
  std::string shape = m[1];
  check(std::regex_match(shape, std::regex("[\\d,\\s]*")), path, ": .npy shape '(", shape,
        ")' is not a tuple of sizes");
  std::regex num("\\d+");
  for (auto it = std::sregex_iterator(shape.begin(), shape.end(), num); it != std::sregex_iterator(); ++it) {
    // At most 18 digits keeps every dim inside int64; element_count checks the product.
    check(it->str().size() <= 18, path, ": .npy dimension ", it->str(), " is too large");
    dims.push_back(std::stoll(it->str()));
  }
  DType dtype = DType::Undefined;
  for (const auto& t : kTypes)
    if (descr == t.descr) dtype = t.dtype;
  if (dtype == DType::Undefined) throw UnsupportedError(path + ": .npy element type '" + descr + "' is not supported");
  size_t data_at = offset + header_len;
  uint64_t numel = 0;
  try {
    numel = uint64_t(element_count(dims));
  } catch (const Error& e) {
    rethrow_with_context(e, path);
  }
  check(numel <= (uint64_t(1) << 62) / dtype_size(dtype), path, ": .npy shape ", dims_to_string(dims), " is too large");
  uint64_t need = numel * dtype_size(dtype);
  check(bytes.size() - data_at == need, path, ": .npy data is ", bytes.size() - data_at, " bytes, shape ",
        dims_to_string(dims), " needs ", need);
  Tensor t(dtype, dims);
  std::memcpy(t.raw(), bytes.data() + data_at, need);
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  const char* descr = nullptr;
  for (const auto& k : kTypes)
    if (k.dtype == t.dtype()) descr = k.descr;
  check(descr != nullptr, path, ": cannot write ", dtype_name(t.dtype()), " as .npy");
  std::string shape;
  for (int64_t d : t.dims()) shape += std::to_string(d) + ",";
  if (t.rank() > 1) shape.pop_back();
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = uint16_t(header.size());
  out.put(char(len & 0xff)).put(char(len >> 8));
  out << header;
  out.write(static_cast<const char*>(t.raw()), std::streamsize(t.nbytes()));
  check(bool(out), path, ": write failed");
}

}  // namespace wafer
