// Runs a shell command for the CLI tests, capturing stdout and stderr.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace nst::testing {

struct CommandResult {
  int code;            // exit status, -1 if killed by a signal
  std::string output;  // stdout and stderr interleaved
};

inline CommandResult run_command(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed: " + cmd};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace nst::testing
