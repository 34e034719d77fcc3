#include "values.hpp"

#include <nanobind/stl/string.h>

#include <climits>
#include <cmath>

#include "nst/error.hpp"

namespace nst::python {
namespace {

[[noreturn]] void wrong_type(nb::handle value, const std::string& what, const char* expected) {
  throw nb::type_error((what + " expects " + expected + ", got " + describe(value)).c_str());
}

// bool is an int in Python; as a count, a size or a weight it is a mistake.
bool is_integer(nb::handle value) { return PyIndex_Check(value.ptr()) && !PyBool_Check(value.ptr()); }

// numpy.bool_ (numpy 1) / numpy.bool (numpy 2) without importing numpy.
bool is_numpy_bool(nb::handle value) {
  const std::string type = Py_TYPE(value.ptr())->tp_name;
  return type == "numpy.bool_" || type == "numpy.bool";
}

bool is_real(nb::handle value) {
  if (PyBool_Check(value.ptr()) || is_numpy_bool(value)) return false;
  // numpy.float32 and the like are no float subclass but have __float__.
  const PyNumberMethods* number = Py_TYPE(value.ptr())->tp_as_number;
  return PyFloat_Check(value.ptr()) || is_integer(value) || (number && number->nb_float);
}

// The value as a Python int (numpy integers through __index__).
nb::object as_index(nb::handle value) {
  PyObject* index = PyNumber_Index(value.ptr());
  if (!index) throw nb::python_error();
  return nb::steal(index);
}

// Lists, tuples, generators: the elements in order. A str, bytes or dict
// is iterable too, but never what a caller means by a list here.
template <class T, class Convert>
std::vector<T> to_list(nb::handle value, const std::string& what, const char* expected, Convert convert) {
  const bool text = PyUnicode_Check(value.ptr()) || PyBytes_Check(value.ptr()) || PyDict_Check(value.ptr());
  PyObject* it = text ? nullptr : PyObject_GetIter(value.ptr());
  if (!it) {
    PyErr_Clear();
    wrong_type(value, what, expected);
  }
  nb::object iterator = nb::steal(it);
  std::vector<T> out;
  while (PyObject* item = PyIter_Next(iterator.ptr())) {
    nb::object element = nb::steal(item);
    out.push_back(convert(element, what + "[" + std::to_string(out.size()) + "]"));
  }
  if (PyErr_Occurred()) throw nb::python_error();
  return out;
}

}  // namespace

std::string describe(nb::handle value) {
  std::string repr = nb::cast<std::string>(nb::repr(value));
  if (repr.size() > 40) repr = repr.substr(0, 37) + "...";
  return std::string(Py_TYPE(value.ptr())->tp_name) + " " + repr;
}

bool to_bool(nb::handle value, const std::string& what) {
  if (PyBool_Check(value.ptr()) || is_numpy_bool(value)) return PyObject_IsTrue(value.ptr()) == 1;
  wrong_type(value, what, "a bool (True or False)");
}

int to_int(nb::handle value, const std::string& what) {
  if (!is_integer(value)) wrong_type(value, what, "an int");
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(as_index(value).ptr(), &overflow);
  if (overflow != 0 || v < INT_MIN || v > INT_MAX) {
    throw InvalidArgument(what + " is out of range (a 32-bit int), got " + describe(value));
  }
  return static_cast<int>(v);
}

uint64_t to_seed(nb::handle value, const std::string& what) {
  if (!is_integer(value)) wrong_type(value, what, "an int from 0 to 2**64-1");
  const nb::object index = as_index(value);
  const unsigned long long v = PyLong_AsUnsignedLongLong(index.ptr());
  if (PyErr_Occurred()) {
    PyErr_Clear();
    throw InvalidArgument(what + " must be an int from 0 to 2**64-1, got " + describe(value));
  }
  return v;
}

float to_float(nb::handle value, const std::string& what) {
  if (!is_real(value)) wrong_type(value, what, "a number");
  const double v = PyFloat_AsDouble(value.ptr());
  if (PyErr_Occurred()) throw nb::python_error();
  return static_cast<float>(v);
}

std::string to_string(nb::handle value, const std::string& what) {
  if (!PyUnicode_Check(value.ptr())) wrong_type(value, what, "a str");
  return nb::cast<std::string>(value);
}

std::vector<int> to_int_list(nb::handle value, const std::string& what) {
  return to_list<int>(value, what, "a list of int", to_int);
}

std::vector<float> to_float_list(nb::handle value, const std::string& what) {
  return to_list<float>(value, what, "a list of numbers", to_float);
}

std::vector<std::string> to_string_list(nb::handle value, const std::string& what) {
  if (PyUnicode_Check(value.ptr())) return {to_string(value, what)};
  return to_list<std::string>(value, what, "a str or a list of str", to_string);
}

}  // namespace nst::python
