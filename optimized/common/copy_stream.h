// Asynchronous host-to-device copies beside the compute, for both builds (the model's weight streaming,
// optimized/model/layer_stream.cuh):
//   PinnedBuffer<T>  page-locked host memory (cudaHostAlloc), which a copy can read while kernels run;
//                    plain aligned host memory in the host build.
//   CopyStream       a stream of its own (non-blocking: it never waits for the legacy default stream the
//                    kernels run on), carrying cudaMemcpyAsync H2D.
//   Fence            an event without timing: recorded on one stream, waited for by another on the device
//                    (cudaStreamWaitEvent), never by the host. The compute stream records and waits with
//                    Fence::record / wait_on; the copy stream with CopyStream::record / wait.
// In the host build launches are synchronous, so a point recorded on the compute stream is reached when
// it is recorded. Copies are not run when issued but when a fence recorded after them is waited on (or
// the stream is synchronised): a reader that forgot to wait for its copy reads the old contents, as it
// could on a GPU, and the tests comparing against resident weights see it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
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
  void record(Fence& f) { f.record(s_); }             // a point after the copies issued so far
  void wait(const Fence& f) { f.wait_on(s_); }        // later copies start after f's point
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

class CopyStream;

class Fence {
 public:
  void record(Stream) { stream_ = nullptr; }  // a compute-stream point: reached when recorded
  inline void wait_on(Stream) const;          // runs the copies issued before a copy-stream point

 private:
  friend class CopyStream;
  CopyStream* stream_ = nullptr;  // the copy stream the point is on (null: the compute stream)
  uint64_t upto_ = 0;             // copies issued on it before the point
};

class CopyStream {
 public:
  Stream get() const { return nullptr; }
  void copy_to_device(void* dst, const void* src, size_t bytes) {
    pending_.push_back({dst, src, bytes});
    ++issued_;
  }
  void record(Fence& f) {
    f.stream_ = this;
    f.upto_ = issued_;
  }
  void wait(const Fence&) {}  // compute-stream points are reached when recorded
  // Runs the copies issued before the n-th, in order.
  void run_until(uint64_t n) noexcept {
    for (; ran_ < n && ran_ < issued_; ++ran_) {
      const Copy c = pending_.front();
      pending_.pop_front();
      if (c.bytes) std::memcpy(c.dst, c.src, c.bytes);
    }
  }
  void synchronize() { run_until(issued_); }
  void drain() noexcept { run_until(issued_); }

 private:
  struct Copy {
    void* dst;
    const void* src;
    size_t bytes;
  };
  std::deque<Copy> pending_;
  uint64_t issued_ = 0, ran_ = 0;
};

inline void Fence::wait_on(Stream) const {
  if (stream_) stream_->run_until(upto_);
}

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
