// A progress line for long runs: iteration, losses, speed and ETA. On a
// terminal the line is redrawn in place; in a log it is one line each time.
#pragma once
#include <string>

#include "nst/nst.hpp"

namespace nst::tools {

class ProgressPrinter {
 public:
  ProgressPrinter(int every, bool terminal) : every_(every), terminal_(terminal) {}
  void update(const IterationStats& st);
  void finish();  // ends an in-place line
  // Put before each line, e.g. "[2/3] " for the second of three images.
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

 private:
  int every_;
  bool terminal_;
  bool line_open_ = false;
  double total_ms_ = 0;
  std::string prefix_;
};

}  // namespace nst::tools
