// A progress line for long runs: iteration, losses, speed and ETA. On a
// terminal the line is redrawn in place; in a log it is one line each time.
#pragma once
#include "nst/nst.hpp"

namespace nst::tools {

class ProgressPrinter {
 public:
  ProgressPrinter(int every, bool terminal) : every_(every), terminal_(terminal) {}
  void update(const IterationStats& st);
  void finish();  // ends an in-place line

 private:
  int every_;
  bool terminal_;
  bool line_open_ = false;
  double total_ms_ = 0;
};

}  // namespace nst::tools
