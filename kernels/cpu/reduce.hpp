// Deterministic parallel sums: the range is cut into a fixed number of
// chunks whatever the thread count, each chunk summed in double, and the
// partials added in order, so a loss (or a dot product) is bit-identical
// run to run and at any thread count.
#pragma once
#include <algorithm>
#include <cstddef>

namespace nst::cpu {

// sum over i in [0, n) of term(i): 64 chunks of consecutive terms, each
// chunk summed in order by one thread, the chunk sums added in order.
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

// Elements per term of deterministic_block_sum: a block is one SIMD loop,
// and the block boundaries (hence the summation order) depend only on n,
// never on the thread count.
constexpr size_t kSumBlock = 4096;

// sum over the blocks [b*kSumBlock, min(n, (b+1)*kSumBlock)) of
// block(begin, end), a double (typically one `omp simd` reduction), as a
// deterministic_sum. Write block as a call to a plain function taking the
// pointers by value: through a lambda's captured references the vectoriser
// falls back to gathers.
template <typename Block>
double deterministic_block_sum(size_t n, Block block) {
  return deterministic_sum((n + kSumBlock - 1) / kSumBlock, [&](size_t b) {
    return block(b * kSumBlock, std::min(n, (b + 1) * kSumBlock));
  });
}

}  // namespace nst::cpu
