// Decoder-layer weights streamed from pinned host memory to the device with double buffering
// (cuda_model.h ModelOptions::stream_weights; docs/memory.md "The kernels"), written once for
// both builds like cuda_model.cuh.
//
// What streams: each layer's large matrices (lightning qkv / gate / out or softmax q / k / v / o, and the
// experts' w1 / w3 / w2), packed per layer into one pinned host block. What stays on the device: the
// embedding, the lm_head, the norms, the routers, the decay rates, the caches. The device holds two
// slots, each the size of the largest layer's block.
//
// Order (one compute stream, the legacy default the kernels run on; one copy stream of our own):
//   acquire(l): if layer l is not in a slot (the first layer of the first step), copy it into the slot
//               the previous layer did not use; then start copying layer l+1 (wrapping to layer 0, the
//               next step's first) into the other slot once the compute stream has released it (fence
//               `done`, recorded by release() after the last kernel that read the previous layer); the
//               compute stream then waits for layer l's copy (fence `ready`).
//   release(l): records `done` for layer l's slot on the compute stream.
// So the copy of layer l+1 overlaps the compute of layer l, and a slot is never overwritten while a
// kernel can still read it. With at most two layers both stay in their slots after the first copy.
// The host never waits; only the device streams do. In the host build (cuda-sim) copies and launches are
// synchronous and the fences no-ops: there the same bookkeeping runs, which tests check bit for bit
// against the resident model (tests/optimized/model_test.cpp).
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdexcept>
#include <string>
#include <vector>

#include "optimized/common/copy_stream.h"
#include "optimized/common/device_memory.h"
#include "optimized/model/cuda_model.h"

namespace mm::cuda_model {
inline namespace MM_BACKEND_NS {
namespace detail {

// A decoder layer's large matrices as the kernels read them (device pointers, bf16 bits, PyTorch
// Linear layout [out, in]): lightning qkv [3 inner, H], gate [inner, H], out [H, inner]; softmax
// q [inner, H], k, v [kv, H], o [H, inner]; the experts w1, w3 [E, I, H], w2 [E, H, I]. Null where the
// layer's type has none.
struct LayerMatrices {
  const uint16_t *qkv = nullptr, *gate = nullptr, *out = nullptr;
  const uint16_t *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  const uint16_t *w1 = nullptr, *w3 = nullptr, *w2 = nullptr;
};

// The streamed matrices in block order, and where LayerHostWeights and LayerMatrices keep each.
enum MatrixId { kQkv, kGate, kOut, kQ, kK, kV, kO, kW1, kW3, kW2, kMatrixCount };
template <class Host>  // LayerHostWeights or const LayerHostWeights
auto& host_matrix(Host& h, int id) {
  decltype(&h.qkv) const m[kMatrixCount] = {&h.qkv, &h.gate, &h.out, &h.q, &h.k, &h.v, &h.o, &h.w1, &h.w3, &h.w2};
  return *m[id];
}
inline const uint16_t*& matrix_pointer(LayerMatrices& lm, int id) {
  const uint16_t** const m[kMatrixCount] = {&lm.qkv, &lm.gate, &lm.out, &lm.q, &lm.k, &lm.v, &lm.o, &lm.w1, &lm.w3, &lm.w2};
  return *m[id];
}

// Where each matrix starts in a layer's packed block, in elements. Every start is a multiple of 128
// elements (256 bytes): the alignment a tensor of its own would have from cudaMalloc, which the
// kernels' vector loads assume. len 0: the layer has no such matrix.
struct PackedLayout {
  std::array<size_t, kMatrixCount> offset{}, len{};
  size_t total = 0;  // elements in the block
};

inline PackedLayout packed_layout(const LayerHostWeights& h) {
  PackedLayout p;
  for (int id = 0; id < kMatrixCount; ++id) {
    const size_t n = host_matrix(h, id).size();
    p.offset[static_cast<size_t>(id)] = p.total;
    p.len[static_cast<size_t>(id)] = n;
    p.total += (n + 127) / 128 * 128;
  }
  return p;
}

// The matrices of a block at `base` (device) with layout `p`.
inline LayerMatrices matrices_at(const uint16_t* base, const PackedLayout& p) {
  LayerMatrices m;
  for (int id = 0; id < kMatrixCount; ++id)
    if (p.len[static_cast<size_t>(id)]) matrix_pointer(m, id) = base + p.offset[static_cast<size_t>(id)];
  return m;
}

class LayerStream {
 public:
  // Packs every layer's large matrices into its pinned host block, freeing each host vector once packed
  // (so the host holds these weights once, not twice).
  explicit LayerStream(std::vector<LayerHostWeights>& layers) {
    size_t largest = 0;
    for (LayerHostWeights& h : layers) {
      const PackedLayout p = packed_layout(h);
      mm::gpu::PinnedBuffer<uint16_t> block(p.total);
      for (int id = 0; id < kMatrixCount; ++id) {
        std::vector<uint16_t>& m = host_matrix(h, id);
        const size_t at = p.offset[static_cast<size_t>(id)];
        const size_t end = id + 1 < kMatrixCount ? p.offset[static_cast<size_t>(id) + 1] : p.total;
        if (!m.empty()) std::memcpy(block.data() + at, m.data(), m.size() * sizeof(uint16_t));
        // the padding up to the next matrix: NaN bits (no kernel reads it; one that over-reads shows it)
        std::memset(block.data() + at + m.size(), 0xFF, (end - at - m.size()) * sizeof(uint16_t));
        std::vector<uint16_t>().swap(m);
      }
      largest = std::max(largest, p.total);
      layouts_.push_back(p);
      host_.push_back(std::move(block));
    }
    if (layouts_.empty()) throw std::invalid_argument("LayerStream: no layers to stream");
#if defined(__GLIBC__)
    // The freed host vectors were below glibc's grown mmap threshold (up to 32 MiB) and stay in its heap
    // beside the pinned blocks; hand their pages back (measured on `small`: 64 MiB of the peak).
    malloc_trim(0);
#endif
    for (int s = 0; s < slot_count(); ++s)
      slots_[static_cast<size_t>(s)].buf = mm::gpu::DeviceBuffer<uint16_t>(std::max<size_t>(largest, 1));
  }

  // A prefetch may still be in flight (the next step's first layer): it must land before its pinned
  // source and device slot are freed.
  ~LayerStream() { copy_.drain(); }
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // Layer l's matrices in its slot, for work issued to the compute stream until release(l).
  LayerMatrices acquire(int l) {
    check_layer(l);
    if (held_ >= 0) slots_[static_cast<size_t>(held_)].done.record(nullptr);  // a step that threw mid-layer
    int s = slot_of(l);
    if (s < 0) {
      s = 1 - last_;
      fetch(l, s);
    }
    const int next = (l + 1) % layers();
    if (slot_of(next) < 0) fetch(next, 1 - s);
    slots_[static_cast<size_t>(s)].ready.wait_on(nullptr);
    last_ = s;
    held_ = s;
    return matrices_at(slots_[static_cast<size_t>(s)].buf.data(), layouts_[static_cast<size_t>(l)]);
  }

  // The compute stream has issued every kernel that reads layer l's matrices.
  void release(int l) {
    check_layer(l);
    const int s = slot_of(l);
    if (s < 0 || s != held_) throw std::logic_error("LayerStream: release of a layer that is not held");
    slots_[static_cast<size_t>(s)].done.record(nullptr);
    held_ = -1;
  }

  int layers() const { return static_cast<int>(layouts_.size()); }
  size_t slot_bytes() const { return slots_[0].buf.size() * sizeof(uint16_t); }
  int slot_count() const { return layers() > 1 ? 2 : 1; }  // a single layer never leaves its one slot
  uint64_t copies() const { return copies_; }  // layer copies issued so far

 private:
  struct Slot {
    int layer = -1;  // the layer copied (or being copied) into it
    mm::gpu::DeviceBuffer<uint16_t> buf;
    mm::gpu::Fence ready, done;
  };

  void check_layer(int l) const {
    if (l < 0 || l >= layers())
      throw std::out_of_range("LayerStream: layer " + std::to_string(l) + " of " + std::to_string(layers()));
  }
  int slot_of(int l) const {
    for (int s = 0; s < 2; ++s)
      if (slots_[static_cast<size_t>(s)].layer == l) return s;
    return -1;
  }
  // Copies layer l into slot s on the copy stream, after the compute stream released the slot.
  void fetch(int l, int s) {
    Slot& slot = slots_[static_cast<size_t>(s)];
    slot.layer = -1;  // until the copy and its fence are issued: a failure leaves the slot unclaimed
    copy_.wait(slot.done);
    const PackedLayout& p = layouts_[static_cast<size_t>(l)];
    copy_.copy_to_device(slot.buf.data(), host_[static_cast<size_t>(l)].data(), p.total * sizeof(uint16_t));
#if MM_SIMT
    // a smaller layer leaves the previous one's tail in the slot: NaN bits there, so an over-read shows
    if (slot.buf.size() > p.total)
      mm::gpu::device_memset(slot.buf.data() + p.total, 0xFF, (slot.buf.size() - p.total) * sizeof(uint16_t));
#endif
    copy_.record(slot.ready);
    slot.layer = l;
    ++copies_;
  }

  std::vector<PackedLayout> layouts_;
  std::vector<mm::gpu::PinnedBuffer<uint16_t>> host_;  // [L] packed blocks
  std::array<Slot, 2> slots_;
  mm::gpu::CopyStream copy_;
  int last_ = 1;   // the slot the last acquired layer used (1: the first copy goes to slot 0)
  int held_ = -1;  // the slot acquired and not yet released
  uint64_t copies_ = 0;
};

}  // namespace detail
}  // namespace MM_BACKEND_NS
}  // namespace mm::cuda_model
