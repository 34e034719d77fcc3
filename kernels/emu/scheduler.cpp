// The scheduler: runs a launch block by block, each block's threads as
// fibers, and implements what makes threads wait for each other.
//
// A block runs in rounds. In a round every ready thread, in the configured
// order, runs until it waits (at __syncthreads() or a warp intrinsic) or
// exits. Then, with every thread waiting or exited:
//   1. each warp intrinsic whose mask lanes all wait at it (same call site,
//      same mask) completes: results are computed from the values the lanes
//      brought, and those lanes become ready;
//   2. otherwise, if every thread of the block waits at the same
//      __syncthreads(), the barrier opens;
//   3. otherwise no thread can ever go on: a divergent barrier. The error
//      names the kernel, the block and where each thread is.
// A block whose threads never wait costs two switches per thread.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/emu/device_functions.hpp"
#include "kernels/emu/fiber.hpp"
#include "kernels/emu/internal.hpp"
#include "kernels/emu/launch.hpp"

#if NST_EMU_HAS_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace nst_emu::detail {

uint3 g_thread_idx{0, 0, 0};
uint3 g_block_idx{0, 0, 0};
dim3 g_block_dim{1, 1, 1};
dim3 g_grid_dim{1, 1, 1};
std::uint64_t g_block_epoch = 0;

namespace {

constexpr std::size_t kRedzone = 64;            // guard bytes behind each shared variable
constexpr unsigned char kUninitialised = 0xFF;  // NaN as float, -1 as int
constexpr std::uint64_t kPoison = ~0ull;        // a shuffle from a lane outside the mask

enum class State : unsigned char { ready, at_barrier, at_warp_op, exited, faulted };

struct Thread {
  Fiber fiber;
  State state = State::ready;
  unsigned linear = 0;
  const char* file = nullptr;  // where it waits
  int line = 0;
  BarrierKind barrier = BarrierKind::sync;
  WarpOpKind op = WarpOpKind::sync;
  unsigned mask = 0;
  int param = 0;
  int width = 32;
  bool is_signed = false;
  std::uint64_t value = 0;
  std::uint64_t result = 0;
  std::exception_ptr error;
};

struct SharedVar {
  std::size_t offset;
  std::size_t size;
  const char* name;  // nullptr: the dynamic shared memory
  const char* file;
  int line;
};

// splitmix64: small, seedable, the same on every platform.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[next() % i]);
  }
};

struct Config {
  Schedule order = Schedule::forward;
  std::uint64_t seed = 0;
  std::uint64_t launches = 0;  // since the schedule was set
};

Config config_from_env() {
  Config c;
  const char* env = std::getenv("NST_EMU_SCHEDULE");
  if (env == nullptr) return c;
  const std::string s(env);
  if (s.rfind("reverse", 0) == 0) c.order = Schedule::reverse;
  if (s.rfind("random", 0) == 0) {
    c.order = Schedule::random;
    const auto colon = s.find(':');
    if (colon != std::string::npos) c.seed = std::strtoull(s.c_str() + colon + 1, nullptr, 10);
  }
  return c;
}

Config& config() {
  static Config c = config_from_env();
  return c;
}

std::string dims(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

const char* op_name(WarpOpKind op) {
  switch (op) {
    case WarpOpKind::sync: return "__syncwarp";
    case WarpOpKind::shfl: return "__shfl_sync";
    case WarpOpKind::shfl_up: return "__shfl_up_sync";
    case WarpOpKind::shfl_down: return "__shfl_down_sync";
    case WarpOpKind::shfl_xor: return "__shfl_xor_sync";
    case WarpOpKind::ballot: return "__ballot_sync";
    case WarpOpKind::all: return "__all_sync";
    case WarpOpKind::any: return "__any_sync";
    case WarpOpKind::reduce_add: return "__reduce_add_sync";
    case WarpOpKind::reduce_min: return "__reduce_min_sync";
    case WarpOpKind::reduce_max: return "__reduce_max_sync";
    case WarpOpKind::reduce_and: return "__reduce_and_sync";
    case WarpOpKind::reduce_or: return "__reduce_or_sync";
    case WarpOpKind::reduce_xor: return "__reduce_xor_sync";
  }
  return "?";
}

const char* barrier_name(BarrierKind b) {
  switch (b) {
    case BarrierKind::sync: return "__syncthreads()";
    case BarrierKind::count: return "__syncthreads_count()";
    case BarrierKind::all: return "__syncthreads_and()";
    case BarrierKind::any: return "__syncthreads_or()";
  }
  return "?";
}

bool same_site(const Thread& a, const Thread& b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

// "0-15, 17, 20-31"
std::string ranges(const std::vector<unsigned>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!s.empty()) s += ", ";
    s += std::to_string(ids[i]);
    if (j > i) s += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return s;
}

// The state of the launch being run (one at a time, process-wide).
class Launcher {
 public:
  void run(const LaunchRequest& request);

  // Fiber side.
  Thread& current() {
    if (current_ == nullptr) {
      throw Error(cudaErrorLaunchFailure,
                  "nst emu: a barrier, warp intrinsic or shared variable was used outside a kernel "
                  "launch (call kernels through launch()/NST_LAUNCH)");
    }
    return *current_;
  }
  void* alloc_shared(std::size_t size, std::size_t align, const char* name, const char* file,
                     int line);
  void* dynamic_shared() { return arena_; }
  void run_body() { request_->run(request_->args); }
  std::string where(const Thread& t) const;
  std::string kernel() const { return nst::cuda::describe(*request_->site); }

 private:
  void validate(const LaunchRequest& request);
  void run_block(std::uint64_t block);
  void run_round();
  void step(unsigned i);
  void complete_warp_op(unsigned base, unsigned lanes);
  bool release_warp_ops();
  bool release_barrier();
  [[noreturn]] void report_deadlock();
  [[noreturn]] void report_fault(Thread& t);
  void check_shared_guards();
  void abandon_fibers();

  const LaunchRequest* request_ = nullptr;
  unsigned nthreads_ = 0;
  unsigned exited_ = 0;
  std::vector<Thread> threads_;
  std::vector<uint3> thread_idx_;
  std::vector<unsigned> order_;
  StackPool stacks_;
  Thread* current_ = nullptr;
  Schedule order_kind_ = Schedule::forward;
  Rng rng_{0};
  Stats stats_;

  // Shared memory of the running block: dynamic first, then each static
  // variable when first reached, each followed by a guard.
  unsigned char* arena_ = nullptr;
  std::size_t arena_size_ = 0;
  std::size_t arena_used_ = 0;
  std::size_t static_bytes_ = 0;
  std::size_t shared_limit_ = 0;
  std::vector<SharedVar> shared_vars_;

  friend Stats nst_emu::stats();
};

std::mutex g_launch_mutex;
Launcher* g_launcher = nullptr;  // set while a launch runs
thread_local bool t_in_launch = false;

Launcher& launcher() {
  static Launcher* l = new Launcher();  // never destroyed: fibers may outlive static destruction order
  return *l;
}

Launcher& active() {
  if (g_launcher == nullptr) {
    throw Error(cudaErrorLaunchFailure,
                "nst emu: a barrier, warp intrinsic or shared variable was used outside a kernel "
                "launch (launch kernels through launch()/NST_LAUNCH, never call them directly)");
  }
  return *g_launcher;
}

void thread_main(Fiber& fiber) {
  Launcher& l = *g_launcher;
  Thread& t = l.current();
  try {
    l.run_body();
    t.state = State::exited;
  } catch (...) {
    t.error = std::current_exception();
    t.state = State::faulted;
  }
  fiber.exit();
}

void Launcher::validate(const LaunchRequest& r) {
  const auto fail = [&](cudaError_t code, const std::string& why) {
    throw Error(code, "nst emu: cannot launch " + nst::cuda::describe(*r.site) + " with grid " +
                          dims(r.grid) + " and block " + dims(r.block) + ": " + why);
  };
  if (r.kernel == nullptr || r.run == nullptr) fail(cudaErrorInvalidDeviceFunction, "no kernel");
  const dim3 b = r.block;
  const dim3 g = r.grid;
  if (b.x == 0 || b.y == 0 || b.z == 0 || g.x == 0 || g.y == 0 || g.z == 0) {
    fail(cudaErrorInvalidConfiguration, "a dimension is zero");
  }
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  if (threads > static_cast<unsigned long long>(kMaxThreadsPerBlock)) {
    fail(cudaErrorInvalidConfiguration, std::to_string(threads) +
                                            " threads per block, more than the limit of " +
                                            std::to_string(kMaxThreadsPerBlock));
  }
  if (b.x > 1024 || b.y > 1024 || b.z > 64) {
    fail(cudaErrorInvalidConfiguration, "block dimensions are limited to (1024,1024,64)");
  }
  if (g.x > 2147483647u || g.y > 65535u || g.z > 65535u) {
    fail(cudaErrorInvalidConfiguration, "grid dimensions are limited to (2147483647,65535,65535)");
  }
  if (!is_valid_stream(r.stream)) {
    fail(cudaErrorInvalidResourceHandle, "the stream was not created or was destroyed");
  }
  const std::size_t limit = dynamic_shared_limit(r.kernel);
  if (r.shared_bytes > limit) {
    std::string why = std::to_string(r.shared_bytes) +
                      " bytes of dynamic shared memory, more than the limit of " +
                      std::to_string(limit);
    if (limit == kSharedMemPerBlock) {
      why += " (a kernel opts in to up to " + std::to_string(kSharedMemPerBlockOptin) +
             " with cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, "
             "bytes))";
    }
    fail(cudaErrorInvalidValue, why);
  }
}

void Launcher::run(const LaunchRequest& r) {
  validate(r);
  request_ = &r;
  const dim3 b = r.block;
  nthreads_ = b.x * b.y * b.z;
  if (threads_.size() < nthreads_) threads_.resize(nthreads_);
  thread_idx_.resize(nthreads_);
  for (unsigned i = 0; i < nthreads_; ++i) {
    threads_[i].linear = i;
    thread_idx_[i] = uint3{i % b.x, (i / b.x) % b.y, i / (b.x * b.y)};
  }
  g_block_dim = r.block;
  g_grid_dim = r.grid;
  shared_limit_ = dynamic_shared_limit(r.kernel) > kSharedMemPerBlock ? kSharedMemPerBlockOptin
                                                                       : kSharedMemPerBlock;
  if (arena_ == nullptr) {
    arena_size_ = kSharedMemPerBlockOptin + 32 * 1024;
    arena_ = static_cast<unsigned char*>(::operator new(arena_size_, std::align_val_t(128)));
  }
  order_kind_ = config().order;
  // Launches are numbered from the last set_schedule(), so a seeded run
  // repeats from there.
  rng_ = Rng{config().seed * 0x2545F4914F6CDD1Dull + config().launches++};
  ++stats_.launches;

  const std::uint64_t nblocks = 1ull * r.grid.x * r.grid.y * r.grid.z;
  if (order_kind_ == Schedule::random && nblocks > 1 && nblocks <= (1ull << 22)) {
    std::vector<std::uint64_t> blocks(nblocks);
    for (std::uint64_t i = 0; i < nblocks; ++i) blocks[i] = i;
    rng_.shuffle(blocks);
    for (std::uint64_t blk : blocks) run_block(blk);
  } else if (order_kind_ == Schedule::reverse) {
    for (std::uint64_t i = nblocks; i-- > 0;) run_block(i);
  } else {
    for (std::uint64_t i = 0; i < nblocks; ++i) run_block(i);
  }

  const std::string overwritten = check_device_guards();
  if (!overwritten.empty()) {
    throw Error(cudaErrorIllegalAddress, "nst emu: kernel " + kernel() +
                                             " wrote outside its cudaMalloc allocations:\n" +
                                             overwritten);
  }
}

void Launcher::run_block(std::uint64_t block) {
  const dim3 g = request_->grid;
  g_block_idx = uint3{static_cast<unsigned>(block % g.x), static_cast<unsigned>((block / g.x) % g.y),
                      static_cast<unsigned>(block / (1ull * g.x * g.y))};
  ++g_block_epoch;
  arena_used_ = 0;
  static_bytes_ = 0;
  shared_vars_.clear();
#if NST_EMU_HAS_ASAN
  __asan_poison_memory_region(arena_, arena_size_);
#endif
  alloc_shared(request_->shared_bytes, 128, nullptr, nullptr, 0);

  for (unsigned i = 0; i < nthreads_; ++i) {
    Thread& t = threads_[i];
    t.state = State::ready;
    t.error = nullptr;
    t.fiber.start(stacks_.at(i), &thread_main);
  }
  exited_ = 0;
  for (;;) {
    run_round();
    if (exited_ == nthreads_) break;
    if (release_warp_ops()) continue;
    if (release_barrier()) continue;
    report_deadlock();
  }
  check_shared_guards();
  ++stats_.blocks;
  stats_.threads += nthreads_;
}

void Launcher::step(unsigned i) {
  Thread& t = threads_[i];
  if (t.state != State::ready) return;
  current_ = &t;
  g_thread_idx = thread_idx_[i];
  t.fiber.resume();
  current_ = nullptr;
  if (t.state == State::exited) {
    ++exited_;
  } else if (t.state == State::faulted) {
    report_fault(t);
  }
}

void Launcher::run_round() {
  switch (order_kind_) {
    case Schedule::forward:
      for (unsigned i = 0; i < nthreads_; ++i) step(i);
      break;
    case Schedule::reverse:
      for (unsigned i = nthreads_; i-- > 0;) step(i);
      break;
    case Schedule::random:
      order_.resize(nthreads_);
      for (unsigned i = 0; i < nthreads_; ++i) order_[i] = i;
      rng_.shuffle(order_);
      for (unsigned i : order_) step(i);
      break;
  }
}

// The lane a shuffle reads, or 32 when the caller keeps its own value.
unsigned shuffle_source(const Thread& t, unsigned lane) {
  const unsigned w = static_cast<unsigned>(t.width);
  const unsigned in_segment = lane & (w - 1);
  const unsigned segment = lane - in_segment;
  const unsigned delta = static_cast<unsigned>(t.param);
  switch (t.op) {
    case WarpOpKind::shfl: return segment + (delta & (w - 1));
    case WarpOpKind::shfl_up: return in_segment >= delta ? lane - delta : lane;
    case WarpOpKind::shfl_down: return delta < w - in_segment ? lane + delta : lane;
    case WarpOpKind::shfl_xor: {
      const unsigned src = lane ^ (delta & 31u);
      return src >= segment + w ? lane : src;
    }
    default: return lane;
  }
}

void Launcher::complete_warp_op(unsigned base, unsigned lanes) {
  const Thread& first = threads_[base + static_cast<unsigned>(__builtin_ctz(lanes))];
  std::uint64_t common = 0;
  switch (first.op) {
    case WarpOpKind::ballot:
    case WarpOpKind::all:
    case WarpOpKind::any: {
      unsigned bits = 0;
      for (unsigned m = 0; m < 32; ++m) {
        if ((lanes >> m & 1u) && threads_[base + m].value != 0) bits |= 1u << m;
      }
      common = first.op == WarpOpKind::ballot ? bits
               : first.op == WarpOpKind::all  ? (bits == lanes ? 1 : 0)
                                              : (bits != 0 ? 1 : 0);
      break;
    }
    case WarpOpKind::reduce_add:
    case WarpOpKind::reduce_min:
    case WarpOpKind::reduce_max:
    case WarpOpKind::reduce_and:
    case WarpOpKind::reduce_or:
    case WarpOpKind::reduce_xor: {
      bool started = false;
      std::uint32_t acc = 0;
      for (unsigned m = 0; m < 32; ++m) {
        if (!(lanes >> m & 1u)) continue;
        const std::uint32_t v = static_cast<std::uint32_t>(threads_[base + m].value);
        if (!started) {
          acc = v;
          started = true;
          continue;
        }
        const bool less = first.is_signed ? static_cast<std::int32_t>(v) < static_cast<std::int32_t>(acc)
                                          : v < acc;
        switch (first.op) {
          case WarpOpKind::reduce_add: acc += v; break;
          case WarpOpKind::reduce_min: acc = less ? v : acc; break;
          case WarpOpKind::reduce_max: acc = (!less && v != acc) ? v : acc; break;
          case WarpOpKind::reduce_and: acc &= v; break;
          case WarpOpKind::reduce_or: acc |= v; break;
          default: acc ^= v; break;
        }
      }
      common = first.is_signed ? static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(acc)))
                               : acc;
      break;
    }
    default:
      break;
  }
  for (unsigned m = 0; m < 32; ++m) {
    if (!(lanes >> m & 1u)) continue;
    Thread& t = threads_[base + m];
    switch (t.op) {
      case WarpOpKind::shfl:
      case WarpOpKind::shfl_up:
      case WarpOpKind::shfl_down:
      case WarpOpKind::shfl_xor: {
        const unsigned src = shuffle_source(t, m);
        // Reading a lane outside the mask is undefined in CUDA: poison.
        t.result = (src < 32 && (lanes >> src & 1u)) ? threads_[base + src].value : kPoison;
        break;
      }
      default:
        t.result = common;
        break;
    }
    t.state = State::ready;
  }
}

bool Launcher::release_warp_ops() {
  bool released = false;
  for (unsigned base = 0; base < nthreads_; base += 32) {
    const unsigned n = std::min(32u, nthreads_ - base);
    const unsigned exists = n == 32 ? ~0u : (1u << n) - 1u;
    unsigned waiting = 0;
    for (unsigned l = 0; l < n; ++l) {
      if (threads_[base + l].state == State::at_warp_op) waiting |= 1u << l;
    }
    unsigned handled = 0;
    for (unsigned l = 0; l < n; ++l) {
      if (!(waiting >> l & 1u) || (handled >> l & 1u)) continue;
      const Thread& t = threads_[base + l];
      // Lanes of the mask that do not exist (a partial last warp) are ignored.
      const unsigned lanes = t.mask & exists;
      bool complete = (lanes & ~waiting) == 0;
      for (unsigned m = 0; complete && m < 32; ++m) {
        if (!(lanes >> m & 1u)) continue;
        const Thread& o = threads_[base + m];
        complete = o.op == t.op && o.mask == t.mask && same_site(o, t);
      }
      if (!complete) {
        handled |= 1u << l;
        continue;
      }
      complete_warp_op(base, lanes);
      handled |= lanes;
      released = true;
    }
  }
  return released;
}

bool Launcher::release_barrier() {
  if (exited_ > 0) return false;
  const Thread& first = threads_[0];
  unsigned count = 0;
  for (unsigned i = 0; i < nthreads_; ++i) {
    const Thread& t = threads_[i];
    if (t.state != State::at_barrier || t.barrier != first.barrier || !same_site(t, first)) {
      return false;
    }
    count += t.value != 0 ? 1 : 0;
  }
  std::uint64_t result = 0;
  switch (first.barrier) {
    case BarrierKind::sync: break;
    case BarrierKind::count: result = count; break;
    case BarrierKind::all: result = count == nthreads_ ? 1 : 0; break;
    case BarrierKind::any: result = count > 0 ? 1 : 0; break;
  }
  for (unsigned i = 0; i < nthreads_; ++i) {
    threads_[i].result = result;
    threads_[i].state = State::ready;
  }
  return true;
}

std::string Launcher::where(const Thread& t) const {
  const uint3 idx = thread_idx_[t.linear];
  return "block " + dims(g_block_idx) + ", thread " + dims(idx);
}

void Launcher::abandon_fibers() {
  for (unsigned i = 0; i < nthreads_; ++i) {
    const State s = threads_[i].state;
    if (s == State::at_barrier || s == State::at_warp_op || s == State::ready) {
      stacks_.at(i).forget_frames();
    }
  }
  current_ = nullptr;
}

void Launcher::report_deadlock() {
  abandon_fibers();
  std::vector<std::pair<std::string, std::vector<unsigned>>> groups;
  for (unsigned i = 0; i < nthreads_; ++i) {
    const Thread& t = threads_[i];
    std::string key;
    if (t.state == State::exited) {
      key = "exited";
    } else if (t.state == State::at_barrier) {
      key = std::string("waiting at ") + barrier_name(t.barrier) + " at " + t.file + ":" +
            std::to_string(t.line);
    } else {
      key = std::string("waiting at ") + op_name(t.op) + "(mask " + hex(t.mask) + ") at " + t.file +
            ":" + std::to_string(t.line);
    }
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.emplace_back(key, std::vector<unsigned>{});
      it = groups.end() - 1;
    }
    it->second.push_back(i);
  }
  std::ostringstream msg;
  msg << "nst emu: barrier divergence in kernel " << kernel() << ", block " << dims(g_block_idx)
      << " of grid " << dims(request_->grid) << " (block size " << dims(request_->block)
      << "): no thread can go on.\n";
  for (const auto& g : groups) {
    msg << "  threads " << ranges(g.second) << ": " << g.first << "\n";
  }
  msg << "Every thread of a block must reach the same __syncthreads(), and every lane named in a "
         "warp intrinsic's mask the same intrinsic with the same mask (thread numbers are "
         "x + y*blockDim.x + z*blockDim.x*blockDim.y).";
  throw Error(cudaErrorLaunchFailure, msg.str());
}

void Launcher::report_fault(Thread& t) {
  abandon_fibers();
  std::string why = "unknown exception";
  cudaError_t code = cudaErrorLaunchFailure;
  try {
    std::rethrow_exception(t.error);
  } catch (const Error& e) {
    why = e.what();
    code = e.code();
  } catch (const std::exception& e) {
    why = e.what();
  } catch (...) {
  }
  throw Error(code, "nst emu: kernel " + kernel() + " failed in " + where(t) + ": " + why);
}

void* Launcher::alloc_shared(std::size_t size, std::size_t align, const char* name,
                             const char* file, int line) {
  if (name != nullptr) {
    static_bytes_ += size;
    if (static_bytes_ + request_->shared_bytes > shared_limit_) {
      throw Error(cudaErrorLaunchOutOfResources,
                  "shared variable `" + std::string(name) + "` (" + std::to_string(size) +
                      " bytes, declared at " + file + ":" + std::to_string(line) +
                      ") brings the block's shared memory to " + std::to_string(static_bytes_) +
                      " bytes static + " + std::to_string(request_->shared_bytes) +
                      " dynamic, more than the limit of " + std::to_string(shared_limit_));
    }
  }
  const std::size_t offset = (arena_used_ + align - 1) / align * align;
  if (offset + size + kRedzone > arena_size_) {
    throw Error(cudaErrorLaunchOutOfResources, "too many shared variables for the emulated arena");
  }
  unsigned char* p = arena_ + offset;
#if NST_EMU_HAS_ASAN
  __asan_unpoison_memory_region(p, size);
#endif
  std::memset(p, kUninitialised, size);
#if !NST_EMU_HAS_ASAN
  fill_guard(p + size, kRedzone);
#endif
  arena_used_ = offset + size + kRedzone;
  shared_vars_.push_back(SharedVar{offset, size, name, file, line});
  return p;
}

void Launcher::check_shared_guards() {
#if !NST_EMU_HAS_ASAN  // under ASan the guards are poisoned and writes fault at once
  for (const SharedVar& v : shared_vars_) {
    const unsigned char* guard = arena_ + v.offset + v.size;
    for (std::size_t k = 0; k < kRedzone; ++k) {
      if (guard[k] == guard_byte(guard + k)) continue;
      const std::string what =
          v.name == nullptr ? "the dynamic shared memory (" + std::to_string(v.size) + " bytes)"
                            : "shared variable `" + std::string(v.name) + "` (" +
                                  std::to_string(v.size) + " bytes, declared at " + v.file + ":" +
                                  std::to_string(v.line) + ")";
      throw Error(cudaErrorIllegalAddress, "nst emu: kernel " + kernel() + " wrote past the end of " +
                                               what + " in block " + dims(g_block_idx) + ": byte " +
                                               std::to_string(k) + " after its end was written");
    }
  }
#endif
}

}  // namespace

// ---- the fiber side ------------------------------------------------------

int block_barrier(BarrierKind kind, int predicate, const char* file, int line) {
  Thread& t = active().current();
  t.state = State::at_barrier;
  t.barrier = kind;
  t.value = static_cast<std::uint64_t>(predicate);
  t.file = file;
  t.line = line;
  t.fiber.yield();
  return static_cast<int>(t.result);
}

std::uint64_t warp_op(WarpOpKind kind, unsigned mask, std::uint64_t value, int param, int width,
                      bool is_signed, const char* file, int line) {
  Thread& t = active().current();
  const unsigned lane = t.linear & 31u;
  // Nothing that owns memory may live on a fiber's stack across a wait:
  // a block that fails is abandoned without unwinding.
  if (!(mask >> lane & 1u)) {
    throw Error(cudaErrorLaunchFailure, std::string(op_name(kind)) + " at " + file + ":" +
                                            std::to_string(line) + ": mask " + hex(mask) +
                                            " does not include the calling lane " +
                                            std::to_string(lane));
  }
  if (width < 1 || width > 32 || (width & (width - 1)) != 0) {
    throw Error(cudaErrorLaunchFailure, std::string(op_name(kind)) + " at " + file + ":" +
                                            std::to_string(line) + ": width " +
                                            std::to_string(width) +
                                            " is not a power of two in [1, 32]");
  }
  t.state = State::at_warp_op;
  t.op = kind;
  t.mask = mask;
  t.value = value;
  t.param = param;
  t.width = width;
  t.is_signed = is_signed;
  t.file = file;
  t.line = line;
  t.fiber.yield();
  return t.result;
}

void trap(const char* file, int line) {
  throw Error(cudaErrorIllegalInstruction,
              "__trap() at " + std::string(file) + ":" + std::to_string(line));
}

void misaligned(const void* ptr, std::size_t size, std::size_t align, const char* file, int line) {
  std::ostringstream os;
  os << "misaligned " << size << "-byte __ldg of " << ptr << " (needs " << align << "-byte alignment) at " << file
     << ":" << line;
  throw Error(cudaErrorMisalignedAddress, os.str());
}

void* shared_alloc_slow(SharedSlot& slot, std::size_t size, std::size_t align, const char* name,
                        const char* file, int line) {
  Launcher& l = active();
  l.current();
  slot.ptr = l.alloc_shared(size, align, name, file, line);
  slot.epoch = g_block_epoch;
  return slot.ptr;
}

void* dynamic_shared() {
  Launcher& l = active();
  l.current();
  return l.dynamic_shared();
}

// ---- the host side -------------------------------------------------------

void launch(const LaunchRequest& request) {
  if (t_in_launch) {
    throw Error(cudaErrorLaunchFailure, "nst emu: kernel code launched a kernel (dynamic "
                                        "parallelism is not supported)");
  }
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  struct Active {
    Active() {
      t_in_launch = true;
      g_launcher = &launcher();
    }
    ~Active() {
      g_launcher = nullptr;
      t_in_launch = false;
    }
  } active_launch;
  g_launcher->run(request);
}

}  // namespace nst_emu::detail

namespace nst_emu {

void set_schedule(Schedule order, std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(detail::g_launch_mutex);
  detail::config() = detail::Config{order, seed, 0};
}

Schedule schedule() {
  std::lock_guard<std::mutex> lock(detail::g_launch_mutex);
  return detail::config().order;
}

std::uint64_t schedule_seed() {
  std::lock_guard<std::mutex> lock(detail::g_launch_mutex);
  return detail::config().seed;
}

Stats stats() {
  std::lock_guard<std::mutex> lock(detail::g_launch_mutex);
  Stats s = detail::launcher().stats_;
  s.switches = detail::fiber_switches();
  return s;
}

bool built_with_asan() { return NST_EMU_HAS_ASAN != 0; }

}  // namespace nst_emu
