// The rule that names a better OpenBLAS core (kernels/cpu/blas_core.h):
// only an old kernel set on a CPU with AVX2 and FMA gets advice, and the
// advice is a core this CPU can run.
#include <gtest/gtest.h>

#include <string>

#include "kernels/cpu/blas_core.h"
#include "kernels/cpu/ops.hpp"

namespace {

bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

TEST(CpuBlasCore, OldKernelsOnAnAvx2CpuGetAdvice) {
  if (!has_avx2()) GTEST_SKIP() << "this CPU has no AVX2: no OpenBLAS choice is too old for it";
  for (const char* old : {"Prescott", "Core2", "Nehalem", "Sandybridge", "NEHALEM"}) {
    const char* better = nst_better_openblas_core(old);
    ASSERT_NE(better, nullptr) << old;
    const std::string b = better;
    EXPECT_TRUE(b == "Haswell" || b == "SkylakeX") << b;
    if (b == "SkylakeX") {
      EXPECT_TRUE(__builtin_cpu_supports("avx512f")) << "SkylakeX kernels need AVX-512";
    }
  }
}

TEST(CpuBlasCore, CurrentKernelsGetNone) {
  for (const char* fine : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"}) {
    EXPECT_EQ(nst_better_openblas_core(fine), nullptr) << fine;
  }
  EXPECT_EQ(nst_better_openblas_core(nullptr), nullptr);
}

TEST(CpuBlasCore, AdviceNamesTheVariableWhenThereIsAny) {
  const std::string advice = nst::cpu::blas_core_advice();
  if (advice.empty()) GTEST_SKIP() << "OpenBLAS chose well here (OPENBLAS_CORETYPE may be set)";
  EXPECT_NE(advice.find("OPENBLAS_CORETYPE="), std::string::npos) << advice;
}

}  // namespace
