// The matrix-multiply loop nest shared by MatMul, Gemm, the integer and
// quantized variants and 1x1 convolutions.
//
// Still a plain triple loop, but organised so that -O2 (without -march) runs
// it at several GFLOP/s: the output is computed in tiles of R rows x W
// columns held in a local accumulator array of fixed size. Fixed trip counts
// let GCC's cheap vectorizer use SIMD for the innermost loop, and the tile
// stays in registers while k runs, so each B row segment is loaded once per R
// rows of A. float32 accumulates in float32 (the ONNX backends do the same).
#pragma once

#include <cstdint>
#include <type_traits>

namespace wafer {

// Integers accumulate in their unsigned counterpart so that overflow wraps
// (as numpy and ONNX Runtime do) instead of being undefined behaviour.
template <typename T, bool = std::is_integral_v<T>>
struct GemmAcc {
  using type = T;
};
template <typename T>
struct GemmAcc<T, true> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
using gemm_acc_t = typename GemmAcc<T>::type;

namespace gemm_detail {

template <typename T, int R, int W>
inline void tile(const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t k_count) {
  using A = gemm_acc_t<T>;
  A acc[R][W] = {};
  for (int64_t k = 0; k < k_count; ++k) {
    const T* brow = b + k * ldb;
    for (int r = 0; r < R; ++r) {
      A av = A(a[r * lda + k]);
      for (int x = 0; x < W; ++x) acc[r][x] += av * A(brow[x]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int x = 0; x < W; ++x) c[r * ldc + x] = T(A(c[r * ldc + x]) + acc[r][x]);
}

template <typename T, int R>
inline void rows(const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t k_count, int64_t n) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) tile<T, R, 16>(a, lda, b + j, ldb, c + j, ldc, k_count);
  for (; j + 4 <= n; j += 4) tile<T, R, 4>(a, lda, b + j, ldb, c + j, ldc, k_count);
  for (; j < n; ++j) tile<T, R, 1>(a, lda, b + j, ldb, c + j, ldc, k_count);
}

}  // namespace gemm_detail

// c[m x n] += a[m x k] * b[k x n]; all row-major with leading dims lda/ldb/ldc.
template <typename T>
void gemm_accumulate(const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, int64_t m, int64_t k,
                     int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) gemm_detail::rows<T, 4>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, k, n);
  for (; i < m; ++i) gemm_detail::rows<T, 1>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, k, n);
}

}  // namespace wafer
