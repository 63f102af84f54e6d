// Asynchronous host-to-device copies beside the compute, for both builds (the model's weight streaming,
// optimized/model/layer_stream.cuh):
//   PinnedBuffer<T>  page-locked host memory (cudaHostAlloc), which a copy can read while kernels run;
//                    plain aligned host memory in the host build.
//   CopyStream       a stream of its own (non-blocking: it never waits for the legacy default stream the
//                    kernels run on), carrying cudaMemcpyAsync H2D.
//   Fence            an event without timing: recorded on one stream, waited for by another on the device
//                    (cudaStreamWaitEvent), never by the host.
// In the host build launches and copies are synchronous, so a copy is complete when copy() returns and
// every fence is a no-op; the ordering the fences express is then trivially kept.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "optimized/common/launch.h"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {

#if defined(__CUDACC__)

// Page-locked host memory (at least one byte: cudaHostAlloc takes no empty request).
inline void* pinned_alloc(size_t bytes) {
  void* p = nullptr;
  check(cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault), "cudaHostAlloc (pinned host memory)");
  return p;
}
inline void pinned_free(void* p) { if (p) cudaFreeHost(p); }

class Fence {
 public:
  Fence() { check(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming), "cudaEventCreateWithFlags"); }
  ~Fence() { if (e_) cudaEventDestroy(e_); }
  Fence(Fence&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Fence& operator=(Fence&& o) noexcept {
    std::swap(e_, o.e_);
    return *this;
  }
  Fence(const Fence&) = delete;
  Fence& operator=(const Fence&) = delete;
  // Marks the point in `s` that a later wait refers to (re-recording moves it).
  void record(Stream s) { check(cudaEventRecord(e_, s), "cudaEventRecord"); }
  // Work issued to `s` after this call starts once the last recorded point has been reached (at once
  // when the fence was never recorded).
  void wait_on(Stream s) const { check(cudaStreamWaitEvent(s, e_, 0), "cudaStreamWaitEvent"); }

 private:
  cudaEvent_t e_ = nullptr;
};

class CopyStream {
 public:
  CopyStream() { check(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"); }
  ~CopyStream() { if (s_) cudaStreamDestroy(s_); }
  CopyStream(const CopyStream&) = delete;
  CopyStream& operator=(const CopyStream&) = delete;
  Stream get() const { return s_; }
  void copy_to_device(void* dst, const void* src, size_t bytes) {
    if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s_), "cudaMemcpyAsync H2D");
  }
  void synchronize() { check(cudaStreamSynchronize(s_), "cudaStreamSynchronize (copy stream)"); }
  // Waits for the copies in flight without throwing: for destructors, before the memory they read or
  // write is freed.
  void drain() noexcept { if (s_) (void)cudaStreamSynchronize(s_); }

 private:
  cudaStream_t s_ = nullptr;
};

// Device memory free now (cudaMemGetInfo), 0 when it cannot be read.
inline size_t device_free_bytes() {
  size_t free = 0, total = 0;
  return cudaMemGetInfo(&free, &total) == cudaSuccess ? free : 0;
}

#else

// Plain host memory, 256-byte aligned like device_malloc's.
inline void* pinned_alloc(size_t bytes) {
  void* p = std::aligned_alloc(256, (bytes / 256 + 1) * 256);
  if (!p) throw std::runtime_error("PinnedBuffer: out of host memory");
  return p;
}
inline void pinned_free(void* p) { std::free(p); }

class Fence {
 public:
  void record(Stream) {}
  void wait_on(Stream) const {}
};

class CopyStream {
 public:
  Stream get() const { return nullptr; }
  void copy_to_device(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
  void synchronize() {}
  void drain() noexcept {}
};

// The emulator's device memory is this host's: no separate figure (0, unknown).
inline size_t device_free_bytes() { return 0; }

#endif

// Owning array of n T in pinned_alloc's memory (uninitialised).
template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t n) : n_(n), p_(static_cast<T*>(pinned_alloc(n * sizeof(T)))) {}
  ~PinnedBuffer() { pinned_free(p_); }
  PinnedBuffer(PinnedBuffer&& o) noexcept : n_(std::exchange(o.n_, 0)), p_(std::exchange(o.p_, nullptr)) {}
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
    std::swap(n_, o.n_);
    std::swap(p_, o.p_);
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  T* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  size_t n_ = 0;
  T* p_ = nullptr;
};

}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
