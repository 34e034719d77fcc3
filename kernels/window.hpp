// A window of a map: the rectangle of pixels that exact tiling
// (engine/tiling.hpp) moves between an image-sized map and a tile, rows
// [y, y+h) and columns [x, x+w) of an (N,H,W,C) map, every channel. Shared
// by the cpu ops, the custom CUDA kernels and the Backend interface.
#pragma once
#include <string>

#include "nst/error.hpp"

namespace nst {

struct Window {
  int y = 0, x = 0, h = 0, w = 0;
};

// Throws nst::InvalidArgument, naming `op`, unless the window is not empty
// and lies inside an (H,W) map.
inline void check_window(const char* op, int H, int W, const Window& win) {
  if (win.h > 0 && win.w > 0 && win.y >= 0 && win.x >= 0 && win.y + win.h <= H && win.x + win.w <= W) return;
  throw InvalidArgument(std::string(op) + ": window " + std::to_string(win.w) + "x" + std::to_string(win.h) +
                        " at (" + std::to_string(win.x) + "," + std::to_string(win.y) + ") does not lie inside a " +
                        std::to_string(W) + "x" + std::to_string(H) + " map");
}

}  // namespace nst
