// Device memory for both builds. nvcc: cudaMalloc/cudaMemcpy. Host build: aligned host memory,
// filled with 0xFF at allocation (NaN as float/bf16) so that reading memory nobody wrote shows up.
// device_allocations() counts device_malloc calls (per build), so that a test can assert that a hot
// path (e.g. a model's decode step) does not allocate; device_allocated_bytes() sums what they asked
// for, so that a test can bound what a path holds.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "optimized/common/launch.h"

namespace mm::gpu {
inline namespace MM_BACKEND_NS {

namespace detail {
// One counter per build (inline namespace) and program (inline variable); relaxed: only a tally.
inline std::atomic<uint64_t> device_allocation_count{0};
inline std::atomic<uint64_t> device_allocated_byte_count{0};
inline void count_allocation(size_t bytes) {
  device_allocation_count.fetch_add(1, std::memory_order_relaxed);
  device_allocated_byte_count.fetch_add(bytes, std::memory_order_relaxed);
}
}  // namespace detail
// Number of device_malloc calls so far in this build (allocations, not bytes; frees not subtracted).
inline uint64_t device_allocations() { return detail::device_allocation_count.load(std::memory_order_relaxed); }
// Bytes requested by those calls so far (before the allocator's rounding; frees not subtracted).
inline uint64_t device_allocated_bytes() { return detail::device_allocated_byte_count.load(std::memory_order_relaxed); }

#if defined(__CUDACC__)

inline bool device_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}
inline void* device_malloc(size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc");
  detail::count_allocation(bytes);
  return p;
}
inline void device_free(void* p) { cudaFree(p); }
inline void copy_to_device(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
}
inline void copy_to_host(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}
// Ordered on the default stream like a kernel; no host round trip.
inline void copy_device_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy D2D");
}
inline void device_memset(void* p, int value, size_t bytes) { check(cudaMemset(p, value, bytes), "cudaMemset"); }
inline void synchronize(Stream s = nullptr) { check(cudaStreamSynchronize(s), "cudaStreamSynchronize"); }

#else

inline bool device_available() { return true; }  // the emulator is always there
inline void* device_malloc(size_t bytes) {
  const size_t rounded = (bytes / 256 + 1) * 256;  // cudaMalloc aligns to at least 256 bytes
  void* p = std::aligned_alloc(256, rounded);
  if (!p) throw std::runtime_error("device_malloc: out of host memory");
  std::memset(p, 0xFF, rounded);
  detail::count_allocation(bytes);
  return p;
}
inline void device_free(void* p) { std::free(p); }
inline void copy_to_device(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
inline void copy_to_host(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
inline void copy_device_to_device(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
inline void device_memset(void* p, int value, size_t bytes) { std::memset(p, value, bytes); }
inline void synchronize(Stream = nullptr) {}  // launches are synchronous

#endif

// Owning device array of T.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n), p_(static_cast<T*>(device_malloc(n * sizeof(T)))) {}
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { if (p_) device_free(p_); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : n_(o.n_), p_(o.p_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(n_, o.n_);
    std::swap(p_, o.p_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    if (host.size() != n_) throw std::runtime_error("DeviceBuffer::upload: size mismatch");
    copy_to_device(p_, host.data(), n_ * sizeof(T));
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    copy_to_host(host.data(), p_, n_ * sizeof(T));
    return host;
  }

 private:
  size_t n_ = 0;
  T* p_ = nullptr;
};

// An output buffer of n elements with every bit set (NaN for f32/bf16, -1 for int), so that a test sees
// any element a kernel never wrote.
template <class T>
DeviceBuffer<T> poisoned(size_t n) {
  DeviceBuffer<T> b(n);
  device_memset(b.data(), 0xFF, n * sizeof(T));
  return b;
}

// The runners' host-size check: std::invalid_argument "<stem>: <what> has N elements, expected M".
inline void require_size(size_t got, size_t want, const char* stem, const char* what) {
  if (got != want)
    throw std::invalid_argument(std::string(stem) + ": " + what + " has " + std::to_string(got) + " elements, expected " +
                                std::to_string(want));
}

}  // namespace MM_BACKEND_NS
}  // namespace mm::gpu
