#include <gtest/gtest.h>

#include "core/tensor.h"

namespace wafer {

TEST(Tensor, AllocatesZeroedAndChecksType) {
  Tensor t(DType::Float32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(t.data<float>()[5], 0.0f);
  EXPECT_THROW(t.data<int32_t>(), Error);
}

TEST(Tensor, RejectsOverflowingAndAbsurdShapes) {
  EXPECT_THROW(Tensor(DType::Float32, {int64_t(1) << 40, int64_t(1) << 40}), Error);
  EXPECT_THROW(Tensor(DType::Float32, {-1}), Error);
  EXPECT_THROW(Tensor(DType::Float32, {int64_t(1) << 40}), Error);  // 4 TiB, over the limit
}

TEST(Tensor, HalfConversionsRoundToNearestEven) {
  EXPECT_EQ(Float16(1.0f).bits, 0x3c00);
  EXPECT_EQ(Float16(65504.0f).bits, 0x7bff);
  EXPECT_EQ(Float16(1e6f).bits, 0x7c00);                   // overflow to inf
  EXPECT_EQ(float(Float16(float(Float16::to_float(0x0001)))), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(BFloat16(1.0f).bits, 0x3f80);
  EXPECT_EQ(BFloat16(1.00390625f).bits, 0x3f80);  // exactly halfway: ties to even
  EXPECT_EQ(BFloat16(1.01171875f).bits, 0x3f82);  // 1 + 3*2^-8: ties up to even
}

TEST(Tensor, CastFollowsOnnxSemantics) {
  Tensor f = Tensor::from_vector<float>({4}, {1.7f, -1.7f, 0.0f, 300.0f});
  Tensor i = f.cast(DType::Int32);
  EXPECT_EQ(i.data<int32_t>()[0], 1);
  EXPECT_EQ(i.data<int32_t>()[1], -1);
  Tensor b = f.cast(DType::Bool);
  EXPECT_TRUE(b.data<bool>()[0]);
  EXPECT_FALSE(b.data<bool>()[2]);
}

}  // namespace wafer
