#include "engine/tiling.hpp"

#include <algorithm>
#include <string>

#include "nst/error.hpp"

namespace nst {
namespace {

int round_up(int v, int a) { return (v + a - 1) / a * a; }

// Interiors along one axis of `length` px: as few as `tile` allows, of
// equal size (a multiple of align) but for a shorter last one, so that no
// tile runs its whole extent for a sliver.
std::vector<Window> axis_interiors(int length, int tile, int align) {
  const int count = (length + tile - 1) / tile;
  const int size = std::min(tile, round_up((length + count - 1) / count, align));
  std::vector<Window> out;
  for (int start = 0; start < length; start += size) out.push_back({start, 0, std::min(size, length - start), 0});
  return out;
}

// The extent of [start, start+size) on an axis of `length`: the halo on
// each side, clipped to the image.
Window axis_extent(const Window& interior, int halo, int length) {
  const int begin = std::max(0, interior.y - halo), end = std::min(length, interior.y + interior.h + halo);
  return {begin, 0, end - begin, 0};
}

}  // namespace

int receptive_reach(const std::vector<LayerSpec>& layers, int last) {
  int reach = 0, stride = 1;
  for (int i = 0; i <= last; ++i) {
    if (layers[i].kind == LayerKind::Conv3x3) {
      reach += stride;
    } else {
      stride *= 2;
    }
  }
  return reach;
}

int pool_alignment(const std::vector<LayerSpec>& layers, int last) {
  int align = 1;
  for (int i = 0; i <= last; ++i) {
    if (layers[i].kind == LayerKind::Pool2x2) align *= 2;
  }
  return align;
}

TileGrid make_tile_grid(int height, int width, int tile, const std::vector<LayerSpec>& layers, int last) {
  if (tile <= 0) throw InvalidArgument("tile size must be positive, got " + std::to_string(tile));
  TileGrid g;
  g.align = pool_alignment(layers, last);
  g.halo = round_up(receptive_reach(layers, last), g.align);
  g.tile = round_up(tile, g.align);
  // No extent is longer than tile + 2 halo, nor than the image.
  g.capacity = Shape{1, std::min(height, g.tile + 2 * g.halo), std::min(width, g.tile + 2 * g.halo), 3};
  const std::vector<Window> rows = axis_interiors(height, g.tile, g.align);
  const std::vector<Window> cols = axis_interiors(width, g.tile, g.align);
  for (const Window& r : rows) {
    const Window er = axis_extent(r, g.halo, height);
    for (const Window& c : cols) {
      const Window ec = axis_extent(c, g.halo, width);
      g.tiles.push_back(Tile{Window{er.y, ec.y, er.h, ec.h}, Window{r.y, c.y, r.h, c.h}});
    }
  }
  return g;
}

TilePart tile_part(const Tile& t, int stride, const Shape& tile_map, const Shape& layer_map) {
  // Inner edges are multiples of the alignment, so of every stride up to
  // it; an interior that ends at the image's edge ends at the tile map's
  // (floor(extent / stride), as the untiled map floors).
  const int y0 = (t.interior.y - t.extent.y) / stride, x0 = (t.interior.x - t.extent.x) / stride;
  const int y1 = std::min(tile_map.h, (t.interior.y + t.interior.h - t.extent.y) / stride);
  const int x1 = std::min(tile_map.w, (t.interior.x + t.interior.w - t.extent.x) / stride);
  TilePart p;
  p.window = Window{y0, x0, std::max(0, y1 - y0), std::max(0, x1 - x0)};
  p.global = Window{y0 + t.extent.y / stride, x0 + t.extent.x / stride, p.window.h, p.window.w};
  p.shape = Shape{tile_map.n, p.window.h, p.window.w, tile_map.c};
  p.share = static_cast<double>(p.window.h) * p.window.w / (static_cast<double>(layer_map.h) * layer_map.w);
  return p;
}

}  // namespace nst
