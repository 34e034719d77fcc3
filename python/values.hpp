// Python values to C++ values for one named argument or option: each
// converter raises TypeError for a value of the wrong type and
// nst::InvalidArgument (nst.InvalidArgument, a ValueError) for one out of
// range, the message naming `what`, so that `threads="2"` reads
// "option 'threads' expects an int, got str '2'".
#pragma once
#include <nanobind/nanobind.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nst::python {

namespace nb = nanobind;

// bool only: True/False (and numpy.bool_), not 0/1, which are easy to
// confuse with a weight.
bool to_bool(nb::handle value, const std::string& what);
// An int (or numpy integer) that fits in int; floats are refused, not
// truncated.
int to_int(nb::handle value, const std::string& what);
// 0..2^64-1.
uint64_t to_seed(nb::handle value, const std::string& what);
// Any real number (int or float); range rules are the library's
// (Options::validate).
float to_float(nb::handle value, const std::string& what);
std::string to_string(nb::handle value, const std::string& what);

// Lists and tuples (any iterable but str, bytes and dicts) of the above.
std::vector<int> to_int_list(nb::handle value, const std::string& what);
std::vector<float> to_float_list(nb::handle value, const std::string& what);
// A single str counts as a list of one (content_layers="relu4_2").
std::vector<std::string> to_string_list(nb::handle value, const std::string& what);

// "str 'abc'", "float 2.5": a value as an error message shows it.
std::string describe(nb::handle value);

}  // namespace nst::python
