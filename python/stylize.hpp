// nst.stylize(content, styles, *, weights, progress=None, log=None, **options).
#pragma once
#include <nanobind/nanobind.h>

namespace nst::python {

namespace nb = nanobind;

void bind_stylize(nb::module_& m);

}  // namespace nst::python
