// Exact tiling (engine/tiling.hpp): the tile grid's geometry, and a tiled
// evaluation against the untiled one on the same image: losses, the
// gradient w.r.t. the image, the content targets and the style Grams, on
// the cpu backend and the emulated cuda backend (custom kernels executed on
// the CPU), at 96x80 with 48 px tiles as the issue asks, both on VGG16 to
// block5_conv1 (whose 64 px halo reaches over the whole image) and on a
// shallow objective whose 6 px halo really cuts the tiles; then an image
// large enough that VGG16's halo cuts too, and a few Adam steps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/random.hpp"
#include "engine/session_maker.hpp"
#include "engine/tiling.hpp"
#include "kernels/test_util.hpp"
#include "nst/error.hpp"
#include "nst/nst.hpp"

namespace nst {
namespace {

// ---- the grid ----------------------------------------------------------------

int layer_index(const std::vector<LayerSpec>& layers, const std::string& name) {
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

TEST(TileGrid, Vgg16ReachAndAlignment) {
  const std::vector<LayerSpec> layers = vgg16_layers();
  const int b5 = layer_index(layers, "block5_conv1"), b2 = layer_index(layers, "block2_conv2");
  // Convolutions at strides 1,1 | 2,2 | 4,4,4 | 8,8,8 | 16.
  EXPECT_EQ(receptive_reach(layers, b5), 2 + 4 + 12 + 24 + 16);
  EXPECT_EQ(pool_alignment(layers, b5), 16);
  EXPECT_EQ(receptive_reach(layers, b2), 2 + 4);
  EXPECT_EQ(pool_alignment(layers, b2), 2);
  const TileGrid g = make_tile_grid(1000, 700, 300, layers, b5);
  EXPECT_EQ(g.halo, 64);
  EXPECT_EQ(g.tile, 304);
  EXPECT_EQ(g.capacity.h, 304 + 128);
}

// Interiors partition the image, extents hold their interior plus the halo
// (clipped to the image), start on the pooling grid and fit the capacity.
void expect_valid_grid(int h, int w, int tile, const std::vector<LayerSpec>& layers, int last) {
  SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h) + " tile " + std::to_string(tile));
  const TileGrid g = make_tile_grid(h, w, tile, layers, last);
  std::vector<int> owner(static_cast<size_t>(h) * w, 0);
  for (const Tile& t : g.tiles) {
    const Window &in = t.interior, &ex = t.extent;
    EXPECT_LE(in.h, g.tile);
    EXPECT_LE(in.w, g.tile);
    EXPECT_EQ(ex.y % g.align, 0);
    EXPECT_EQ(ex.x % g.align, 0);
    EXPECT_EQ(ex.y, std::max(0, in.y - g.halo));
    EXPECT_EQ(ex.x, std::max(0, in.x - g.halo));
    EXPECT_EQ(ex.y + ex.h, std::min(h, in.y + in.h + g.halo));
    EXPECT_EQ(ex.x + ex.w, std::min(w, in.x + in.w + g.halo));
    EXPECT_LE(ex.h, g.capacity.h);
    EXPECT_LE(ex.w, g.capacity.w);
    for (int y = in.y; y < in.y + in.h; ++y)
      for (int x = in.x; x < in.x + in.w; ++x) ++owner[static_cast<size_t>(y) * w + x];
  }
  for (int o : owner) ASSERT_EQ(o, 1) << "a pixel owned by " << o << " tiles";
}

TEST(TileGrid, InteriorsPartitionTheImage) {
  const std::vector<LayerSpec> layers = vgg16_layers();
  const int b5 = layer_index(layers, "block5_conv1"), b2 = layer_index(layers, "block2_conv2");
  for (int tile : {16, 48, 100, 300}) {
    expect_valid_grid(80, 96, tile, layers, b5);
    expect_valid_grid(1000, 333, tile, layers, b5);
    expect_valid_grid(97, 101, tile, layers, b2);
  }
}

// Balanced: no tile runs its whole extent for a sliver of interior.
TEST(TileGrid, InteriorsAreBalanced) {
  const std::vector<LayerSpec> layers = vgg16_layers();
  const TileGrid g = make_tile_grid(1000, 1000, 496, layers, layer_index(layers, "block5_conv1"));
  ASSERT_EQ(g.tiles.size(), 9u);
  for (const Tile& t : g.tiles) EXPECT_GE(t.interior.h, 320);
}

TEST(TileGrid, PartsOfADeepLayerPartitionItsMap) {
  const std::vector<LayerSpec> layers = vgg16_layers();
  const int b5 = layer_index(layers, "block5_conv1");
  const int h = 200, w = 170;  // 12x10 at block5 (floor 200/16, 170/16)
  const TileGrid g = make_tile_grid(h, w, 48, layers, b5);
  const Shape layer_map{1, h / 16, w / 16, 512};
  std::vector<int> owner(static_cast<size_t>(layer_map.h) * layer_map.w, 0);
  double shares = 0;
  for (const Tile& t : g.tiles) {
    // The tile's own map at block5: its extent floored through four pools.
    const Shape tile_map{1, t.extent.h / 16, t.extent.w / 16, 512};
    const TilePart p = tile_part(t, 16, tile_map, layer_map);
    shares += p.share;
    if (p.empty()) continue;
    EXPECT_LE(p.window.y + p.window.h, tile_map.h);
    EXPECT_LE(p.window.x + p.window.w, tile_map.w);
    for (int y = p.global.y; y < p.global.y + p.global.h; ++y)
      for (int x = p.global.x; x < p.global.x + p.global.w; ++x) ++owner[static_cast<size_t>(y) * layer_map.w + x];
  }
  EXPECT_NEAR(shares, 1.0, 1e-12);
  for (int o : owner) ASSERT_EQ(o, 1);
}

TEST(TileGrid, NonPositiveTileThrows) {
  EXPECT_THROW(make_tile_grid(100, 100, 0, vgg16_layers(), 3), InvalidArgument);
}

// ---- tiled evaluation equals untiled -------------------------------------------

// The issue asks for 1e-4 relative; tiled and untiled differ only in
// summation order (measured at most 2e-7 here), and a halo one alignment
// step short already gives 2e-5 to 2e-2, so the bound is set tighter.
constexpr double kTolerance = 1e-5;

std::vector<float> losses_vector(const Losses& l) {
  return {static_cast<float>(l.content), static_cast<float>(l.style), static_cast<float>(l.tv)};
}

enum class Kind { Cpu, EmulatedCuda };

struct Objective {
  const char* name;
  std::vector<std::string> content, style;
};

// VGG16 to block5_conv1 (halo 64 px) and one to block2_conv2 (halo 6 px).
const Objective kDeep{"deep", {"block4_conv2"}, {"block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"}};
const Objective kShallow{"shallow", {"block2_conv2"}, {"block1_conv1", "block1_conv2", "block2_conv1"}};

class TiledEvaluation : public ::testing::Test {
 protected:
  TiledEvaluation() : layers_(vgg16_layers(16)), weights_(make_random_weights(layers_, 21)) {}

  // masked: masks of a (w, h) image.
  Options options(const Objective& obj, int tile, bool masked = false, int w = 0, int h = 0) const {
    Options o;
    o.content_layers = obj.content;
    o.style_layers = obj.style;
    o.tile = tile;
    if (masked) {  // two styles in two soft regions, the content loss on part of the image
      o.style_masks = {ramp(w, h, true), ramp(w, h, false)};
      o.content_mask = ramp(w, h, true);
    }
    o.compute.conv_algo = ConvAlgo::Custom;
    o.compute.gram_algo = GramAlgo::Custom;
    return o;
  }

  std::unique_ptr<Session> session(Kind kind, const Options& o, int h, int w) const {
    std::unique_ptr<Backend> backend =
        kind == Kind::Cpu ? make_cpu_backend(o.compute, {}) : make_emulated_cuda_backend(o.compute);
    auto s = SessionMaker::on_backend(weights_, o, h, w, std::move(backend), layers_);
    s->set_content(noise_image(w, h, 1));
    // Style images larger than a tile, so that their Grams are gathered
    // over tiles too.
    s->set_styles({noise_image(w + 13, h + 7, 2), noise_image(w - 9, h + 21, 3)});
    std::vector<float> x(static_cast<size_t>(h) * w * 3);
    Rng rng(5);
    for (float& v : x) v = static_cast<float>(40.0 * (rng.uniform() - 0.5));
    s->set_image(x);
    return s;
  }

  static void expect_close(const std::string& what, const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size()) << what;
    const double err = test::relative_error(got, test::to_double(want));
    std::printf("    %-40s rel err %.3e (tol %.0e)\n", what.c_str(), err, kTolerance);
    EXPECT_LE(err, kTolerance) << what;
  }

  // A left-to-right grey ramp (or its mirror) over a (w, h) image.
  static Image ramp(int w, int h, bool rising) {
    Image m;
    m.width = w;
    m.height = h;
    for (int y = 0; y < m.height; ++y)
      for (int x = 0; x < m.width; ++x) {
        const auto v = static_cast<uint8_t>(255 * (rising ? x : m.width - 1 - x) / (m.width - 1));
        m.rgb.insert(m.rgb.end(), {v, v, v});
      }
    return m;
  }

  void compare(Kind kind, const Objective& obj, int h, int w, int tile, bool masked = false) const {
    const std::string tag = std::string(kind == Kind::Cpu ? "cpu " : "emulated cuda ") + obj.name +
                            (masked ? " masked " : " ") + std::to_string(w) + "x" + std::to_string(h) + " tile " +
                            std::to_string(tile) + ": ";
    SCOPED_TRACE(tag);
    auto untiled = session(kind, options(obj, 0, masked, w, h), h, w);
    auto tiled = session(kind, options(obj, tile, masked, w, h), h, w);
    const Losses lu = untiled->evaluate(), lt = tiled->evaluate();
    expect_close(tag + "losses", losses_vector(lt), losses_vector(lu));
    if (masked) {  // the masks do change the objective
      const Losses plain = session(kind, options(obj, 0), h, w)->evaluate();
      EXPECT_GT(std::abs(plain.style - lu.style), 1e-3 * plain.style);
      EXPECT_GT(std::abs(plain.content - lu.content), 1e-3 * plain.content);
    }
    expect_close(tag + "gradient", tiled->gradient(), untiled->gradient());
    for (const std::string& l : obj.content) {
      expect_close(tag + "content target " + l, tiled->content_target(l), untiled->content_target(l));
    }
    for (const std::string& l : obj.style) {
      expect_close(tag + "style target " + l, tiled->style_target(l), untiled->style_target(l));
    }
  }

  std::vector<LayerSpec> layers_;
  NetworkWeights weights_;
};

TEST_F(TiledEvaluation, CpuDeepMatchesUntiled) { compare(Kind::Cpu, kDeep, 80, 96, 48); }
TEST_F(TiledEvaluation, CpuShallowMatchesUntiled) { compare(Kind::Cpu, kShallow, 80, 96, 48); }
// Big enough that VGG16's 64 px halo cuts every tile, with a last row and
// column of tiles that are not whole and sides that are no multiple of 16.
TEST_F(TiledEvaluation, CpuDeepWithCutHalosMatchesUntiled) { compare(Kind::Cpu, kDeep, 211, 230, 48); }
// Style masks (one per style) and a content mask: the masked Grams are
// gathered over the parts of m F, the content target is m P part by part.
TEST_F(TiledEvaluation, CpuMaskedMatchesUntiled) {
  compare(Kind::Cpu, kShallow, 80, 96, 48, true);
  compare(Kind::Cpu, kDeep, 211, 230, 48, true);
}
TEST_F(TiledEvaluation, EmulatedCudaMaskedMatchesUntiled) { compare(Kind::EmulatedCuda, kShallow, 80, 96, 48, true); }
TEST_F(TiledEvaluation, EmulatedCudaDeepMatchesUntiled) { compare(Kind::EmulatedCuda, kDeep, 80, 96, 48); }
TEST_F(TiledEvaluation, EmulatedCudaShallowMatchesUntiled) { compare(Kind::EmulatedCuda, kShallow, 80, 96, 48); }

// The same tiled evaluation on both backends: the tiling adds no
// backend-specific rounding of its own beyond the untiled ops'.
TEST_F(TiledEvaluation, EmulatedCudaMatchesCpuTiled) {
  auto cpu = session(Kind::Cpu, options(kShallow, 48), 80, 96);
  auto emu = session(Kind::EmulatedCuda, options(kShallow, 48), 80, 96);
  const Losses lc = cpu->evaluate(), le = emu->evaluate();
  expect_close("tiled losses, emulated cuda vs cpu", losses_vector(le), losses_vector(lc));
  expect_close("tiled gradient, emulated cuda vs cpu", emu->gradient(), cpu->gradient());
}

// L-BFGS, whose steps are continuous in the gradient (Adam's first steps
// are +-lr by each component's sign, which rounding may flip near 0).
TEST_F(TiledEvaluation, LbfgsStepsMatchUntiled) {
  Options u = options(kShallow, 0), t = options(kShallow, 48);
  u.optimizer = t.optimizer = OptimizerKind::Lbfgs;
  auto untiled = session(Kind::Cpu, u, 80, 96);
  auto tiled = session(Kind::Cpu, t, 80, 96);
  for (int i = 0; i < 3; ++i) {
    untiled->step();
    tiled->step();
  }
  expect_close("image after 3 L-BFGS steps", tiled->image(), untiled->image());
}

// A tiled evaluation repeated gives the same bits: nothing of one pass
// (the gathered Grams, the loss sums) leaks into the next.
TEST_F(TiledEvaluation, RepeatedEvaluationIsBitwiseTheSame) {
  auto s = session(Kind::Cpu, options(kDeep, 48), 80, 96);
  const Losses a = s->evaluate();
  const std::vector<float> ga = s->gradient();
  const Losses b = s->evaluate();
  EXPECT_EQ(a.total, b.total);
  EXPECT_TRUE(ga == s->gradient());
}

TEST_F(TiledEvaluation, ImageWithinOneTileIsNotTiled) {
  auto s = session(Kind::Cpu, options(kShallow, 96), 80, 96);
  EXPECT_NO_THROW(s->activation("block1_conv1"));  // untiled sessions keep the image's activations
  auto t = session(Kind::Cpu, options(kShallow, 48), 80, 96);
  EXPECT_THROW(t->activation("block1_conv1"), InvalidArgument);
}

TEST(TileOptions, BadValuesAreRefused) {
  const std::vector<LayerSpec> layers = vgg16_layers();
  Options o;
  for (int bad : {-1, 16385}) {
    o.tile = bad;
    try {
      o.validate(layers);
      FAIL() << "tile " << bad << " was accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("tile"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace nst
