// A Linear's weight matrix W [out, in] (PyTorch layout) as the text model holds it:
//   - resident (WeightResidency::Resident, and every hand-built weight of the tests): the Mat<T> itself,
//     the values converted to the precision's scalar;
//   - held in bf16 (WeightResidency::Bf16, docs/memory.md#weights-held-in-bf16): the Mat<T> empty and the
//     values kept as bf16 bits, 2 bytes a weight, which linear<P> below reads directly: a product of at
//     most kHeldGemvMaxRows rows (a decode step; in a prefill, a prompt that short or an expert that few
//     tokens are routed to) through the bf16 GEMV (gemv_bf16.h), a larger one on fp32 copies of blocks of
//     rows handed to linear.h's GEMM.
// Deriving from Mat<T> keeps every use of a resident weight (element access, products, casts) as it was.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/config.h"
#include "core/dtype.h"
#include "core/error.h"
#include "reference/gemv_bf16.h"
#include "reference/linear.h"
#include "reference/precision.h"

namespace mm::ref {

struct HeldBf16 {
  std::string name;  // the checkpoint tensor (messages)
  int64_t rows = 0, cols = 0;
  std::vector<uint16_t> bits;  // [rows, cols] row-major bf16
};

template <class T> class Weight : public Mat<T> {
 public:
  using Base = Mat<T>;
  Weight() = default;
  Weight(const Base& m) : Base(m) {}
  Weight(Base&& m) : Base(std::move(m)) {}
  template <class E> Weight(const Eigen::MatrixBase<E>& e) : Base(e) {}
  explicit Weight(std::shared_ptr<const HeldBf16> h) : held_(std::move(h)) {}
  Weight& operator=(const Base& m) { Base::operator=(m); held_.reset(); return *this; }
  Weight& operator=(Base&& m) { Base::operator=(std::move(m)); held_.reset(); return *this; }
  template <class E> Weight& operator=(const Eigen::MatrixBase<E>& e) { Base::operator=(e); held_.reset(); return *this; }

  const HeldBf16* held() const { return held_.get(); }
  int64_t out_features() const { return held_ ? held_->rows : static_cast<int64_t>(this->rows()); }
  int64_t in_features() const { return held_ ? held_->cols : static_cast<int64_t>(this->cols()); }
  // Row r as the precision's scalar (an embedding lookup): exact from bf16.
  Vec<T> row_values(int64_t r) const {
    if (!held_) return this->row(r).transpose();
    Vec<T> v(held_->cols);
    const uint16_t* p = held_->bits.data() + r * held_->cols;
    for (int64_t c = 0; c < held_->cols; ++c) v(c) = static_cast<T>(bf16_bits_to_f32(p[c]));
    return v;
  }

 private:
  std::shared_ptr<const HeldBf16> held_;
};

// Products of at most this many rows read the bf16 weight in place (the GEMV); larger ones convert it.
// Each weight row is read from memory once and from L1 for the other rows, so up to a few rows the GEMV
// stays bound by the weight bytes, as a decode step (one row) is.
inline constexpr int64_t kHeldGemvMaxRows = 8;
// The fp32 copy a larger product converts at a time: a block of rows of at most this many bytes, the
// streamed lm_head's block (core/config.h). Every matrix of a model whose lm_head fits one block is then
// converted whole, and its product is the resident GEMM's bit for bit (OpenBLAS partitions by N, so a
// split product agrees to rounding only: tests/reference/model_streamed_test.cpp).
inline constexpr int64_t kHeldBlockBytes = static_cast<int64_t>(kStreamedHeadBlockBytes);

// y = x W^T for a held weight. Up to kHeldGemvMaxRows rows: the GEMV, fp32 accumulation in its own order
// (equal to linear.h's GEMM up to rounding, not bit for bit), then the precision's store. More rows: per
// block of W's rows an fp32 copy (exact: bf16 -> fp32) and linear.h's GEMM on it, so every element is the
// dot product the resident model computes over the same k when W fits one block (bit for bit then), to
// rounding when it is split. The choice is per product: a prefill is the resident model's bit for bit
// when every product in it has more than kHeldGemvMaxRows rows (tests/reference/model_bf16_weights_test.cpp:
// tiny, 300 tokens, 4 experts), not when a short prompt or a rarely chosen expert takes the GEMV.
template <class P>
Mat<typename P::T> linear_held(const Mat<typename P::T>& x, const HeldBf16& w) {
  using T = typename P::T;
  if constexpr (!std::is_same_v<T, float>) {
    throw Error(w.name + ": weights held in bf16 are for the fp32 and bf16 precisions, not " + P::kName);
  } else {
    if (x.cols() != w.cols)  // the message built only then: this runs for every product of a decode step
      throw Error(w.name + ": input has " + std::to_string(x.cols()) + " columns, the weight [" + std::to_string(w.rows) +
                  ", " + std::to_string(w.cols) + "] expects " + std::to_string(w.cols));
    Mat<T> y(x.rows(), w.rows);
    if (x.rows() <= kHeldGemvMaxRows) {
      gemv_bf16(x.data(), x.rows(), w.cols, w.bits.data(), w.rows, y.data());
      store<P>(y);
      return y;
    }
    const int64_t per = std::max<int64_t>(1, kHeldBlockBytes / static_cast<int64_t>(sizeof(T)) / std::max<int64_t>(1, w.cols));
    Mat<T> block;
    for (int64_t r0 = 0; r0 < w.rows; r0 += per) {
      const int64_t k = std::min(per, w.rows - r0);
      block.resize(k, w.cols);
      bf16_to_f32(w.bits.data() + r0 * w.cols, k * w.cols, block.data());
      y.middleCols(r0, k) = linear<P>(x, block);
    }
    return y;
  }
}

// linear.h's y = x W^T, for a weight that may be held in bf16. A held weight whose matrix part was
// written in place (resize, element writes: nothing does) would be ignored here: refused instead.
template <class P>
Mat<typename P::T> linear(const Mat<typename P::T>& x, const Weight<typename P::T>& w) {
  if (const HeldBf16* h = w.held()) {
    if (w.size() != 0) throw Error(h->name + ": a weight held in bf16 was also written as a matrix");
    return linear_held<P>(x, *h);
  }
  return linear<P>(x, static_cast<const Mat<typename P::T>&>(w));
}

}  // namespace mm::ref
