// Exact tiling: an image too large for one pass runs through the network in
// overlapping tiles, and the evaluation still equals the untiled one.
//
// A tile owns an interior (the interiors partition the image) and runs the
// network on its extent, the interior plus a halo on every side that is not
// the image's border. The halo covers the deepest layer's receptive field,
// so each tap position inside the interior sees exactly the pixels it sees
// untiled: its value, and the Jacobian of it w.r.t. the image, are the
// untiled ones. Extents start on the pooling grid (multiples of `align`,
// 2^pools), so every pool pairs the same pixels as untiled, and a tile's
// edge that is not the image's is a multiple of `align` away.
//
// Positions in the halo may be wrong (zero padding where the image goes on)
// and are never used: each loss reads only interiors, and the gradient of
// each interior position flows back through exact activations to the whole
// extent, where the tiles' gradients are summed (Objective).
#pragma once
#include <vector>

#include "engine/backend.hpp"
#include "nst/network.hpp"

namespace nst {

struct Tile {
  Window extent;    // what the network runs on, in image pixels
  Window interior;  // what the tile owns, inside the extent
};

struct TileGrid {
  int align = 1;  // 2^pools up to the deepest layer: extents start on multiples of it
  int halo = 0;   // pixels of extent beyond the interior on each inner side
  int tile = 0;   // the longest interior side, a multiple of align
  Shape capacity; // (1,h,w,3) every extent fits: tile + 2 halo each way, at most the image
  std::vector<Tile> tiles;  // row-major
};

// Pixels a position of layer `last` reads beyond its own span on each side:
// each 3x3 convolution adds its input's stride, pooling adds nothing.
int receptive_reach(const std::vector<LayerSpec>& layers, int last);
// 2^(pools in layers [0, last]).
int pool_alignment(const std::vector<LayerSpec>& layers, int last);

// The tiles of an (h, w) image with interiors of at most `tile` px (rounded
// up to the alignment) for layers [0, last]. Throws nst::InvalidArgument
// for tile <= 0.
TileGrid make_tile_grid(int height, int width, int tile, const std::vector<LayerSpec>& layers, int last);

// The part of one tile a layer's loss reads: the tile's interior at the
// layer's resolution, in the coordinates of the tile's own map there
// (`tile_map`, the layer's output shape on the extent), and the share of
// the layer's untiled positions it holds.
struct TilePart {
  Window window;  // in the tile's map; empty (h or w 0) where a deep layer has no position of the interior
  Window global;  // the same positions in the untiled layer's map
  Shape shape;    // (n, window.h, window.w, c)
  double share;   // window pixels / the untiled layer's pixels
  // Where the part starts when every tile's part of the layer is stored one
  // after another, in tile order (a tiled content target): set by the
  // caller that lays them out (Objective), 0 from tile_part.
  size_t offset = 0;
  bool empty() const { return window.h <= 0 || window.w <= 0; }
};
// `stride` is 2^pools up to the layer, `layer_map` the untiled layer shape.
TilePart tile_part(const Tile& tile, int stride, const Shape& tile_map, const Shape& layer_map);

}  // namespace nst
