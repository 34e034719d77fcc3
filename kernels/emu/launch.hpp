// Launching a kernel on the CPU, and the emulation's own controls: the
// order in which a block's threads run, counters, and its error type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/cuda/launch_site.hpp"
#include "kernels/emu/runtime_api.hpp"
#include "nst/error.hpp"

namespace nst_emu {

// A failure the emulation detected: a bad launch configuration, a
// divergent barrier, an out-of-bounds write, a bad runtime call. what()
// names the kernel, the block and the threads concerned.
class Error : public nst::DeviceError {
 public:
  Error(cudaError_t code, const std::string& message) : nst::DeviceError(message), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

// The order in which the scheduler resumes a block's threads between two
// barriers, and the order of the blocks: forward (0, 1, ...), reverse, or
// random (seeded, reshuffled between barriers). A kernel that is missing a
// barrier gives different results under different orders.
// The default comes from NST_EMU_SCHEDULE=forward|reverse|random[:seed].
enum class Schedule { forward, reverse, random };
void set_schedule(Schedule order, std::uint64_t seed = 0);
Schedule schedule();
std::uint64_t schedule_seed();

class ScopedSchedule {
 public:
  explicit ScopedSchedule(Schedule order, std::uint64_t seed = 0)
      : old_order_(schedule()), old_seed_(schedule_seed()) {
    set_schedule(order, seed);
  }
  ~ScopedSchedule() { set_schedule(old_order_, old_seed_); }
  ScopedSchedule(const ScopedSchedule&) = delete;
  ScopedSchedule& operator=(const ScopedSchedule&) = delete;

 private:
  Schedule old_order_;
  std::uint64_t old_seed_;
};

struct Stats {
  std::uint64_t launches = 0;
  std::uint64_t blocks = 0;
  std::uint64_t threads = 0;
  std::uint64_t switches = 0;  // fiber switches, each direction counted
};
Stats stats();

// The detail behind the last failed runtime call on this host thread
// (cudaGetErrorString only knows the code); empty when there is none.
std::string last_error_detail();

// Whether this build of the runtime was compiled with AddressSanitizer.
bool built_with_asan();

namespace detail {

using Thunk = void (*)(void*);
struct LaunchRequest {
  const nst::cuda::LaunchSite* site;
  const void* kernel;
  dim3 grid;
  dim3 block;
  std::size_t shared_bytes;
  cudaStream_t stream;
  Thunk run;   // runs the kernel body for the current thread
  void* args;  // the kernel's arguments, converted once
};
// Runs every block; throws nst_emu::Error when something is wrong.
void launch(const LaunchRequest& request);

}  // namespace detail

// Runs kernel(args...) for every thread of the grid before returning.
template <typename... Params, typename... Args>
void launch(const nst::cuda::LaunchSite& site, void (*kernel)(Params...), dim3 grid, dim3 block,
            std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args),
                "launch: the kernel takes a different number of arguments");
  using Tuple = std::tuple<std::decay_t<Params>...>;
  struct Frame {
    void (*kernel)(Params...);
    Tuple args;
  };
  Frame frame{kernel, Tuple(std::forward<Args>(args)...)};
  detail::Thunk run = [](void* p) {
    Frame* f = static_cast<Frame*>(p);
    std::apply(f->kernel, f->args);
  };
  detail::launch(detail::LaunchRequest{&site, reinterpret_cast<const void*>(kernel), grid, block,
                                       shared_bytes, stream, run, &frame});
}

}  // namespace nst_emu
