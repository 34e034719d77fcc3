// Helpers shared by the weights tests.
#pragma once
#include <gtest/gtest.h>

#include "nst/weights.hpp"

namespace nst::testing {

// Same layers, in the same order, with bit-identical kernels and biases.
inline void expect_same_weights(const NetworkWeights& a, const NetworkWeights& b) {
  ASSERT_EQ(a.convs.size(), b.convs.size());
  for (size_t i = 0; i < a.convs.size(); ++i) {
    EXPECT_EQ(a.convs[i].name, b.convs[i].name);
    EXPECT_EQ(a.convs[i].cin, b.convs[i].cin);
    EXPECT_EQ(a.convs[i].cout, b.convs[i].cout);
    EXPECT_EQ(a.convs[i].kernel, b.convs[i].kernel) << a.convs[i].name;  // bit-exact
    EXPECT_EQ(a.convs[i].bias, b.convs[i].bias) << a.convs[i].name;
  }
}

}  // namespace nst::testing
