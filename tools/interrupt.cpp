#include "tools/interrupt.hpp"

#include "nst/image.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <initializer_list>

namespace nst::tools {
namespace {

volatile std::sig_atomic_t g_first_signal = 0;
char g_message[160];
size_t g_message_length = 0;

void on_signal(int sig) {
  if (g_first_signal != 0) {
    nst::remove_temporary_output();  // the main thread may be writing the output
    _exit(128 + sig);
  }
  g_first_signal = sig;
  // write(2) is async-signal-safe; the message was built at install time.
  const ssize_t ignored = ::write(STDERR_FILENO, g_message, g_message_length);
  (void)ignored;
}

}  // namespace

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "a signal";
  }
}

void install_interrupt_handlers(const char* tool) {
  std::snprintf(g_message, sizeof g_message,
                "\n%s: interrupted: writing the current image after this iteration (again to quit at once)\n", tool);
  g_message_length = std::strlen(g_message);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

int pending_interrupt() { return g_first_signal; }

}  // namespace nst::tools
