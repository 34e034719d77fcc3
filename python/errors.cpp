#include "errors.hpp"

#include <exception>
#include <string>

#include "nst/error.hpp"

namespace nst::python {
namespace {

// The classes, owned by the module (a reference is kept here for the
// translator, which runs without access to the module object).
struct ErrorClasses {
  PyObject *error, *invalid_argument, *file_error, *out_of_memory, *device_error;
};
ErrorClasses classes;

// `bases` is one class or a tuple of them: Python allows several bases for
// exceptions whose layouts agree (RuntimeError with ValueError, OSError or
// MemoryError).
PyObject* new_error_class(nb::module_& m, const char* name, nb::handle bases, const char* doc) {
  const std::string qualified = std::string("nst.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!cls) throw nb::python_error();
  m.attr(name) = nb::handle(cls);  // the module holds a reference too; `cls` stays ours
  return cls;
}

nb::tuple bases(PyObject* first, PyObject* second) { return nb::make_tuple(nb::handle(first), nb::handle(second)); }

// Most derived first: every class below is an nst::Error.
void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const InvalidArgument& e) {
    PyErr_SetString(classes.invalid_argument, e.what());
  } catch (const FileError& e) {
    PyErr_SetString(classes.file_error, e.what());
  } catch (const OutOfMemory& e) {
    PyErr_SetString(classes.out_of_memory, e.what());
  } catch (const DeviceError& e) {
    PyErr_SetString(classes.device_error, e.what());
  } catch (const Error& e) {
    PyErr_SetString(classes.error, e.what());
  }
}

}  // namespace

void bind_errors(nb::module_& m) {
  classes.error = new_error_class(m, "Error", nb::handle(PyExc_RuntimeError), "Base of nst's errors.");
  classes.invalid_argument =
      new_error_class(m, "InvalidArgument", bases(classes.error, PyExc_ValueError),
                      "An invalid value: an option, an array's dtype or shape, a layer name.");
  classes.file_error = new_error_class(m, "FileError", bases(classes.error, PyExc_OSError),
                                       "A file is missing, unreadable, corrupt or of the wrong layout.");
  classes.out_of_memory = new_error_class(m, "OutOfMemory", bases(classes.error, PyExc_MemoryError),
                                          "The buffers of a run do not fit in memory (lower image_size).");
  classes.device_error = new_error_class(m, "DeviceError", nb::handle(classes.error),
                                         "A CUDA, cuDNN or cuBLAS call failed, or no device exists.");
  nb::register_exception_translator(translate);
}

}  // namespace nst::python
