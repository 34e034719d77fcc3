// The vendor wrappers' layout kernels (kernels/cuda/vendor/layout.cu),
// executed by kernels/emu on the CPU, so that CI checks them without a GPU:
// the HWIO -> KRSC weight transpose and the Gram triangle mirror.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "emu/device_buffer.hpp"
#include "kernels/cuda/vendor/layout.hpp"
#include "kernels/test_util.hpp"

namespace nst::cuda {
namespace {

using emu_test::DeviceBuffer;
using test::random_floats;

void expect_transpose(int rows, int cols) {
  SCOPED_TRACE(testing::Message() << rows << "x" << cols);
  const auto src = random_floats(static_cast<size_t>(rows) * cols, 1);
  DeviceBuffer<float> dsrc(src), ddst(src.size());
  vendor::transpose_rows_cols(ddst.get(), dsrc.get(), rows, cols, nullptr);
  NST_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  const auto dst = ddst.download();
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      ASSERT_EQ(dst[static_cast<size_t>(c) * rows + r], src[static_cast<size_t>(r) * cols + c]) << r << "," << c;
}

// HWIO (3,3,Cin,Cout) seen as (9*Cin, Cout): the first VGG layer, a tile
// multiple, and sizes off the 32x32 tile both ways.
TEST(VendorLayout, TransposeTurnsHwioIntoKrsc) {
  expect_transpose(9 * 3, 64);
  expect_transpose(9 * 64, 64);
  expect_transpose(9 * 70, 3);
  expect_transpose(1, 1);
}

TEST(VendorLayout, SymmetrizeCopiesTheUpperTriangleIntoTheLower) {
  const int N = 2, C = 33;
  auto G = random_floats(static_cast<size_t>(N) * C * C, 2);
  for (int n = 0; n < N; ++n)
    for (int r = 0; r < C; ++r)
      for (int c = 0; c < r; ++c) G[(static_cast<size_t>(n) * C + r) * C + c] = std::nanf("");
  DeviceBuffer<float> dG(G);
  vendor::symmetrize_upper_to_lower(dG.get(), N, C, nullptr);
  NST_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  const auto out = dG.download();
  for (int n = 0; n < N; ++n)
    for (int r = 0; r < C; ++r)
      for (int c = 0; c < C; ++c) {
        const size_t at = (static_cast<size_t>(n) * C + r) * C + c;
        const size_t mirror = (static_cast<size_t>(n) * C + c) * C + r;
        if (c >= r) {
          ASSERT_EQ(out[at], G[at]) << "upper entry changed at " << n << ":" << r << "," << c;
        } else {
          ASSERT_EQ(out[at], G[mirror]) << n << ":" << r << "," << c;
        }
      }
}

TEST(VendorLayout, RejectsEmptyMatrices) {
  EXPECT_THROW(vendor::transpose_rows_cols(nullptr, nullptr, 0, 3, nullptr), nst::InvalidArgument);
  EXPECT_THROW(vendor::symmetrize_upper_to_lower(nullptr, 1, 0, nullptr), nst::InvalidArgument);
}

}  // namespace
}  // namespace nst::cuda
