#include "nst/montage.hpp"

#include <gtest/gtest.h>

#include "nst/error.hpp"

namespace nst {
namespace {

Image flat(int w, int h, uint8_t v) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(img.pixels() * 3, v);
  return img;
}

TEST(Montage, PlacesImagesLeftToRightAtOneHeightWithWhiteGaps) {
  // 20x10 -> 10x5, 5x5 stays, 8x20 -> 2x5; gaps of 3.
  const Image m = montage({flat(20, 10, 10), flat(5, 5, 20), flat(8, 20, 30)}, 5, 3);
  EXPECT_EQ(m.height, 5);
  EXPECT_EQ(m.width, 10 + 3 + 5 + 3 + 2);
  const auto at = [&](int x, int y) { return m.rgb[(static_cast<size_t>(y) * m.width + x) * 3]; };
  EXPECT_EQ(at(0, 0), 10);
  EXPECT_EQ(at(9, 4), 10);
  EXPECT_EQ(at(10, 2), 255) << "gap";
  EXPECT_EQ(at(13, 0), 20);
  EXPECT_EQ(at(17, 4), 20);
  EXPECT_EQ(at(18, 1), 255) << "gap";
  EXPECT_EQ(at(21, 3), 30);
  EXPECT_EQ(at(22, 3), 30);
}

TEST(Montage, RejectsNothingToShow) {
  EXPECT_THROW(montage({}, 5), InvalidArgument);
  EXPECT_THROW(montage({flat(4, 4, 0)}, 0), InvalidArgument);
  EXPECT_THROW(montage({Image{}}, 5), InvalidArgument);
}

}  // namespace
}  // namespace nst
