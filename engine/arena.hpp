// Device memory as the cuda backend holds it: an arena of chunks for what
// the engine allocates, and scratch buffers that only grow. Both take their
// bytes from a Memory, which is cudaMalloc in the cuda backend and a counter
// in the memory estimate (engine/memory_estimate.cpp), so that the estimate
// follows the backend's own rules: the same chunking, rounding and growth.
//
// Memory: void* get(size_t bytes) returns nullptr when out of memory;
//         void put(void* p, size_t bytes) gives back what get returned.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "nst/error.hpp"

namespace nst {

// A bump allocator over chunks with the Backend's mark/release stack
// discipline. Positions count bytes over the chunks held, so a mark is one
// number. Chunks of `chunk_bytes` (at least the request); 0 gives every
// allocation a chunk of exactly its size (the emulator does, so that its
// guard regions sit right after each buffer).
template <class Memory>
class Arena {
 public:
  static constexpr size_t kAlign = 256;  // as cudaMalloc's

  Arena(Memory& memory, size_t chunk_bytes) : memory_(memory), chunk_bytes_(chunk_bytes) {}
  ~Arena() {
    for (const Chunk& c : chunks_) put_quietly(c);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* allocate(size_t bytes) {
    const size_t rounded = round_up(std::max<size_t>(bytes, 1), kAlign);
    if (chunks_.empty() || chunks_.back().used + rounded > chunks_.back().size) open_chunk(rounded, bytes);
    Chunk& c = chunks_.back();
    void* p = static_cast<char*>(c.ptr) + c.used;
    c.used += rounded;
    return p;
  }
  size_t mark() const { return chunks_.empty() ? 0 : chunks_.back().base + chunks_.back().used; }
  // The first chunk is kept (the next plan reuses it); later ones go back.
  void release(size_t mark) {
    while (!chunks_.empty() && chunks_.back().base >= mark && chunks_.size() > 1) {
      const Chunk c = chunks_.back();
      chunks_.pop_back();
      memory_.put(c.ptr, c.got);
    }
    if (!chunks_.empty()) chunks_.back().used = mark > chunks_.back().base ? mark - chunks_.back().base : 0;
  }

 private:
  struct Chunk {
    void* ptr;
    size_t size, used, base;
    size_t got;  // bytes taken from the Memory
  };
  static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

  // A chunk for an allocation of `rounded` bytes (`exact` requested).
  void open_chunk(size_t rounded, size_t exact) {
    Chunk c{nullptr, std::max(rounded, chunk_bytes_), 0,
            chunks_.empty() ? 0 : chunks_.back().base + chunks_.back().size, 0};
    c.got = chunk_bytes_ == 0 ? std::max<size_t>(exact, 1) : c.size;
    c.ptr = memory_.get(c.got);
    if (c.ptr == nullptr) {
      throw OutOfMemory("cannot allocate " + std::to_string((c.got + (1 << 20) - 1) >> 20) +
                        " MB of device memory (" + std::to_string(c.base >> 20) + " MB already held)");
    }
    chunks_.push_back(c);
  }
  void put_quietly(const Chunk& c) noexcept {
    try {
      memory_.put(c.ptr, c.got);
    } catch (...) {  // a destructor reports nothing; the device is going away
    }
  }

  Memory& memory_;
  size_t chunk_bytes_;
  std::vector<Chunk> chunks_;
};

// Scratch of T that only grows, and only in reserve_* / planning calls.
template <class Memory, typename T>
class Scratch {
 public:
  explicit Scratch(Memory& memory) : memory_(memory) {}
  ~Scratch() {
    try {
      if (ptr_ != nullptr) memory_.put(ptr_, n_ * sizeof(T));
    } catch (...) {  // as the arena's: nothing to report to
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Returns whether the buffer moved. The old buffer goes back before the
  // new one is taken, so the two are never held together.
  bool reserve(size_t n) {
    if (n <= n_) return false;
    if (ptr_ != nullptr) memory_.put(ptr_, n_ * sizeof(T));
    ptr_ = nullptr;
    n_ = 0;
    ptr_ = static_cast<T*>(memory_.get(n * sizeof(T)));
    if (ptr_ == nullptr) {
      throw OutOfMemory("cannot allocate " + std::to_string((n * sizeof(T) + (1 << 20) - 1) >> 20) +
                        " MB of device scratch");
    }
    n_ = n;
    return true;
  }
  T* get(size_t n, const char* what) const {
    if (n > n_) throw Error(std::string("cuda backend: ") + what + " scratch was not reserved while planning");
    return ptr_;
  }
  size_t bytes() const { return n_ * sizeof(T); }

 private:
  Memory& memory_;
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

}  // namespace nst
