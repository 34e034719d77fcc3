// Deterministic parallel sums: the range is cut into a fixed number of
// chunks whatever the thread count, each chunk summed in double, and the
// partials added in order, so a loss is bit-identical run to run.
#pragma once
#include <algorithm>
#include <cstddef>

namespace nst::cpu {

template <typename Term>
double deterministic_sum(size_t n, Term term) {
  constexpr int kChunks = 64;
  double partial[kChunks] = {};
  const size_t step = (n + kChunks - 1) / kChunks;
#pragma omp parallel for schedule(static)
  for (int k = 0; k < kChunks; ++k) {
    const size_t begin = k * step, end = std::min(n, begin + step);
    double s = 0;
    for (size_t i = begin; i < end; ++i) s += term(i);
    partial[k] = s;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace nst::cpu
