// cp.async with deferred execution: the copy is recorded at issue time and performed only by the
// cp.async.wait_group that covers it, on the waiting thread. At issue the destination is filled with
// poison, so a kernel that reads the buffer without the right wait (or before the barrier that
// publishes it) reads NaN/-1 deterministically instead of stale data.
#include <cstring>

#include "block.h"
#include "sanitizers.h"

namespace mm::simt::detail {

void cp_async(void* dst, const void* src, unsigned bytes, unsigned src_bytes) {
  ThreadRec& t = current_rec("cp.async");
  if (bytes != 4 && bytes != 8 && bytes != 16) fail("cp.async of %u bytes (4, 8 or 16 only)", bytes);
  if (src_bytes > bytes) fail("cp.async src-size %u exceeds cp-size %u", src_bytes, bytes);
  if (reinterpret_cast<uintptr_t>(dst) % bytes || reinterpret_cast<uintptr_t>(src) % bytes)
    fail("cp.async of %u bytes with misaligned address (dst %p, src %p)", bytes, dst, src);
  if (!is_shared(dst, bytes)) fail("cp.async destination %p is not in shared memory", dst);
  if (is_shared(src, 1)) fail("cp.async source %p is in shared memory (must be global)", src);
  std::memset(dst, 0xFF, bytes);  // the kernel's own view: undefined until the wait
  san::IgnoreScope ig;
  t.open_copies.push_back(AsyncCopy{dst, src, bytes, src_bytes});
}

void cp_async_commit() {
  ThreadRec& t = current_rec("cp.async.commit_group");
  san::IgnoreScope ig;
  t.committed.push_back(std::move(t.open_copies));  // an empty group is legal and completes at once
  t.open_copies.clear();
}

void cp_async_wait(unsigned newest_pending_allowed) {
  ThreadRec& t = current_rec("cp.async.wait_group");
  while (true) {
    std::vector<AsyncCopy> group;
    {
      san::IgnoreScope ig;
      if (t.committed.size() <= newest_pending_allowed) return;
      group = std::move(t.committed.front());
      t.committed.erase(t.committed.begin());
    }
    for (const AsyncCopy& c : group) {  // visible to TSan as this thread's writes
      std::memcpy(c.dst, c.src, c.src_bytes);
      std::memset(static_cast<char*>(c.dst) + c.src_bytes, 0, c.bytes - c.src_bytes);  // zero-fill
    }
  }
}

}  // namespace mm::simt::detail
