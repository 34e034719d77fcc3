#include <omp.h>
#include <cblas.h>

#include <string>

#include "kernels/cpu/blas_core.h"
#include "kernels/cpu/ops.hpp"

namespace nst::cpu {
void set_num_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}
int num_threads() { return omp_get_max_threads(); }

std::string blas_core_advice() {
  const char* core = openblas_get_corename();
  const char* better = nst_better_openblas_core(core);
  if (!better) return "";
  return std::string("OpenBLAS chose its ") + core + " kernels, older than this CPU (it has AVX2" +
         (std::string(better) == "SkylakeX" ? " and AVX-512" : "") +
         "): convolutions run up to 1.5x slower; set OPENBLAS_CORETYPE=" + better + " in the environment";
}
}  // namespace nst::cpu
