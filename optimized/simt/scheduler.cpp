// Grid and block scheduling: one fiber per CUDA thread, blocks one at a time per OS thread, the
// block barrier with Volta+ exited-thread semantics, schedule orders, deadlock diagnosis.
#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "block.h"
#include "sanitizers.h"

namespace mm::simt {
namespace {

std::atomic<uint64_t> g_launches{0}, g_blocks{0}, g_threads{0}, g_switches{0};

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

size_t default_stack_bytes() { return san::asan ? 256 * 1024 : 64 * 1024; }

}  // namespace

LaunchOptions& launch_options() {
  static LaunchOptions opts;
  return opts;
}

Stats stats() {
  return {g_launches.load(), g_blocks.load(), g_threads.load(), g_switches.load()};
}

namespace detail {

void outside_kernel(const char* what) {
  std::fprintf(stderr, "simt: %s used outside a kernel launched by mm::simt\n", what);
  std::abort();
}

void fail(const char* fmt, ...) {
  std::fflush(stdout);
  if (ThreadState* t = tls_current)
    std::fprintf(stderr, "simt: block (%u,%u,%u) thread (%u,%u,%u): ", t->block_idx.x, t->block_idx.y,
                 t->block_idx.z, t->thread_idx.x, t->thread_idx.y, t->thread_idx.z);
  else
    std::fprintf(stderr, "simt: ");
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::abort();
}

BlockRun::~BlockRun() {
  for (Slot* s : spare_slots) delete s;
  for (WarpState& w : warps)
    for (Slot* s : w.slots) delete s;
  smem_release(smem);
}

Slot* BlockRun::new_slot() {
  if (spare_slots.empty()) return new Slot;
  Slot* s = spare_slots.back();
  spare_slots.pop_back();
  return s;
}

void BlockRun::free_slot(Slot* s) {
  s->arrived = s->readers = 0;
  s->done = false;
  spare_slots.push_back(s);
}

namespace {

void complete_barrier(BlockRun& b) {
  const unsigned g = b.bar_generation & 1;
  b.bar_count[g] = static_cast<int>(b.bar_true);
  b.bar_size[g] = static_cast<int>(b.bar_arrived);
  for (ThreadRec& t : b.threads)
    if (t.wait == Wait::barrier) b.wake(t);
  b.bar_arrived = b.bar_true = 0;
  ++b.bar_generation;
}

// Runs on the fiber after the kernel body returns.
void thread_exit(ThreadRec& t) {
  BlockRun& b = *t.block;
  san::tsan_release(b.grid_done);
  san::IgnoreScope ig;
  t.open_copies.clear();  // cp.async never waited for: the data never lands (stricter than hardware)
  t.committed.clear();
  t.wait = Wait::exited;
  --b.alive;
  b.warps[t.pub.warp].exited |= 1u << t.pub.lane;
  if (b.bar_arrived > 0 && b.bar_arrived == b.alive) complete_barrier(b);
  try_complete_collectives(b, t.pub.warp);
}

void thread_entry(void* arg) {
  ThreadRec& t = *static_cast<ThreadRec*>(arg);
  san::tsan_acquire(&t.block->sync->start);
  t.block->call.invoke(t.block->call.closure);
  thread_exit(t);
  t.fiber.finish();
}

[[noreturn]] void report_deadlock(BlockRun& b) {
  std::fflush(stdout);
  std::fprintf(stderr,
               "simt: deadlock in block (%u,%u,%u): no thread can make progress (%u of %zu threads "
               "alive)\n",
               b.block_idx.x, b.block_idx.y, b.block_idx.z, b.alive, b.threads.size());
  unsigned at_barrier = 0;
  const ThreadRec* first_bar = nullptr;
  for (const ThreadRec& t : b.threads)
    if (t.wait == Wait::barrier && at_barrier++ == 0) first_bar = &t;
  if (first_bar)
    std::fprintf(stderr, "simt:   %u thread(s) wait at __syncthreads, first thread (%u,%u,%u)\n", at_barrier,
                 first_bar->pub.thread_idx.x, first_bar->pub.thread_idx.y, first_bar->pub.thread_idx.z);
  for (size_t w = 0; w < b.warps.size(); ++w)
    for (const Slot* s : b.warps[w].slots) {
      if (s->done) continue;
      const unsigned missing = s->mask & ~b.warps[w].exited & ~s->arrived;
      const ThreadRec& first = b.threads[w * 32 + static_cast<unsigned>(__builtin_ctz(s->arrived))];
      std::fprintf(stderr,
                   "simt:   warp %zu: lanes 0x%08x wait in %s(mask 0x%08x) for lanes 0x%08x, first thread "
                   "(%u,%u,%u)\n",
                   w, s->arrived, s->name, s->mask, missing, first.pub.thread_idx.x, first.pub.thread_idx.y,
                   first.pub.thread_idx.z);
    }
  std::abort();
}

// Per OS thread: the block being run and the fibers' stacks, reused from block to block.
struct BlockRunner {
  StackPool pool;  // declared first: destroyed after the stacks are returned
  BlockRun b;
  std::vector<Stack> stacks;

  ~BlockRunner() {
    for (Stack s : stacks) pool.release(s);
  }

  void prepare(dim3 grid, dim3 block, KernelCall call, size_t stack_bytes) {
    const unsigned n = block.x * block.y * block.z;
    b.grid = grid;
    b.block = block;
    b.call = call;
    if (b.threads.size() != n) {
      b.threads = std::vector<ThreadRec>(n);
      b.ready.assign(n, 0);
      b.run.assign(n, 0);
      b.order.resize(n);
    }
    for (WarpState& w : b.warps) {
      for (Slot* s : w.slots) b.free_slot(s);
      w.slots.clear();
    }
    b.warps.resize((n + 31) / 32);
    stack_bytes = (stack_bytes + 4095) / 4096 * 4096;
    if (stacks.size() < n || (n && stacks[0].size != stack_bytes)) {
      for (Stack s : stacks) pool.release(s);
      stacks.clear();
      for (unsigned i = 0; i < n; ++i) stacks.push_back(pool.acquire(stack_bytes));
    }
  }

  void run_block(uint3 bid, size_t dyn_smem, const LaunchOptions& opt) {
    const unsigned n = static_cast<unsigned>(b.threads.size());
    b.block_idx = bid;
    b.sync = std::make_unique<SyncObjects>();
    b.sync->warp = std::make_unique<char[]>(2 * b.warps.size());
    b.alive = n;
    b.bar_arrived = b.bar_true = b.bar_generation = 0;
    for (WarpState& w : b.warps) {
      for (Slot* s : w.slots) b.free_slot(s);
      w.slots.clear();
      w.exited = 0;
    }
    if (n % 32) b.warps.back().exited = ~0u << (n % 32);  // lanes past the end never arrive
    smem_begin_block(b, dyn_smem, opt.shared_capacity);
    for (unsigned i = 0; i < n; ++i) {
      ThreadRec& t = b.threads[i];
      t.pub = ThreadState{uint3{i % b.block.x, (i / b.block.x) % b.block.y, i / (b.block.x * b.block.y)},
                          bid, b.block, b.grid, i % 32, i / 32, &t};
      t.block = &b;
      t.index = i;
      t.wait = Wait::none;
      t.slot = nullptr;
      t.syncwarps = 0;
      t.open_copies.clear();
      t.committed.clear();
      if (san::tsan) {  // fresh stacks per block under TSan (see StackPool::release)
        pool.release(stacks[i]);
        stacks[i] = pool.acquire(stacks[i].size);
      }
      t.fiber.start(stacks[i], &thread_entry, &t);
      b.ready[i] = 1;
    }
    san::tsan_release(&b.sync->start);

    uint64_t rng = opt.seed ^ (0x2545f4914f6cdd1dULL * (1 + bid.x + 65536ull * (bid.y + 65536ull * bid.z)));
    for (unsigned done = 0; done < n;) {
      b.run.swap(b.ready);
      std::fill(b.ready.begin(), b.ready.end(), uint8_t{0});
      unsigned ran = 0;
      if (opt.order == Order::random) {
        for (unsigned i = 0; i < n; ++i) b.order[i] = i;
        for (unsigned i = n; i > 1; --i) std::swap(b.order[i - 1], b.order[splitmix(rng) % i]);
      }
      for (unsigned k = 0; k < n; ++k) {
        const unsigned i = opt.order == Order::forward ? k : opt.order == Order::reverse ? n - 1 - k : b.order[k];
        if (!b.run[i]) continue;
        ThreadRec& t = b.threads[i];
        tls_current = &t.pub;
        const bool alive = t.fiber.resume();
        tls_current = nullptr;
        ++ran;
        if (!alive) ++done;
      }
      b.switches += 2ull * ran;
      if (ran == 0) report_deadlock(b);
    }
    for (ThreadRec& t : b.threads) t.fiber.retire();
    b.sync.reset();
  }
};

BlockRunner& runner_for_this_thread() {
  static thread_local BlockRunner r;
  return r;
}

}  // namespace

int block_barrier(BarrierOp op, int predicate) {
  ThreadRec& t = current_rec("__syncthreads");
  BlockRun& b = *t.block;
  unsigned g;
  {
    san::IgnoreScope ig;
    g = b.bar_generation & 1;
  }
  // Release before arriving, acquire after leaving. Two objects alternate by generation so that a
  // thread that already left barrier k and released towards barrier k+1 cannot hand its later
  // writes to a slower thread that is still leaving barrier k (that would hide a missing barrier).
  san::tsan_release(&b.sync->barrier[g]);
  {
    san::IgnoreScope ig;
    t.wait = Wait::barrier;
    ++b.bar_arrived;
    b.bar_true += predicate != 0;
    if (b.bar_arrived == b.alive) complete_barrier(b);
  }
  t.fiber.suspend();  // even the last arriver yields, so the schedule order applies after every barrier
  int count, size;
  {
    san::IgnoreScope ig;
    count = b.bar_count[g];
    size = b.bar_size[g];
  }
  san::tsan_acquire(&b.sync->barrier[g]);
  switch (op) {
    case BarrierOp::sync: return 0;
    case BarrierOp::count: return count;
    case BarrierOp::all: return count == size;
    case BarrierOp::any: return count > 0;
  }
  return 0;
}

void run_grid(dim3 grid, dim3 block, size_t dynamic_smem, KernelCall call) {
  if (tls_current) fail("kernel launch from inside a kernel (dynamic parallelism) is not emulated");
  const uint64_t nthreads = uint64_t{block.x} * block.y * block.z;
  if (nthreads == 0 || nthreads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535)
    fail("invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u)", grid.x, grid.y, grid.z, block.x,
         block.y, block.z);
  const LaunchOptions opt = launch_options();
  const size_t stack_bytes = opt.stack_bytes ? opt.stack_bytes : default_stack_bytes();
  const uint64_t nblocks = uint64_t{grid.x} * grid.y * grid.z;
  auto grid_done = std::make_unique<char>();

  // Block visiting order follows the same policy as thread order (inter-block effects such as
  // atomics' order then vary too).
  std::vector<uint64_t> block_order(nblocks);
  for (uint64_t i = 0; i < nblocks; ++i) block_order[i] = opt.order == Order::reverse ? nblocks - 1 - i : i;
  if (opt.order == Order::random) {
    uint64_t s = opt.seed;
    for (uint64_t i = nblocks; i > 1; --i) std::swap(block_order[i - 1], block_order[splitmix(s) % i]);
  }
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> switches{0};
  auto worker = [&] {
    BlockRunner& r = runner_for_this_thread();
    r.prepare(grid, block, call, stack_bytes);
    r.b.grid_done = grid_done.get();
    r.b.switches = 0;
    for (uint64_t k; (k = next.fetch_add(1)) < nblocks;) {
      const uint64_t id = block_order[k];
      r.run_block(uint3{static_cast<unsigned>(id % grid.x), static_cast<unsigned>(id / grid.x % grid.y),
                        static_cast<unsigned>(id / (uint64_t{grid.x} * grid.y))},
                  dynamic_smem, opt);
    }
    switches += r.b.switches;
    // The kernel is over for this OS thread: order its fibers before whatever this thread does next
    // (a worker frees its BlockRunner when it exits).
    san::tsan_acquire(grid_done.get());
  };
  const unsigned extra = opt.os_threads > 1 ? static_cast<unsigned>(std::min<uint64_t>(opt.os_threads, nblocks)) - 1 : 0;
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < extra; ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& th : pool) th.join();
  san::tsan_acquire(grid_done.get());
  g_launches += 1;
  g_blocks += nblocks;
  g_threads += nblocks * nthreads;
  g_switches += switches.load();
}

}  // namespace detail
}  // namespace mm::simt
