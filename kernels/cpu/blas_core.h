/* OpenBLAS 0.3.21 (Debian 12's) picks its GEMM kernels from the CPU's
 * family and model numbers, and falls back to its oldest x86-64 kernels
 * ("Prescott", SSE3) for a model it does not know, whatever instructions
 * the CPU has. Seen on this project's development VM, an Intel Xeon that
 * reports AVX-512: conv2d fprop at 64x64x256 ran 37.5 ms against 25.8 ms
 * with OPENBLAS_CORETYPE=SkylakeX (nst_bench_ops, bench/RESULTS.md), and
 * its summation order moved the 10-step Adam trajectory of a golden test
 * past its tolerance. OpenBLAS reads OPENBLAS_CORETYPE once, when it is
 * loaded, so a process cannot fix its own choice: this names the value to
 * set. Plain C so that the configure-time check (cmake/openblas_core.c)
 * and the library share the rule. */
#ifndef NST_KERNELS_CPU_BLAS_CORE_H
#define NST_KERNELS_CPU_BLAS_CORE_H
#include <string.h>

/* The OPENBLAS_CORETYPE this CPU should have had, when `corename` (from
 * openblas_get_corename()) is an SSE/AVX-1 kernel set on a CPU with AVX2;
 * NULL when the choice is fine (or the CPU is not x86). */
static inline const char* nst_better_openblas_core(const char* corename) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  static const char* const kOld[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                     "sandybridge", "katmai", "coppermine", "northwood", "banias",
                                     "opteron", "barcelona", "bobcat", "nano", "unknown"};
  size_t i;
  char lower[32];
  int old = 0;
  if (!corename) return NULL;
  for (i = 0; i + 1 < sizeof lower && corename[i]; ++i) {
    const char c = corename[i];
    lower[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  lower[i] = '\0';
  for (i = 0; i < sizeof kOld / sizeof kOld[0]; ++i) old |= strncmp(lower, kOld[i], strlen(kOld[i])) == 0;
  __builtin_cpu_init();
  if (!old || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return NULL;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    return "SkylakeX";
  }
  return "Haswell";
#else
  (void)corename;
  return NULL;
#endif
}

#endif
