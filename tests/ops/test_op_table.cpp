// Every variant of every op in the op table (kernels/table) against the
// op's float64 reference on each of its test shapes, one test per
// (op, variant, shape):
//   - each output within the variant's tolerance (relative error over the
//     tensor; 0 means exact), with nothing left unwritten (outputs start
//     as NaN) and nothing written past any tensor's end (guard bytes);
//   - bit for bit the same when run again from the same start;
//   - for ops marked bitwise, bit for bit the CPU kernel's result;
//   - under the emulation, bit for bit the same whatever order the blocks
//     and threads run in (forward, reverse, shuffled): a missing barrier
//     or an order-dependent sum shows up.
// This binary builds twice: test_op_table runs the host variants and the
// device variants under kernels/emu (CI runs all of them);
// test_op_table_gpu runs the device variants on a real GPU (cuDNN and
// cuBLAS included) and skips without one. Device variants under the
// emulation skip the shapes too large to emulate quickly (the CPU variants
// still cover them).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/table/op_table.hpp"
#include "kernels/test_util.hpp"

namespace nst::table {
namespace {

using test::matches;
using test::same_bits;

struct Case {
  const Op* op;
  const Variant* variant;
  const Shape* shape;
};

// So that gtest names a case instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.op->name << " " << c.variant->name << " " << c.shape->name; }

#if defined(NST_EMU)
constexpr bool kEmulated = true;
#else
constexpr bool kEmulated = false;
#endif

// What the emulation runs in a few seconds: direct FLOPs or bytes moved.
bool quick_to_emulate(const Op& op, const Dims& d) {
  if (op.flops && op.flops(d) > 6e7) return false;
  return !op.bytes || op.bytes(d) <= 4e7;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const Op& op : op_table())
    for (const Variant& v : op.variants) {
      if (!kEmulated && v.place != Place::Device) continue;  // the emu build runs the host variants
      for (const Shape& s : op.test_shapes) {
        if (v.applies && !v.applies(s.d)) continue;
        if (kEmulated && v.place == Place::Device && !quick_to_emulate(op, s.d)) continue;
        cases.push_back({&op, &v, &s});
      }
    }
  return cases;
}

std::string identifier(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return identifier(c.op->name + "__" + c.variant->name + "__" + c.shape->name);
}

bool device_present() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

using Results = std::vector<std::vector<double>>;

// The reference's outputs, computed once per op and shape.
const Results& reference_for(const Op& op, const Shape& shape) {
  static std::map<std::string, Results> cache;
  const std::string key = op.name + "/" + shape.name;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, reference_outputs(op, shape.d, /*seed=*/1)).first;
  return it->second;
}

class OpTable : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (GetParam().variant->place == Place::Device) {
      if (!device_present())
        GTEST_SKIP() << "no CUDA device present: the device variants are not run here (the emulated build runs "
                        "the custom kernels in CI)";
      ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
    }
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  // The outputs of one run of `variant` from the start values.
  Results run(const Variant& variant) {
    const Case& c = GetParam();
    Instance instance(*c.op, variant, c.shape->d, /*seed=*/1, stream_);
    instance.run();
    instance.sync();
    const std::string overwritten = instance.guard_overwritten();
    EXPECT_EQ(overwritten, "") << variant.name << " wrote past the end of " << overwritten;
    Results out;
    for (size_t k : outputs(*c.op)) out.push_back(instance.values(k));
    return out;
  }

  cudaStream_t stream_ = nullptr;
};

TEST_P(OpTable, MatchesTheReference) {
  const Case& c = GetParam();
  const Op& op = *c.op;
  const double tol = c.variant->tolerance > 0 ? c.variant->tolerance : op.tolerance;
  const Results got = run(*c.variant);
  const Results& ref = reference_for(op, *c.shape);
  const std::vector<size_t> out = outputs(op);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_TRUE(matches(op.tensors[out[i]].name, got[i], ref[out[i]], tol));

  const Results again = run(*c.variant);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_TRUE(same_bits(op.tensors[out[i]].name + " run again", again[i], got[i]));

  if (op.bitwise && c.variant != &op.variants.front()) {
    const Results first = run(op.variants.front());
    for (size_t i = 0; i < out.size(); ++i)
      EXPECT_TRUE(same_bits(op.tensors[out[i]].name + " against " + op.variants.front().name, got[i], first[i]));
  }

#if defined(NST_EMU)
  if (c.variant->place == Place::Device) {
    for (const auto order : {nst_emu::Schedule::reverse, nst_emu::Schedule::random}) {
      const nst_emu::ScopedSchedule schedule(order, /*seed=*/7);
      const Results other = run(*c.variant);
      const char* name = order == nst_emu::Schedule::reverse ? " in reverse order" : " in random order";
      for (size_t i = 0; i < out.size(); ++i) EXPECT_TRUE(same_bits(op.tensors[out[i]].name + name, other[i], got[i]));
    }
  }
#endif
}

INSTANTIATE_TEST_SUITE_P(Every, OpTable, ::testing::ValuesIn(all_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OpTable);

// ---- the table itself ----------------------------------------------------------------

TEST(OpTableContents, EveryOpHasWhatTheTestsAndBenchmarksNeed) {
  std::map<std::string, int> names;
  for (const Op& op : op_table()) {
    SCOPED_TRACE(op.name);
    EXPECT_EQ(++names[op.name], 1) << "two ops share a name";
    EXPECT_TRUE(op.reference) << "no reference";
    EXPECT_TRUE(op.bytes) << "no byte count";
    EXPECT_FALSE(op.test_shapes.empty());
    ASSERT_TRUE(op.bench_shapes);
    EXPECT_FALSE(op.bench_shapes(256).empty());
    EXPECT_FALSE(outputs(op).empty()) << "no output";
    bool host = false, device = false;
    std::map<std::string, int> variants;
    for (const Variant& v : op.variants) {
      EXPECT_EQ(++variants[v.name], 1) << "two variants named " << v.name;
      EXPECT_TRUE(v.run) << v.name << " cannot run";
      (v.place == Place::Host ? host : device) = true;
    }
    EXPECT_TRUE(host) << "no CPU variant";
    EXPECT_TRUE(device) << "no CUDA variant";
    EXPECT_EQ(op.variants.front().place, Place::Host) << "the first variant (the bitwise yardstick) is not the CPU's";
    for (const Shape& s : op.test_shapes) EXPECT_EQ(s.d.size(), op.dims.size()) << s.name;
    for (const Shape& s : op.bench_shapes(512)) EXPECT_EQ(s.d.size(), op.dims.size()) << s.name;
  }
  // The ops of the backends' interface, each in the table.
  for (const char* name : {"conv2d_fprop", "conv2d_dgrad", "relu_forward", "relu_backward", "maxpool2x2_forward",
                           "maxpool2x2_backward", "avgpool2x2_forward", "avgpool2x2_backward", "gram", "style_loss",
                           "content_loss", "tv_loss", "adam_step", "dot", "asum", "axpy", "scal", "preprocess",
                           "deprocess", "pixel_scale", "copy_window", "add_window"})
    EXPECT_NO_THROW(find_op(name)) << name;
}

// The checks bite: a ReLU that lets one negative value through, one that
// leaves an element unwritten, and one that writes past its output's end
// each fail.
TEST(OpTableContents, AWrongKernelFailsTheChecks) {
  const Op& relu = find_op("relu_forward");
  const Shape& shape = relu.test_shapes.back();
  const Results ref = reference_outputs(relu, shape.d, 1);
  enum Wrong { kLeaks, kForgets, kOverruns };
  for (const Wrong wrongness : {kLeaks, kForgets, kOverruns}) {
    Variant wrong{"wrong", Place::Host};
    wrong.run = [&relu, wrongness](const Call& c) {
      relu.variants.front().run(c);
      const float* x = c.f(1);
      const size_t n = static_cast<size_t>(c.d[0]);
      if (wrongness == kOverruns) {
        c.f(0)[n] = 0.f;
        return;
      }
      for (size_t i = 0; i < n; ++i)
        if (x[i] < 0) {
          c.f(0)[i] = wrongness == kForgets ? NAN : x[i];
          break;
        }
    };
    Instance instance(relu, wrong, shape.d, 1);
    instance.run();
    if (wrongness == kOverruns) {
      EXPECT_TRUE(matches("y", instance.values(0), ref[0], relu.tolerance));
      EXPECT_EQ(instance.guard_overwritten(), "y");
    } else {
      EXPECT_FALSE(matches("y", instance.values(0), ref[0], relu.tolerance))
          << (wrongness == kForgets ? "unwritten" : "leaked");
      EXPECT_EQ(instance.guard_overwritten(), "");
    }
  }
}

}  // namespace
}  // namespace nst::table
