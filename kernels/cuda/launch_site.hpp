// Where a kernel launch was written, for error messages. Plain C++: shared
// by the nvcc launch path (kernels/cuda/common.cuh) and the CPU emulation
// (kernels/emu).
#pragma once
#include <string>

namespace nst::cuda {

// NST_LAUNCH(kernel, grid, block, ...) records its arguments as written;
// the kernel's name is the text before the first top-level comma, so a
// template such as `reduce<256, float>` keeps its name whole.
struct LaunchSite {
  const char* call;  // "kernel, grid, block, shared_bytes, stream, args..."
  const char* file;
  int line;
};

inline std::string kernel_name(const LaunchSite& site) {
  if (site.call == nullptr) return "<kernel>";
  std::string name;
  int depth = 0;
  for (const char* p = site.call; *p != '\0'; ++p) {
    const char c = *p;
    if (c == '<' || c == '(' || c == '[') ++depth;
    if (c == '>' || c == ')' || c == ']') --depth;
    if (c == ',' && depth <= 0) break;
    name += c;
  }
  while (!name.empty() && name.back() == ' ') name.pop_back();
  return name;
}

// "`kernel` (launched at file:line)"
inline std::string describe(const LaunchSite& site) {
  std::string s = "`" + kernel_name(site) + "`";
  if (site.file != nullptr) s += " (launched at " + std::string(site.file) + ":" + std::to_string(site.line) + ")";
  return s;
}

}  // namespace nst::cuda
