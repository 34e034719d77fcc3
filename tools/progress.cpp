#include "tools/progress.hpp"

#include <cstdio>
#include <string>

namespace nst::tools {
namespace {

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

}  // namespace

void ProgressPrinter::update(const IterationStats& st) {
  if (st.iteration == 1) {
    finish();  // a new scale starts on a line of its own
    total_ms_ = 0;
  }
  total_ms_ += st.ms;
  const bool last = st.iteration == st.iterations;
  if (every_ <= 0 || (st.iteration % every_ != 0 && !last && st.iteration != 1)) return;
  if (!st.losses_read) return;  // --loss-every: nothing to show at this iteration
  const double it_per_s = st.iteration * 1000.0 / total_ms_;
  const double eta = (st.iterations - st.iteration) / it_per_s;  // of this scale
  char scale[48] = "";
  if (st.scales > 1) std::snprintf(scale, sizeof scale, "scale %d/%d %dx%d  ", st.scale + 1, st.scales, st.width, st.height);
  std::fprintf(stderr, "%s%s%siter %*d/%d  loss %.4e (content %.3e, style %.3e, tv %.3e)  %.2f it/s  ETA %s%s",
               terminal_ ? "\r" : "", prefix_.c_str(), scale, static_cast<int>(std::to_string(st.iterations).size()), st.iteration,
               st.iterations, st.losses.total, st.losses.content, st.losses.style, st.losses.tv, it_per_s,
               format_duration(eta).c_str(), terminal_ ? "\033[K" : "\n");
  std::fflush(stderr);
  line_open_ = terminal_;
}

void ProgressPrinter::finish() {
  if (line_open_) std::fputc('\n', stderr);
  line_open_ = false;
}

}  // namespace nst::tools
