/* The machine's measured single-precision FMA peak, for bench/RESULTS.md's
 * fractions of peak: every thread runs independent chains of fused
 * multiply-adds on registers (no memory traffic), 16 chains of the widest
 * vector the compiler targets, long enough to hide the FMA latency.
 * Not part of the CMake build (it must be compiled for the host's widest
 * vectors, which the portable build is not):
 *   gcc -O2 -march=native -fopenmp bench/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 * Prints GFLOP/s (2 per lane per FMA) on 1 thread and on all threads. */
#include <omp.h>
#include <stdio.h>

#define CHAINS 16
#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));

static double run(int threads, long iterations) {
  double start = omp_get_wtime();
  float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  {
    vec acc[CHAINS], a, b;
    for (int l = 0; l < LANES; ++l) { a[l] = 0.999999f; b[l] = 1e-7f; }
    for (int c = 0; c < CHAINS; ++c) acc[c] = a * (float)(c + 1);
    for (long i = 0; i < iterations; ++i)
#pragma GCC unroll 16
      for (int c = 0; c < CHAINS; ++c) acc[c] = acc[c] * a + b; /* contracted into an FMA */
    for (int c = 0; c < CHAINS; ++c)
      for (int l = 0; l < LANES; ++l) sink += acc[c][l];
  }
  double seconds = omp_get_wtime() - start;
  if (sink == 12345.f) printf("!");
  return 2.0 * LANES * CHAINS * (double)iterations * threads / seconds / 1e9;
}

int main(void) {
  const long iterations = 200000000L;
  const int all = omp_get_max_threads();
  run(all, iterations / 20); /* warm up: clocks, thread start */
  printf("%d-float vectors: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s\n", LANES, run(1, iterations), all,
         run(all, iterations));
  return 0;
}
