// The library's exceptions as Python exceptions. nst.Error is the base
// (a RuntimeError); each subclass is also the built-in exception a Python
// caller would catch for that failure:
//   nst::Error            -> nst.Error(RuntimeError)
//   nst::InvalidArgument  -> nst.InvalidArgument(nst.Error, ValueError)
//   nst::FileError        -> nst.FileError(nst.Error, OSError)
//   nst::OutOfMemory      -> nst.OutOfMemory(nst.Error, MemoryError)
//   nst::DeviceError      -> nst.DeviceError(nst.Error)
#pragma once
#include <nanobind/nanobind.h>

namespace nst::python {

namespace nb = nanobind;

// Creates the classes in `m` and registers the C++ -> Python translation.
void bind_errors(nb::module_& m);

}  // namespace nst::python
