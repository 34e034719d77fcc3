/* Configure-time check (tests/CMakeLists.txt): prints the OPENBLAS_CORETYPE
 * the tests should run with when OpenBLAS misjudges this CPU, else nothing. */
#include <stdio.h>

#include "kernels/cpu/blas_core.h"

char* openblas_get_corename(void);

int main(void) {
  const char* better = nst_better_openblas_core(openblas_get_corename());
  if (better) printf("%s", better);
  return 0;
}
