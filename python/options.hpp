// The keywords of nst.stylize that set nst::Options, from one table: each
// entry has the keyword (the field's name), its type and documentation,
// and the setter that converts the Python value. The same table applies
// the keywords, names the valid ones when a keyword is unknown, and writes
// the "Options" part of stylize's docstring.
#pragma once
#include <nanobind/nanobind.h>

#include <string>

#include "nst/nst.hpp"

namespace nst::python {

namespace nb = nanobind;

// Sets each keyword of `kwargs` on `options`. An unknown keyword raises
// TypeError naming it and listing the valid ones; a value of the wrong type
// raises TypeError, one out of range nst.InvalidArgument, naming the option.
// Range rules stay the library's: call options.validate() after this.
void apply_options(const nb::kwargs& kwargs, Options& options);

// One line per option, "    name (type): doc", for the docstring.
std::string options_doc();

}  // namespace nst::python
