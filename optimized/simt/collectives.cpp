// Warp collectives with Volta+ semantics: each collective is keyed by (warp, mask) and completes when
// every non-exited lane named in the mask has arrived; never a block-wide barrier (HIP-CPU's bug).
#include <cstring>

#include "block.h"
#include "sanitizers.h"

namespace mm::simt::detail {

void try_complete_collectives(BlockRun& b, unsigned warp) {
  WarpState& w = b.warps[warp];
  for (Slot* s : w.slots) {
    if (s->done || s->arrived == 0) continue;
    const unsigned needed = s->mask & ~w.exited;
    if ((s->arrived & needed) != needed) continue;
    s->data.mask = s->mask;
    s->data.present = s->arrived;
    s->op(s->data);
    s->done = true;
    s->readers = static_cast<unsigned>(__builtin_popcount(s->arrived));
    for (unsigned l = 0; l < 32; ++l)
      if (s->arrived >> l & 1) b.wake(b.threads[warp * 32 + l]);
  }
}

void warp_collective(unsigned mask, const char* name, CollectiveOp op, const void* in, unsigned in_bytes,
                     void* out, unsigned out_bytes) {
  ThreadRec& t = current_rec(name);
  BlockRun& b = *t.block;
  const unsigned lane = t.pub.lane, bit = 1u << lane;
  Slot* slot = nullptr;
  {
    san::IgnoreScope ig;  // emulator bookkeeping: lanes are deliberately unordered for TSan
    if (!(mask & bit)) fail("%s with mask 0x%08x that does not name the calling lane %u", name, mask, lane);
    if (in_bytes > kPayload || out_bytes > kPayload) fail("%s: payload too large", name);
    WarpState& w = b.warps[t.pub.warp];
    for (Slot* s : w.slots)
      if (!s->done && s->mask == mask) slot = s;
    if (!slot) {
      slot = b.new_slot();
      slot->mask = mask;
      slot->op = op;
      slot->name = name;
      w.slots.push_back(slot);
    } else if (slot->op != op && std::strcmp(slot->name, name) != 0) {
      fail("lanes of warp %u disagree: lane %u calls %s(mask 0x%08x) while lanes 0x%08x wait in %s", t.pub.warp,
           lane, name, mask, slot->arrived, slot->name);
    }
    if (in_bytes) std::memcpy(slot->data.in[lane], in, in_bytes);
    slot->arrived |= bit;
    t.wait = Wait::warp;
    t.slot = slot;
    try_complete_collectives(b, t.pub.warp);
  }
  t.fiber.suspend();
  {
    san::IgnoreScope ig;
    if (out_bytes) std::memcpy(out, slot->data.out[lane], out_bytes);
    t.slot = nullptr;
    if (--slot->readers == 0) {
      auto& v = b.warps[t.pub.warp].slots;
      for (size_t i = 0; i < v.size(); ++i)
        if (v[i] == slot) {
          v[i] = v.back();
          v.pop_back();
          break;
        }
      b.free_slot(slot);
    }
  }
}

namespace {
void nop_op(CollectiveData&) {}
}  // namespace

void warp_sync(unsigned mask) {
  ThreadRec& t = current_rec("__syncwarp");
  char* obj;
  {
    san::IgnoreScope ig;
    obj = &t.block->sync->warp[2 * t.pub.warp + (t.syncwarps++ & 1)];
  }
  san::tsan_release(obj);
  warp_collective(mask, "__syncwarp", &nop_op, nullptr, 0, nullptr, 0);
  san::tsan_acquire(obj);
}

unsigned live_lanes() {
  ThreadRec& t = current_rec("__activemask");
  san::IgnoreScope ig;
  return ~t.block->warps[t.pub.warp].exited;
}

}  // namespace mm::simt::detail
