// The Python callbacks of a run, called from the engine while the GIL is
// released: each call takes the GIL for its duration. An exception the
// callback raises (or a KeyboardInterrupt: Ctrl-C is checked at every
// iteration) stops the run: it is kept, the engine is unwound with a C++
// exception of our own, and rethrow_raised() gives it back to Python unchanged
// once the GIL is held again.
#pragma once
#include <nanobind/nanobind.h>

#include <exception>

#include "nst/nst.hpp"

namespace nst::python {

namespace nb = nanobind;

// What the progress callback receives: nst::IterationStats without the
// Session, which lives only during the call.
struct Progress {
  int iteration = 0, iterations = 0, scale = 0, scales = 1, width = 0, height = 0;
  Losses losses;  // NaN when not read (Options::loss_every)
  bool losses_read = true;
  double ms = 0;
  int image = 0, images = 1;  // which content image, in stylize_many
};

void bind_progress(nb::module_& m);

class RunCallbacks {
 public:
  // `progress` and `log` may be None. Both must outlive the run (they are
  // the caller's arguments).
  RunCallbacks(nb::handle progress, nb::handle log) : progress_(progress), log_(log) {}

  // Always set, even without a Python callback, so that Ctrl-C stops a run.
  ProgressFn progress_fn();
  LogFn log_fn();  // empty without a log callback

  // With the GIL held, once CallbackRaised has unwound the engine: rethrows
  // what the callback raised.
  [[noreturn]] void rethrow_raised();

 private:
  template <class Call>
  void with_gil(Call call);

  nb::handle progress_, log_;
  std::exception_ptr raised_;
};

// Thrown through the engine after a callback raised; carries nothing, as
// the Python exception stays in RunCallbacks.
struct CallbackRaised {};

}  // namespace nst::python
