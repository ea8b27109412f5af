#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>

namespace wafer {

int64_t element_count(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) fail("negative dimension ", d, " in shape ", dims_to_string(dims));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail("shape ", dims_to_string(dims), " has more elements than fit in 64 bits");
    n *= d;
  }
  return n;
}

std::string dims_to_string(const Dims& dims) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? "," : "") << dims[i];
  out << ']';
  return out.str();
}

uint64_t max_tensor_bytes() {
  static const uint64_t limit = [] {
    if (const char* env = std::getenv("WAFER_MAX_TENSOR_BYTES")) return uint64_t(std::strtoull(env, nullptr, 10));
    return uint64_t(16) << 30;
  }();
  return limit;
}

Tensor::Tensor(DType dtype, Dims dims) : dtype_(dtype), dims_(std::move(dims)) {
  numel_ = element_count(dims_);
  size_t elem = dtype_size(dtype_);
  if (uint64_t(numel_) > max_tensor_bytes() / elem)
    fail("tensor of shape ", dims_to_string(dims_), " (", dtype_name(dtype_), ") needs ", uint64_t(numel_) * elem,
         " bytes, over the limit of ", max_tensor_bytes(), " bytes (set WAFER_MAX_TENSOR_BYTES to raise it)");
  size_t bytes = std::max<size_t>(size_t(numel_) * elem, 1);
  size_t padded = (bytes + 63) / 64 * 64;
  // Through operator new (not aligned_alloc), so allocation hooks see tensor storage too.
  void* p = ::operator new(padded, std::align_val_t(64), std::nothrow);
  if (!p) fail("out of memory allocating ", bytes, " bytes for tensor ", dims_to_string(dims_));
  std::memset(p, 0, padded);
  data_ = std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p),
                                       [](std::byte* q) { ::operator delete(q, std::align_val_t(64)); });
}

// (fail() inside an if, not check(): check's arguments, dims_to_string among
// them, would be built on every call of these per-element accessors.)
double Tensor::get_double(int64_t i) const {
  if (i < 0 || i >= numel_) fail("element ", i, " out of range for ", dims_to_string(dims_));
  return visit_dtype(dtype_,
                     [&]<typename T>() -> double { return double(to_compute(static_cast<const T*>(raw())[i])); });
}

int64_t Tensor::get_int(int64_t i) const {
  if (i < 0 || i >= numel_) fail("element ", i, " out of range for ", dims_to_string(dims_));
  return visit_dtype(dtype_,
                     [&]<typename T>() -> int64_t { return int64_t(to_compute(static_cast<const T*>(raw())[i])); });
}

std::vector<int64_t> Tensor::to_int_vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) out[size_t(i)] = get_int(i);
  return out;
}

Tensor Tensor::view(std::shared_ptr<std::byte[]> block, size_t offset, DType dtype, Dims dims) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.numel_ = element_count(t.dims_);
  std::byte* at = block.get() + offset;
  t.data_ = std::shared_ptr<std::byte[]>(std::move(block), at);
  return t;
}

void Tensor::share_storage(const Tensor& src, DType dtype, const Dims& dims) {
  int64_t n = element_count(dims);
  if (uint64_t(n) * dtype_size(dtype) != src.nbytes())  // (no check(): its message would be built every call)
    fail("cannot view ", dims_to_string(src.dims_), " (", dtype_name(src.dtype_), ") as ", dims_to_string(dims), " (",
         dtype_name(dtype), ")");
  dtype_ = dtype;
  dims_ = dims;
  numel_ = n;
  data_ = src.data_;
}

Tensor Tensor::reshaped(Dims dims) const {
  check(element_count(dims) == numel_, "cannot reshape ", dims_to_string(dims_), " to ", dims_to_string(dims));
  Tensor t = *this;
  t.dims_ = std::move(dims);
  return t;
}

Tensor Tensor::bitcast(DType to) const {
  check(dtype_size(to) == dtype_size(dtype_), "cannot view ", dtype_name(dtype_), " as ", dtype_name(to));
  Tensor t = *this;
  t.dtype_ = to;
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(dtype_, dims_);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

namespace {
template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return to_compute(v) != 0;
  } else if constexpr (is_float_type_v<To>) {
    return To(compute_t<To>(to_compute(v)));
  } else if constexpr (is_float_type_v<From>) {
    // Float to integer truncates toward zero; out-of-range/NaN values are
    // undefined in ONNX, clamp them so we never hit C++ UB.
    double d = double(to_compute(v));
    if (std::isnan(d)) return To(0);
    if (d <= double(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (d >= double(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return To(d);
  } else {
    return To(v);  // integer to integer wraps (two's complement), like numpy
  }
}
}  // namespace

Tensor Tensor::cast(DType to) const {
  Tensor out(to, dims_);
  visit_dtype(dtype_, [&]<typename From>() {
    visit_dtype(to, [&]<typename To>() {
      const From* src = data<From>();
      To* dst = out.data<To>();
      for (int64_t i = 0; i < numel_; ++i) dst[i] = convert<To, From>(src[i]);
    });
  });
  return out;
}

}  // namespace wafer
