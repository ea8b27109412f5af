// The one precision option: its parser, the default rule (resolve_precision) and
// the npu target spec "PRESET[:PRECISION]" (parse_npu_target).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "core/precision.h"
#include "npu/target.h"

namespace wafer {
namespace {

using testing::HasSubstr;

TEST(Precision, ParsesNamesAndDtypeNames) {
  EXPECT_EQ(parse_precision("auto"), Precision::automatic);
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  EXPECT_EQ(parse_precision("bfloat16"), Precision::bf16);
  EXPECT_EQ(parse_precision("float32"), Precision::fp32);
  for (Precision p : {Precision::automatic, Precision::fp32, Precision::bf16, Precision::fp16, Precision::int8})
    EXPECT_EQ(parse_precision(precision_name(p)), p);
  EXPECT_EQ(precision_of(DType::Float16), Precision::fp16);
  EXPECT_THROW(precision_of(DType::Int64), Error);
  try {
    parse_precision("fp8", "--target");
    FAIL() << "fp8 accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("--target: expected auto, fp32, bf16, fp16 or int8, got 'fp8'"));
  }
}

TEST(Precision, DefaultRuleDependsOnUse) {
  auto has = [](std::set<DType> types) { return [types](DType t) { return types.count(t) > 0; }; };
  auto h100 = has({DType::Float32, DType::BFloat16, DType::Float16, DType::Int8});
  auto tpu_v4 = has({DType::BFloat16, DType::Int8});
  auto tpu_v1 = has({DType::Int8});
  using U = PrecisionUse;
  // Running a model: fp32 where the target has it, else its float type, fp32 on an int8-only chip.
  EXPECT_EQ(resolve_precision(Precision::automatic, U::execute, h100), DType::Float32);
  EXPECT_EQ(resolve_precision(Precision::automatic, U::execute, tpu_v4), DType::BFloat16);
  EXPECT_EQ(resolve_precision(Precision::automatic, U::execute, tpu_v1), DType::Float32);
  // Estimating a design: the hardware's own best datatype.
  EXPECT_EQ(resolve_precision(Precision::automatic, U::estimate, h100), DType::BFloat16);
  EXPECT_EQ(resolve_precision(Precision::automatic, U::estimate, tpu_v4), DType::BFloat16);
  EXPECT_EQ(resolve_precision(Precision::automatic, U::estimate, tpu_v1), DType::Int8);
  // An explicit precision is used as given, supported or not (the target reports what it cannot do).
  EXPECT_EQ(resolve_precision(Precision::fp16, U::execute, tpu_v1), DType::Float16);
  EXPECT_EQ(resolve_precision(Precision::int8, U::estimate, h100), DType::Int8);
}

TEST(Precision, NpuTargetSpec) {
  npu::NpuTarget t = npu::parse_npu_target("h100:bf16");
  EXPECT_EQ(t.hardware, "h100");
  EXPECT_EQ(t.precision, Precision::bf16);
  t = npu::parse_npu_target("tpu-v4");
  EXPECT_EQ(t.hardware, "tpu-v4");
  EXPECT_EQ(t.precision, Precision::automatic);
  t = npu::parse_npu_target("tpu-v4", Precision::int8);  // --precision alone
  EXPECT_EQ(t.precision, Precision::int8);
  t = npu::parse_npu_target("edge-npu:int8", Precision::int8);  // both, agreeing
  EXPECT_EQ(t.precision, Precision::int8);
  t = npu::parse_npu_target("chips/a:b.yaml");  // a ':' that is not a precision belongs to the name
  EXPECT_EQ(t.hardware, "chips/a:b.yaml");
  try {
    npu::parse_npu_target("edge-npu:int8", Precision::fp16);
    FAIL() << "conflicting precisions accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("the target says int8 but --precision says fp16"));
  }
  EXPECT_THROW(npu::parse_npu_target(":bf16"), Error);
}

}  // namespace
}  // namespace wafer
