// The cpu backend's fused attention kernel:
//   Y[b,h] = softmax(scale * Q[b,h] K[b,h]^T + Mask[b,h]) V[b,h]
// over strided operands (Q [B,H,S,D], K [B,H/g,Sk,D], V [B,H/g,Sk,Dv] with g = kv_group,
// Y [B,H,S,Dv]; each an offset plus per-dim strides in elements, so Q, K and V
// can be read straight out of a packed QKV projection and Y written straight
// into the row-major input of the output projection). Elements are float32 or
// bfloat16; arithmetic is float32 throughout.
//
// Work is split over (batch, head, block of query rows) on the OpenMP pool.
// Per head, K^T and V are first packed into float32 scratch (zero-padded to
// the vector width); per block, the scaled Q rows are packed, S = Q K^T is
// computed by a register-blocked micro-kernel into rows that stay in L1, the
// softmax subtracts each row's max and exponentiates with a vectorized exp,
// and O = P V is a second micro-kernel; rows are divided by their sums as they
// are stored. AVX-512, AVX2 and plain C++ versions, chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wafer::cpu {

struct AttentionOperand {
  void* data = nullptr;  // element 0 of the buffer the view indexes
  bool bf16 = false;     // bfloat16 elements (else float32)
  int64_t offset = 0;
  int64_t strides[4] = {0, 0, 0, 0};  // [B,H,rows,cols]; 0 broadcasts
};

struct AttentionArgs {
  int64_t batch = 0, heads = 0, s = 0, sk = 0, d = 0, dv = 0;
  int64_t kv_group = 1;  // query heads per K/V head (grouped-query attention): head h reads K/V head h / kv_group
  float scale = 1.f;
  AttentionOperand q, k, v, y;
  const float* mask = nullptr;  // float32, strides in mask_strides ([B,H,S,Sk], 0 broadcasts)
  int64_t mask_strides[4] = {0, 0, 0, 0};
  float* scratch = nullptr;  // attention_scratch_floats() floats, 64-byte aligned
  int threads = 1;           // the scratch holds per-thread space for this many threads
};

// Float32 elements of scratch the kernel needs for these sizes.
size_t attention_scratch_floats(int64_t batch, int64_t heads, int64_t s, int64_t sk, int64_t d, int64_t dv,
                                int threads);

// Runs the kernel with the best instruction set the CPU has.
void attention(const AttentionArgs& a);

// The same with a given instruction set ("avx512", "avx2", "scalar"), for
// tests; false when cpu_isa() (the CPU, capped by WAFER_CPU_ISA) is below it.
bool attention_with(const char* isa, const AttentionArgs& a);

}  // namespace wafer::cpu
