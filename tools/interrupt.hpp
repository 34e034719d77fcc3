// SIGINT, SIGTERM and SIGHUP for long runs: the first one is recorded, and
// the run writes what it has and exits 128+signal; a second one exits at
// once (save_image holds these signals while it writes, so even then no
// temporary file is left and the previous output stays whole).
#pragma once

namespace nst::tools {

void install_interrupt_handlers(const char* tool);
int pending_interrupt();  // the first signal received, 0 if none
const char* signal_name(int sig);

// Thrown by a progress callback to stop a run that was interrupted.
struct Interrupted {
  int signal;
};

}  // namespace nst::tools
