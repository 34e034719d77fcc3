// No heap allocation in the optimisation loop (issue 13): after two
// warm-up steps, the steps of the cpu backend's Session (Adam; L-BFGS while
// its history fills and after; tiled) ask operator new for nothing. This binary
// replaces the global operator new and delete with counting ones, so it is
// a test executable of its own. (OpenBLAS's and OpenMP's own buffers come
// from malloc at start-up and are not counted.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "nst/nst.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n > 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n > 0 ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
// GCC takes free() in a replaced operator delete for a mismatch; here
// operator new is malloc, so it is the match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace nst {
namespace {

struct Case {
  const char* name;
  OptimizerKind optimizer;
  int tile;
};

class NoAllocation : public ::testing::TestWithParam<Case> {};

struct Counts {
  long setup = 0;  // the Session, its images and the warm-up steps
  long loop = 0;   // the steps after
};

Counts allocations(const Case& c, int warm, int steps) {
  Counts n;
  long before = g_allocations.load();
  const auto layers = vgg16_layers(16);
  const NetworkWeights weights = make_random_weights(layers, 3);
  Options opt;
  opt.compute.device = Device::Cpu;
  opt.optimizer = c.optimizer;
  opt.tile = c.tile;
  opt.lbfgs_history = 4;
  Session session(weights, opt, 64, 48, LogFn{}, layers);
  session.set_content(noise_image(48, 64, 1));
  session.set_styles({noise_image(48, 64, 2)});
  session.init_image(Init::Random, 0);
  for (int i = 0; i < warm; ++i) session.step();
  n.setup = g_allocations.load() - before;
  before = g_allocations.load();
  for (int i = 0; i < steps; ++i) session.step();
  n.loop = g_allocations.load() - before;
  return n;
}

TEST_P(NoAllocation, StepsAfterTheWarmUpAllocateNothing) {
  const Case& c = GetParam();
  // L-BFGS: more steps than its history, so that the history fills (and
  // its oldest pairs are dropped) inside the counted steps.
  const bool lbfgs = c.optimizer == OptimizerKind::Lbfgs;
  EXPECT_EQ(allocations(c, 2, lbfgs ? 8 : 3).loop, 0) << "operator new called in the loop";
}

// The counter counts: building the Session allocates (its Model, Plan,
// buffers), so a counter that missed calls would fail here.
TEST(NoAllocationCounter, SeesTheSetUpsAllocations) {
  EXPECT_GT(allocations({"adam", OptimizerKind::Adam, 0}, 0, 1).setup, 10);
}

INSTANTIATE_TEST_SUITE_P(Cpu, NoAllocation,
                         ::testing::Values(Case{"adam", OptimizerKind::Adam, 0}, Case{"lbfgs", OptimizerKind::Lbfgs, 0},
                                           Case{"adam_tiled", OptimizerKind::Adam, 32}),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace nst
