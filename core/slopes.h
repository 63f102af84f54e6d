// Lightning-attention decay rates (official _build_slope_tensor + per-layer factor,
// docs/semantics/text-01-model.md#decay-slopes).
//   base slope (ALiBi recursion, python double): n a power of two -> start = 2^(-(2^-(log2 n - 3))),
//     slope_i = start * start^i; otherwise the closest power of two's slopes followed by every
//     other slope of 2x that power, as many as are missing. Then rounded to fp32.
//   layer factor f_l = fl32(1 - l/(L-1) + 1e-5)   (l counts every layer, softmax ones included)
//   s_{l,h} = fl32(fl32(slope_h) * f_l);  per-token decay lambda = exp(-s).
// These are model constants: every precision uses the same fp32-valued s (held in a double). In core/ so
// that the reference and the CUDA model path (optimized/model/cuda_model_loader.cpp) share them.
#pragma once
#include <vector>

namespace mm {

std::vector<double> alibi_slopes_double(int n);          // python-double base slopes
std::vector<double> lightning_slopes(int heads, int layer, int num_layers);  // fp32-valued s per head

}  // namespace mm
