// Ops on pixels and maps: Caffe pre- and deprocessing, the per-pixel mask
// scale of regional style, and the windows exact tiling copies out of and
// adds back into an image-sized map. All exact or one rounding, so every
// variant gives the CPU kernel's bits.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/ops.hpp"
#include "kernels/cuda/elementwise.hpp"
#include "kernels/table/device.hpp"
#include "kernels/table/op_table.hpp"

NST_TABLE_BEGIN

namespace {

size_t rgb_count(const Dims& d) { return static_cast<size_t>(d[0]) * 3; }
size_t pixels_of(const Dims& d) { return static_cast<size_t>(d[0]); }

// One pixel, below, at and past one four-pixel group, odd counts (a
// scalar tail), more than both threads' share.
std::vector<Shape> pixel_shapes() {
  return {{"one", {1}},  {"three", {3}}, {"four", {4}},       {"five", {5}},
          {"13x7", {13 * 7}}, {"odd", {4099}}, {"101x103", {101 * 103}}};
}
std::vector<Shape> image_pixels(int image) { return {{"image", {static_cast<long>(image) * image}}}; }

Op preprocess_op() {
  Op op;
  op.name = "preprocess";
  op.dims = {"pixels"};
  op.tensors = {{"x", Role::Out, rgb_count}, {"rgb", Role::In, rgb_count, 0.f, 0.f, Type::U8}};
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    const std::vector<uint8_t> rgb(t[1].begin(), t[1].end());
    cpu::preprocess_reference(t[0].data(), rgb.data(), pixels_of(d));
  };
  op.bytes = [](const Dims& d) { return 15.0 * pixels_of(d); };  // 3 bytes in, 3 floats out
  op.tolerance = 1e-7;  // one float rounding of byte - mean
  op.bitwise = true;
  op.test_shapes = pixel_shapes();
  op.bench_shapes = image_pixels;
  Variant cpu_v{"cpu", Place::Host}, cuda_v{"cuda", Place::Device};
  cpu_v.run = [](const Call& c) { cpu::preprocess(c.f(0), c.u8(1), pixels_of(c.d)); };
  cuda_v.run = [](const Call& c) { cuda::preprocess(c.f(0), c.u8(1), pixels_of(c.d), stream_of(c)); };
  op.variants = {cpu_v, cuda_v};
  return op;
}

Op deprocess_op() {
  Op op;
  op.name = "deprocess";
  op.dims = {"pixels"};
  // Beyond 0..255 after the mean on both sides, so the clamp is exercised.
  op.tensors = {{"rgb", Role::Out, rgb_count, 0.f, 0.f, Type::U8}, {"x", Role::In, rgb_count, -140.f, 160.f}};
  // Round half to even, then clamp; R, G, B spelled out.
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    auto byte = [](double v) { return std::clamp(std::nearbyint(v), 0.0, 255.0); };
    for (size_t p = 0; p < pixels_of(d); ++p) {
      t[0][p * 3 + 0] = byte(t[1][p * 3 + 2] + 123.68);
      t[0][p * 3 + 1] = byte(t[1][p * 3 + 1] + 116.779);
      t[0][p * 3 + 2] = byte(t[1][p * 3 + 0] + 103.939);
    }
  };
  op.bytes = [](const Dims& d) { return 15.0 * pixels_of(d); };
  op.tolerance = 0;
  op.bitwise = true;
  op.test_shapes = pixel_shapes();
  op.bench_shapes = image_pixels;
  Variant cpu_v{"cpu", Place::Host}, cuda_v{"cuda", Place::Device};
  cpu_v.run = [](const Call& c) { cpu::deprocess(c.u8(0), c.f(1), pixels_of(c.d)); };
  cuda_v.run = [](const Call& c) { cuda::deprocess(c.u8(0), c.f(1), pixels_of(c.d), stream_of(c)); };
  op.variants = {cpu_v, cuda_v};
  return op;
}

// ---- mask: dims pixels, C, accumulate ---------------------------------------------------

size_t px_c(const Dims& d) { return static_cast<size_t>(d[0]) * d[1]; }
bool accumulate(const Dims& d) { return d[2] != 0; }

Op pixel_scale_op() {
  Op op;
  op.name = "pixel_scale";
  op.dims = {"pixels", "C", "accumulate"};
  // y is InOut: overwritten without `accumulate`, added to with it.
  op.tensors = {{"y", Role::InOut, px_c}, {"x", Role::In, px_c}, {"m", Role::In, pixels_of, 0.f, 1.f}};
  // Every fifth mask value exactly 0 or 1, the values masks mostly hold.
  op.derive = [](const Dims&, std::vector<std::vector<float>>& t) {
    for (size_t p = 0; p < t[2].size(); p += 5) t[2][p] = p % 2 ? 1.f : 0.f;
  };
  op.reference = [](const Dims& d, std::vector<std::vector<double>>& t) {
    cpu::pixel_scale_reference(t[0].data(), t[1].data(), t[2].data(), pixels_of(d), d[1], accumulate(d));
  };
  op.bytes = [](const Dims& d) { return 4.0 * ((accumulate(d) ? 3 : 2) * px_c(d) + pixels_of(d)); };
  op.tolerance = 1e-7;  // one rounding (a product, or one fma)
  op.bitwise = true;
  // Channel counts off the vector width (1, 3, 70) and on it (4, 64, 128).
  op.test_shapes = {{"13x7x3", {13 * 7, 3, 0}},    {"13x7x3_acc", {13 * 7, 3, 1}},   {"13x7x4", {13 * 7, 4, 0}},
                    {"13x7x4_acc", {13 * 7, 4, 1}},   {"13x7x64", {13 * 7, 64, 0}},     {"13x7x64_acc", {13 * 7, 64, 1}},
                    {"37x1", {37, 1, 0}},             {"37x1_acc", {37, 1, 1}},         {"29x70", {29, 70, 0}},
                    {"29x70_acc", {29, 70, 1}},       {"13x7x128_acc", {13 * 7, 128, 1}}};
  op.bench_shapes = [](int image) {
    const VggLayer l = vgg16_conv_layers(image)[2];  // block2_conv1's output
    return std::vector<Shape>{{l.name, {static_cast<long>(l.H) * l.W, l.Cout, 1}}};
  };
  Variant cpu_v{"cpu", Place::Host}, cuda_v{"cuda", Place::Device};
  cpu_v.run = [](const Call& c) { cpu::pixel_scale(c.f(0), c.f(1), c.f(2), pixels_of(c.d), c.n(1), accumulate(c.d)); };
  cuda_v.run = [](const Call& c) {
    cuda::pixel_scale(c.f(0), c.f(1), c.f(2), pixels_of(c.d), c.n(1), accumulate(c.d), stream_of(c));
  };
  op.variants = {cpu_v, cuda_v};
  return op;
}

// ---- windows: dims N, H, W, C, y, x, h, w ---------------------------------------------------

size_t map_count(const Dims& d) { return static_cast<size_t>(d[0]) * d[1] * d[2] * d[3]; }
size_t window_count(const Dims& d) { return static_cast<size_t>(d[0]) * d[6] * d[7] * d[3]; }
Window window_of(const Dims& d) { return {static_cast<int>(d[4]), static_cast<int>(d[5]), static_cast<int>(d[6]), static_cast<int>(d[7])}; }

// For each element of the window: its index in the map and in the window.
template <typename F>
void each_window_element(const Dims& d, F f) {
  const Window w = window_of(d);
  const size_t C = d[3];
  size_t k = 0;
  for (long n = 0; n < d[0]; ++n)
    for (int i = 0; i < w.h; ++i)
      for (int j = 0; j < w.w; ++j)
        for (size_t c = 0; c < C; ++c, ++k) f(((n * d[1] + w.y + i) * d[2] + w.x + j) * C + c, k);
}

// A corner, the opposite corner, an inner window, one row, the whole map;
// scalar (1, 3, 70) and vector (64, 128) channel counts.
std::vector<Shape> window_shapes() {
  return {{"corner", {2, 23, 31, 64, 0, 0, 7, 9}},   {"far_corner", {2, 23, 31, 3, 16, 22, 7, 9}},
          {"inner", {1, 23, 31, 70, 5, 3, 11, 17}},  {"row", {1, 23, 31, 1, 9, 0, 1, 31}},
          {"whole", {2, 23, 31, 128, 0, 0, 23, 31}}};
}

// A tile of `image` px with its 64 px halo on each side, out of a map
// a little over twice as wide, at block1's width (64 channels).
std::vector<Shape> window_bench_shapes(int image) {
  const int map = 2 * image + 128;
  return {{"tile_in_2x_map", {1, map, map, 64, image / 2, image / 2, image + 128, image + 128}}};
}

Op window_op(bool add) {
  Op op;
  op.name = add ? "add_window" : "copy_window";
  op.dims = {"N", "H", "W", "C", "y", "x", "h", "w"};
  if (add)
    op.tensors = {{"dst", Role::InOut, map_count}, {"src", Role::In, window_count}};
  else
    op.tensors = {{"dst", Role::Out, window_count}, {"src", Role::In, map_count}};
  op.reference = [add](const Dims& d, std::vector<std::vector<double>>& t) {
    if (add)
      cpu::add_window_reference(t[0].data(), t[1].data(), d[0], d[1], d[2], d[3], window_of(d));
    else
      each_window_element(d, [&](size_t map, size_t win) { t[0][win] = t[1][map]; });
  };
  op.bytes = [add](const Dims& d) { return 4.0 * (add ? 3 : 2) * window_count(d); };
  op.tolerance = add ? 1e-7 : 0;  // a copy is exact; an add is one rounding
  op.bitwise = true;
  op.test_shapes = window_shapes();
  op.bench_shapes = window_bench_shapes;
  Variant cpu_v{"cpu", Place::Host}, cuda_v{"cuda", Place::Device};
  if (add) {
    cpu_v.run = [](const Call& c) { cpu::add_window(c.f(0), c.f(1), c.n(0), c.n(1), c.n(2), c.n(3), window_of(c.d)); };
    cuda_v.run = [](const Call& c) {
      cuda::add_window(c.f(0), c.f(1), c.n(0), c.n(1), c.n(2), c.n(3), window_of(c.d), stream_of(c));
    };
  } else {
    cpu_v.run = [](const Call& c) { cpu::copy_window(c.f(0), c.f(1), c.n(0), c.n(1), c.n(2), c.n(3), window_of(c.d)); };
    cuda_v.run = [](const Call& c) {
      cuda::copy_window(c.f(0), c.f(1), c.n(0), c.n(1), c.n(2), c.n(3), window_of(c.d), stream_of(c));
    };
  }
  op.variants = {cpu_v, cuda_v};
  return op;
}

}  // namespace

std::vector<Op> pixel_ops() {
  return {preprocess_op(), deprocess_op(), pixel_scale_op(), window_op(false), window_op(true)};
}

NST_TABLE_END
