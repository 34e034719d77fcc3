// Fibers on Boost.Context's fcontext, with guarded stacks and ASan hooks.
#include "kernels/emu/fiber.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstdlib>
#include <new>
#include <string>

#include "kernels/emu/launch.hpp"

#if NST_EMU_HAS_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace nst_emu::detail {

namespace ctx = boost::context::detail;

namespace {

// The scheduler's side of the current switch: its context, and (for ASan)
// the bounds of the host thread's stack it runs on.
ctx::fcontext_t g_scheduler_ctx = nullptr;
[[maybe_unused]] const void* g_scheduler_stack_bottom = nullptr;
[[maybe_unused]] std::size_t g_scheduler_stack_size = 0;
[[maybe_unused]] void* g_scheduler_fake_stack = nullptr;
std::uint64_t g_switches = 0;

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// NST_EMU_STACK_KB overrides the stack size (default 256 KB, ASan's
// redzones included; threads only touch what they use).
std::size_t configured_stack_size() {
  std::size_t kb = 256;
  if (const char* env = std::getenv("NST_EMU_STACK_KB")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v >= 16) kb = static_cast<std::size_t>(v);
  }
  const std::size_t bytes = kb * 1024;
  return (bytes + page_size() - 1) / page_size() * page_size();
}

}  // namespace

FiberStack::FiberStack(std::size_t size) : size_(size) {
  const std::size_t guard = page_size();
  mapping_size_ = size + guard;
  mapping_ = mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mapping_ == MAP_FAILED) {
    throw Error(cudaErrorMemoryAllocation,
                "nst emu: cannot map a fiber stack of " + std::to_string(mapping_size_) + " bytes");
  }
  // Stacks grow down: the guard page is the lowest one.
  mprotect(mapping_, guard, PROT_NONE);
  usable_ = static_cast<char*>(mapping_) + guard;
}

FiberStack::~FiberStack() { munmap(mapping_, mapping_size_); }

void FiberStack::forget_frames() {
#if NST_EMU_HAS_ASAN
  __asan_unpoison_memory_region(usable_, size_);
#endif
}

// All switching goes through here so that the ASan annotations pair up:
// start_switch_fiber right before a jump, finish_switch_fiber right after
// arriving on the other side.
struct FiberSwitch {
  static void trampoline(ctx::transfer_t t) {
    Fiber& self = *static_cast<Fiber*>(t.data);
    g_scheduler_ctx = t.fctx;
#if NST_EMU_HAS_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_scheduler_stack_bottom, &g_scheduler_stack_size);
#endif
    self.entry_(self);
    std::abort();  // entry must end with exit()
  }

  static void to_scheduler(Fiber& self, bool exiting) {
    ++g_switches;
#if NST_EMU_HAS_ASAN
    // An exiting fiber passes no save slot: ASan frees its fake stack.
    __sanitizer_start_switch_fiber(exiting ? nullptr : &self.fake_stack_, g_scheduler_stack_bottom,
                                   g_scheduler_stack_size);
#else
    (void)self;
    (void)exiting;
#endif
    ctx::transfer_t t = ctx::jump_fcontext(g_scheduler_ctx, nullptr);
    // Resumed by the scheduler.
    g_scheduler_ctx = t.fctx;
#if NST_EMU_HAS_ASAN
    __sanitizer_finish_switch_fiber(self.fake_stack_, &g_scheduler_stack_bottom,
                                    &g_scheduler_stack_size);
#endif
  }
};

void Fiber::start(FiberStack& stack, Entry entry) {
  stack_ = &stack;
  entry_ = entry;
  fake_stack_ = nullptr;
  ctx_ = ctx::make_fcontext(stack.top(), stack.size(), &FiberSwitch::trampoline);
}

void Fiber::resume() {
  ++g_switches;
#if NST_EMU_HAS_ASAN
  __sanitizer_start_switch_fiber(&g_scheduler_fake_stack, stack_->bottom(), stack_->size());
#endif
  ctx::transfer_t t = ctx::jump_fcontext(ctx_, this);
#if NST_EMU_HAS_ASAN
  __sanitizer_finish_switch_fiber(g_scheduler_fake_stack, nullptr, nullptr);
#endif
  ctx_ = t.fctx;
}

void Fiber::yield() { FiberSwitch::to_scheduler(*this, false); }

void Fiber::exit() {
  FiberSwitch::to_scheduler(*this, true);
  std::abort();  // an exited fiber is never resumed
}

FiberStack& StackPool::at(std::size_t i) {
  while (stacks_.size() <= i) stacks_.push_back(std::make_unique<FiberStack>(stack_size()));
  return *stacks_[i];
}

std::size_t StackPool::stack_size() const {
  static const std::size_t size = configured_stack_size();
  return size;
}

std::uint64_t fiber_switches() { return g_switches; }

}  // namespace nst_emu::detail
