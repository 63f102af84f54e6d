// Partial NeoX-style RoPE on the first rotary_dim dims of each head (docs/semantics/text-01-model.md#rope).
// For i < rd/2, the pair (x_i, x_{i+rd/2}) is rotated by angle pos * inv_freq_i:
//   x_i'        = x_i * cos - x_{i+rd/2} * sin
//   x_{i+rd/2}' = x_{i+rd/2} * cos + x_i * sin
// dims rd..d_h-1 pass through unchanged.
// Table convention (shared with the golden generator): inv_freq_i = fl32(1 / theta^(2i/rd)) (exact
// value rounded once), angle = fl32(fl32(pos) * inv_freq_i) (one fp32 multiply, as the official fp32
// cache), cos/sin of that angle evaluated in double and, for the fp32/bf16 modes, rounded to fp32.
#pragma once
#include <cstdint>

#include "reference/precision.h"

namespace mm::ref {

double rope_inv_freq(int i, int rotary_dim, double theta);  // fp32-valued
double rope_angle(int64_t pos, int i, int rotary_dim, double theta);  // fp32-valued

// Rotates every head of x [S, heads * d_h] in place; row t has position pos0 + t.
// BF16 mode: fp32 rotation of bf16 inputs, result stored as bf16.
template <class P>
void apply_rope(Mat<typename P::T>& x, int heads, int head_dim, int rotary_dim, double theta, int64_t pos0);

}  // namespace mm::ref
