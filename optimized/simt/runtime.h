// Public face of the SIMT-on-CPU runtime: launch options, statistics, the per-fiber thread state that
// threadIdx & co. read, and the entry points the device-side wrappers (warp.h, ptx.cuh, ...) call.
// Kernel code never calls these directly; it uses CUDA spellings (see simt.h).
#pragma once
#include <vector_types.h>  // dim3, uint3 from the CUDA toolkit (host-usable)

#include <cstddef>
#include <cstdint>

namespace mm::simt {

// Order in which runnable threads are resumed after every barrier or collective. A race-free kernel
// gives the same bits under every order; tests run several.
enum class Order : uint8_t { forward, reverse, random };

struct LaunchOptions {
  Order order = Order::forward;
  uint64_t seed = 1;            // for Order::random (mixed with the block index)
  unsigned os_threads = 1;      // >1: blocks run concurrently on this many OS threads
  size_t stack_bytes = 0;       // per CUDA thread; 0 = default (64 KiB, 256 KiB under ASan)
  size_t shared_capacity = 227 * 1024;  // static + dynamic shared memory per block (H100 limit)
};

// The options the next launches on this process use (set from the host thread between launches).
LaunchOptions& launch_options();

// Sets launch options for a scope, restoring the previous ones at the end.
class ScopedLaunchOptions {
 public:
  explicit ScopedLaunchOptions(const LaunchOptions& o) : saved_(launch_options()) { launch_options() = o; }
  ~ScopedLaunchOptions() { launch_options() = saved_; }
  ScopedLaunchOptions(const ScopedLaunchOptions&) = delete;
  ScopedLaunchOptions& operator=(const ScopedLaunchOptions&) = delete;

 private:
  LaunchOptions saved_;
};

// Cumulative counters over all launches (for docs/simt.md speed figures and tests).
struct Stats {
  uint64_t launches = 0, blocks = 0, threads = 0, switches = 0;
};
Stats stats();

namespace detail {

struct ThreadRec;  // runtime-private per-thread record

// What the CUDA built-ins of the running emulated thread resolve to.
struct ThreadState {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  unsigned lane;
  unsigned warp;
  ThreadRec* rec;
};

// The running emulated thread of this OS thread, or nullptr outside a kernel. Fibers never migrate
// between OS threads, so a thread_local is safe here (compilers may cache TLS addresses).
inline thread_local ThreadState* tls_current = nullptr;

[[noreturn]] void outside_kernel(const char* what);
inline ThreadState& self(const char* what = "a CUDA built-in") {
  ThreadState* t = tls_current;
  if (!t) outside_kernel(what);
  return *t;
}

// Prints "simt: block (..) thread (..): <message>" and aborts.
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- type-erased launch ---------------------------------------------------------------------
struct KernelCall {
  void (*invoke)(const void* closure);
  const void* closure;
};
void run_grid(dim3 grid, dim3 block, size_t dynamic_smem, KernelCall call);

// ---- block-wide barrier (__syncthreads and its _count/_and/_or forms) -------------------------
enum class BarrierOp : uint8_t { sync, count, all, any };
int block_barrier(BarrierOp op, int predicate);

// ---- warp collectives -----------------------------------------------------------------------
// Every lane deposits up to kPayload bytes; when all non-exited lanes named in the mask have
// arrived, `op` runs once over the deposits and fills each lane's result.
inline constexpr unsigned kPayload = 64;
struct CollectiveData {
  unsigned mask;     // the mask the lanes agreed on
  unsigned present;  // lanes that arrived (mask minus exited lanes)
  alignas(16) unsigned char in[32][kPayload];
  alignas(16) unsigned char out[32][kPayload];
};
using CollectiveOp = void (*)(CollectiveData&);
void warp_collective(unsigned mask, const char* name, CollectiveOp op, const void* in, unsigned in_bytes,
                     void* out, unsigned out_bytes);
// Lanes of the current warp that have not exited (the emulator's __activemask()).
unsigned live_lanes();
// __syncwarp: a data-less collective that also orders memory among its lanes (for TSan).
void warp_sync(unsigned mask);

// ---- shared memory --------------------------------------------------------------------------
// Address of the block's copy of the static shared variable identified by `key`.
void* shared_static(const void* key, size_t bytes, size_t align);
void* shared_dynamic();
size_t shared_dynamic_bytes();
bool is_shared(const void* p, size_t bytes);

// ---- cp.async (deferred until the wait that covers it) ---------------------------------------
void cp_async(void* dst_shared, const void* src_global, unsigned bytes, unsigned src_bytes);
void cp_async_commit();
void cp_async_wait(unsigned newest_pending_allowed);

}  // namespace detail
}  // namespace mm::simt
