#include "callbacks.hpp"

#include <nanobind/stl/string.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace nst::python {
namespace {

Progress progress_of(const IterationStats& st) {
  return Progress{st.iteration, st.iterations, st.scale, st.scales, st.width, st.height, st.losses, st.losses_read, st.ms,
                  st.image,     st.images};
}

std::string losses_repr(const Losses& l) {
  return "Losses(total=" + std::to_string(l.total) + ", content=" + std::to_string(l.content) +
         ", style=" + std::to_string(l.style) + ", tv=" + std::to_string(l.tv) + ")";
}

std::string progress_repr(const Progress& p) {
  return "Progress(iteration=" + std::to_string(p.iteration) + "/" + std::to_string(p.iterations) +
         ", scale=" + std::to_string(p.scale + 1) + "/" + std::to_string(p.scales) + ", " +
         std::to_string(p.width) + "x" + std::to_string(p.height) + ", " + losses_repr(p.losses) +
         ", ms=" + std::to_string(p.ms) + ")";
}

}  // namespace

void bind_progress(nb::module_& m) {
  nb::class_<Losses>(m, "Losses", "The objective's terms at one iteration (each a weighted mean).")
      .def_ro("total", &Losses::total)
      .def_ro("content", &Losses::content)
      .def_ro("style", &Losses::style)
      .def_ro("tv", &Losses::tv)
      .def("__repr__", &losses_repr);
  nb::class_<Progress>(m, "Progress", "What stylize's progress callback receives after each iteration.")
      .def_ro("iteration", &Progress::iteration, "1-based, within the scale")
      .def_ro("iterations", &Progress::iterations, "planned at this scale")
      .def_ro("scale", &Progress::scale, "0-based index into the scales")
      .def_ro("scales", &Progress::scales)
      .def_ro("width", &Progress::width, "of this scale's image")
      .def_ro("height", &Progress::height)
      .def_ro("losses", &Progress::losses, "evaluated at this iteration's image, before its update")
      .def_ro("losses_read", &Progress::losses_read, "False when loss_every skipped the read: losses are NaN")
      .def_ro("ms", &Progress::ms, "wall time of this iteration")
      .def_ro("image", &Progress::image, "0-based index of the content image (stylize_many)")
      .def_ro("images", &Progress::images, "content images in the run (1 for stylize)")
      .def("__repr__", &progress_repr);
}

template <class Call>
void RunCallbacks::with_gil(Call call) {
  nb::gil_scoped_acquire gil;
  try {
    call();
    // Ctrl-C: Python's handler only sets a flag while we run C++ code.
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  } catch (...) {
    raised_ = std::current_exception();  // destroyed later, with the GIL held
    throw CallbackRaised{};
  }
}

ProgressFn RunCallbacks::progress_fn() {
  return [this](const IterationStats& st) {
    with_gil([&] {
      if (!progress_.is_none()) progress_(progress_of(st));
    });
  };
}

LogFn RunCallbacks::log_fn() {
  if (log_.is_none()) return {};
  return [this](const std::string& line) { with_gil([&] { log_(line); }); };
}

void RunCallbacks::rethrow_raised() {
  // with_gil keeps the exception before it throws CallbackRaised.
  if (!raised_) throw std::logic_error("nst: CallbackRaised without a kept exception");
  std::rethrow_exception(std::exchange(raised_, nullptr));
}

}  // namespace nst::python
