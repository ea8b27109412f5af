// A dense, row-major tensor with shared, 64-byte-aligned storage.
//
// Copies share the buffer (like a shared_ptr); `clone()` copies the data.
// Allocation checks the element count for overflow and against a size limit so
// that an absurd declared shape is an error, not an out-of-memory death.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace wafer {

using Dims = std::vector<int64_t>;

// Number of elements of `dims`; throws on negative dims or int64 overflow.
int64_t element_count(const Dims& dims);
std::string dims_to_string(const Dims& dims);  // "[1,3,224,224]"

// Largest tensor Wafer allocates (bytes). Defaults to 16 GiB; WAFER_MAX_TENSOR_BYTES overrides.
uint64_t max_tensor_bytes();

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor.
  Tensor(DType dtype, Dims dims);

  template <typename T>
  static Tensor from_vector(Dims dims, const std::vector<T>& values) {
    Tensor t(dtype_of<T>(), std::move(dims));
    check(int64_t(values.size()) == t.numel(), "from_vector: ", values.size(), " values for shape ",
          dims_to_string(t.dims()));
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, {value});
  }

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int64_t dim(int64_t i) const { return dims_.at(size_t(i)); }
  int64_t rank() const { return int64_t(dims_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return size_t(numel_) * dtype_size(dtype_); }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }

  template <typename T>
  T* data() {
    check_type<T>();
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    check_type<T>();
    return static_cast<const T*>(raw());
  }
  template <typename T>
  std::span<const T> values() const {
    return {data<T>(), size_t(numel_)};
  }

  // Element i converted to double / int64 (any numeric dtype): for shape
  // inputs, indices and tests, not for hot loops.
  double get_double(int64_t i) const;
  int64_t get_int(int64_t i) const;
  std::vector<int64_t> to_int_vector() const;  // all elements via get_int

  // Same data, new dims (element count must match). Shares the buffer.
  Tensor reshaped(Dims dims) const;
  Tensor clone() const;
  // Same bytes viewed as another dtype of the same element size (shares the buffer).
  Tensor bitcast(DType to) const;
  // Elementwise conversion (ONNX Cast semantics: float->int truncates, ->bool is != 0).
  Tensor cast(DType to) const;

  bool same_buffer(const Tensor& other) const { return data_ == other.data_; }

  // --- storage management for memory planners (the cpu backend's static plan) ---
  // A tensor over `bytes` of `block` (which it keeps alive) at `offset`: no allocation, no zeroing.
  static Tensor view(std::shared_ptr<std::byte[]> block, size_t offset, DType dtype, Dims dims);
  // Becomes a tensor of `dtype` and `dims` over src's bytes (same byte count). Reuses this
  // tensor's dims capacity, so with an unchanged rank it allocates nothing.
  void share_storage(const Tensor& src, DType dtype, const Dims& dims);
  // Drops the storage but keeps dtype and dims (and their capacity): a later refill by copy
  // assignment of a tensor of the same rank allocates nothing.
  void release_storage() { data_.reset(); }

 private:
  template <typename T>
  void check_type() const {
    check(dtype_of<T>() == dtype_, "tensor holds ", dtype_name(dtype_), ", accessed as ", dtype_name(dtype_of<T>()));
  }

  DType dtype_ = DType::Undefined;
  Dims dims_;
  int64_t numel_ = 0;
  std::shared_ptr<std::byte[]> data_;
};

}  // namespace wafer
