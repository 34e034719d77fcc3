// Fibers for the emulated threads of a block: Boost.Context's fcontext
// (a few dozen instructions per switch), stacks from mmap with a PROT_NONE
// guard page below each so an overflow faults instead of corrupting a
// neighbour, and the AddressSanitizer annotations that let ASan follow the
// switches (__sanitizer_start/finish_switch_fiber).
//
// Only the scheduler resumes fibers and a fiber only ever switches back to
// the scheduler, on the same OS thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define NST_EMU_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NST_EMU_HAS_ASAN 1
#endif
#endif
#ifndef NST_EMU_HAS_ASAN
#define NST_EMU_HAS_ASAN 0
#endif

namespace nst_emu::detail {

class FiberStack {
 public:
  explicit FiberStack(std::size_t size);
  ~FiberStack();
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  void* bottom() const { return usable_; }  // lowest usable address
  void* top() const { return static_cast<char*>(usable_) + size_; }
  std::size_t size() const { return size_; }
  // After a fiber was abandoned mid-kernel: forget ASan's poisoning of its
  // frames before the stack is used again.
  void forget_frames();

 private:
  void* mapping_;
  std::size_t mapping_size_;
  void* usable_;
  std::size_t size_;
};

class Fiber {
 public:
  using Entry = void (*)(Fiber& self);
  // Prepares the fiber to run entry(*this) on `stack` when first resumed.
  // entry must end with exit(), never return.
  void start(FiberStack& stack, Entry entry);
  // Scheduler side: runs the fiber until it yields or exits.
  void resume();
  // Fiber side: back to the scheduler; returns when resumed again.
  void yield();
  // Fiber side: back to the scheduler for good.
  [[noreturn]] void exit();

 private:
  friend struct FiberSwitch;  // fiber.cpp: the switching code
  void* ctx_ = nullptr;
  Entry entry_ = nullptr;
  FiberStack* stack_ = nullptr;
  void* fake_stack_ = nullptr;  // ASan's fake stack of this fiber while it is switched out
};

// Stacks reused by every launch; grows to the largest block seen.
class StackPool {
 public:
  FiberStack& at(std::size_t i);
  std::size_t stack_size() const;

 private:
  std::vector<std::unique_ptr<FiberStack>> stacks_;
};

// Fiber switches so far (both directions).
std::uint64_t fiber_switches();

}  // namespace nst_emu::detail
