// save_image and termination signals: a SIGTERM that arrives while the
// temporary file exists must wait until it is renamed, so that a handler
// that exits (or the default action) never leaves the file behind.
//
// In a child process a repeating timer sends SIGTERM every 300 us while
// it saves large, incompressible images in a loop. The SIGTERM handler
// looks for the temporary file (getdents64, async-signal-safe) and exits 3
// if it finds one; otherwise it counts and returns. Without the holding,
// signals land inside the write + fsync window and the child exits 3.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>

#include "nst/image.hpp"

namespace fs = std::filesystem;

namespace {

char g_dir[512];

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

bool temp_file_present() {
  const int fd = ::open(g_dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  char buf[4096];
  bool found = false;
  for (long n; !found && (n = ::syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0;) {
    for (long at = 0; at < n;) {
      const auto* e = reinterpret_cast<const LinuxDirent64*>(buf + at);
      if (std::strncmp(e->d_name, ".nst-", 5) == 0) found = true;
      at += e->d_reclen;
    }
  }
  ::close(fd);
  return found;
}

volatile std::sig_atomic_t g_terms = 0;
void on_term(int) {
  if (temp_file_present()) _exit(3);
  g_terms = g_terms + 1;
}
void on_alarm(int) { ::kill(::getpid(), SIGTERM); }

int save_under_fire(const std::string& dir) {
  std::snprintf(g_dir, sizeof g_dir, "%s", dir.c_str());
  std::signal(SIGTERM, on_term);
  std::signal(SIGALRM, on_alarm);
  const nst::Image img = nst::noise_image(1000, 1000, 5);  // ~3 MB of PNG: writing it takes a while
  itimerval t{};
  t.it_value.tv_usec = 300;
  t.it_interval.tv_usec = 300;
  ::setitimer(ITIMER_REAL, &t, nullptr);
  for (int k = 0; k < 8; ++k) nst::save_image(dir + "/out.png", img);
  return g_terms > 0 ? 0 : 4;  // 4: never signalled, the test would prove nothing
}

TEST(SaveImageSignals, ASigtermDuringTheWriteLeavesNoTemporaryFile) {
  const fs::path dir = fs::temp_directory_path() / ("nst_save_signals_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int exit_3 = 0, exit_0 = 0;
  for (int run = 0; run < 3; ++run) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(save_under_fire(dir.string()));
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    ASSERT_NE(WEXITSTATUS(status), 4) << "the timer never fired";
    (WEXITSTATUS(status) == 3 ? exit_3 : exit_0)++;
    for (const auto& e : fs::directory_iterator(dir)) {
      EXPECT_NE(e.path().filename().string().rfind(".nst-", 0), 0u) << "left behind: " << e.path();
    }
  }
  fs::remove_all(dir);
  EXPECT_EQ(exit_3, 0) << "in " << exit_3 << " of 3 runs a SIGTERM was handled while the temporary file existed";
}

}  // namespace
