// Per-block shared memory arena. Dynamic shared memory sits at offset 0, static __shared__ variables
// (MM_SHARED) are placed after it on first use in the block. The used part is filled with 0xFF at
// every block start: as float/bf16/half that is a NaN, as an integer -1, so a read before any write
// shows up in results instead of silently reading zero or the previous block's data.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "block.h"
#include "sanitizers.h"

namespace mm::simt::detail {
namespace {

constexpr unsigned char kPoison = 0xFF;
// Under ASan, a poisoned gap after each allocation turns an overrun into a report.
constexpr size_t kRedzone = san::asan ? 32 : 0;

size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

}  // namespace

void smem_release(SharedArena& a) {
  if (a.base) munmap(a.base, align_up(a.capacity, 4096));
  a.base = nullptr;
}

void smem_begin_block(BlockRun& b, size_t dynamic_bytes, size_t capacity) {
  SharedArena& a = b.smem;
  if (dynamic_bytes > capacity)
    fail("dynamic shared memory of %zu bytes exceeds the %zu-byte limit", dynamic_bytes, capacity);
  // Under TSan every block gets a fresh mapping: that resets TSan's shadow, so this block's threads
  // do not appear to race with the previous block's on the same bytes (blocks are distinct memory).
  if (a.capacity != capacity + kRedzone || san::tsan) {
    smem_release(a);
    a.capacity = capacity + kRedzone;
    void* p = mmap(nullptr, align_up(a.capacity, 4096), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail("cannot map %zu bytes of shared memory", a.capacity);
    a.base = static_cast<unsigned char*>(p);
    a.high_water = a.capacity;
  }
  san::asan_unpoison(a.base, a.capacity);
  std::memset(a.base, kPoison, a.high_water);
  san::asan_poison(a.base + dynamic_bytes, a.capacity - dynamic_bytes);
  a.dynamic_bytes = dynamic_bytes;
  a.top = dynamic_bytes;
  a.high_water = dynamic_bytes;
  a.statics.clear();
}

void* shared_static(const void* key, size_t bytes, size_t align) {
  ThreadRec& t = current_rec("MM_SHARED");
  SharedArena& a = t.block->smem;
  san::IgnoreScope ig;
  for (const auto& [k, p] : a.statics)
    if (k == key) return p;
  const size_t off = align_up(a.top + kRedzone, align < 16 ? 16 : align);
  if (off + bytes > a.capacity - kRedzone)
    fail("shared memory use (%zu bytes dynamic + static up to %zu) exceeds the %zu-byte limit", a.dynamic_bytes,
         off + bytes, a.capacity - kRedzone);
  a.top = off + bytes;
  if (a.top > a.high_water) a.high_water = a.top;
  san::asan_unpoison(a.base + off, bytes);
  a.statics.emplace_back(key, a.base + off);
  return a.base + off;
}

void* shared_dynamic() { return current_rec("extern __shared__").block->smem.base; }

size_t shared_dynamic_bytes() { return current_rec("extern __shared__").block->smem.dynamic_bytes; }

bool is_shared(const void* p, size_t bytes) {
  const SharedArena& a = current_rec("shared-memory check").block->smem;
  const unsigned char* c = static_cast<const unsigned char*>(p);
  return c >= a.base && c + bytes <= a.base + a.capacity;
}

}  // namespace mm::simt::detail
