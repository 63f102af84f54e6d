// Runtime-private state of the block an OS thread is running. Only the runtime's .cpp files include
// this; kernels see runtime.h.
#pragma once
#include <memory>
#include <vector>

#include "fiber.h"
#include "runtime.h"

namespace mm::simt::detail {

struct BlockRun;

enum class Wait : uint8_t { none, barrier, warp, exited };

// One pending warp collective, keyed by (warp, mask).
struct Slot {
  unsigned mask = 0;
  unsigned arrived = 0;
  unsigned readers = 0;  // lanes still to copy their result out after completion
  bool done = false;
  CollectiveOp op = nullptr;
  const char* name = nullptr;
  CollectiveData data;
};

struct WarpState {
  unsigned exited = 0;  // exited lanes, plus lanes past the end of a partial warp
  std::vector<Slot*> slots;
};

struct AsyncCopy {
  void* dst;
  const void* src;
  unsigned bytes, src_bytes;
};

struct ThreadRec {
  ThreadState pub{};
  BlockRun* block = nullptr;
  unsigned index = 0;  // linear thread index in the block
  Fiber fiber;
  Wait wait = Wait::none;
  Slot* slot = nullptr;  // the collective this thread waits in
  unsigned syncwarps = 0;  // __syncwarp calls so far (parity picks the TSan sync object)
  std::vector<AsyncCopy> open_copies;                  // issued, not yet committed
  std::vector<std::vector<AsyncCopy>> committed;       // oldest first
};

struct SharedArena {
  unsigned char* base = nullptr;
  size_t capacity = 0;
  size_t dynamic_bytes = 0;
  size_t top = 0;         // end of the last static allocation
  size_t high_water = 0;  // bytes poisoned at the next block start
  std::vector<std::pair<const void*, void*>> statics;  // key -> address, this block
};

// TSan sync objects, heap-allocated per block so that no happens-before leaks between blocks.
struct SyncObjects {
  char start;        // released by the scheduler after block setup, acquired by each thread
  char barrier[2];   // alternate by barrier generation (see block_barrier)
  std::unique_ptr<char[]> warp;  // 2 per warp
};

struct BlockRun {
  dim3 grid, block;
  uint3 block_idx{};
  KernelCall call{};
  char* grid_done = nullptr;  // TSan: each exiting thread releases, the host acquires after the launch
  std::vector<ThreadRec> threads;
  std::vector<WarpState> warps;
  std::vector<uint8_t> ready, run;
  std::vector<unsigned> order;
  unsigned alive = 0;
  unsigned bar_arrived = 0, bar_true = 0, bar_generation = 0;
  int bar_count[2] = {0, 0}, bar_size[2] = {0, 0};
  SharedArena smem;
  std::unique_ptr<SyncObjects> sync;
  std::vector<Slot*> spare_slots;
  uint64_t switches = 0;

  ~BlockRun();
  Slot* new_slot();
  void free_slot(Slot* s);
  void wake(ThreadRec& t) {
    t.wait = Wait::none;
    ready[t.index] = 1;
  }
};

inline ThreadRec& current_rec(const char* what) { return *self(what).rec; }

// Called when a lane exits or arrives: completes the warp's collectives whose lanes are all in.
void try_complete_collectives(BlockRun& b, unsigned warp);
// Shared arena hooks used by the scheduler.
void smem_begin_block(BlockRun& b, size_t dynamic_bytes, size_t capacity);
void smem_release(SharedArena& a);

}  // namespace mm::simt::detail
