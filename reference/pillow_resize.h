// Pillow's `Image.resize(size, Image.BICUBIC)`, bit for bit (docs/semantics/vl-01-preprocessing.md,
// "Resizing").
//
// MiniMax-VL-01's official processor resizes every image with Pillow, so crops that are to match the
// official ones byte for byte need Pillow's exact integer arithmetic, not just "a bicubic filter":
//
//   * separable, one pass per axis; a pass is skipped when that axis keeps its size, and an unchanged
//     size returns a copy;
//   * the Keys cubic with a = -0.5, support 2, stretched by in/out when shrinking (antialiasing);
//   * per output pixel, the weights are normalised in double, then rounded half away from zero to
//     22-bit fixed point; sums start at 2^21 and are shifted right by 22 and clamped to 0..255, so the
//     intermediate image between the passes is uint8;
//   * Pillow <= 12.2 runs the horizontal pass first; Pillow 13.0 runs the vertical pass first when the
//     height shrinks by more than twice as many pixels as the width (ResizeOrder below);
//   * by mode: P and 1 are resized with NEAREST on the stored values (palette indices), whatever filter
//     is asked for; RGBA and LA are premultiplied by alpha, resized, and divided back with Pillow's
//     integer rules; L and RGB are resized as they are.
#pragma once
#include <cstdint>
#include <string>

#include "core/image.h"

namespace mm::image {

// Which Pillow's pass order to reproduce. The two differ by up to 17 levels on ordinary portraits.
enum class ResizeOrder : uint8_t {
  Pillow12,  // Pillow <= 12.2: horizontal first, always. The Pillow of MiniMax-VL-01's release; default.
  Pillow13,  // Pillow 13.0: vertical first when (H_in - H_out) > 0 and > 2 (W_in - W_out).
};

// "pillow-12" / "pillow-13" (the CLI's --resize-order values).
const char* resize_order_name(ResizeOrder o);
// Throws mm::Error naming `option` and the accepted values when `name` is neither.
ResizeOrder parse_resize_order(const std::string& name, const std::string& option);

// Two implementations of the horizontal pass with identical output: V1Direct loops like Pillow (one
// output pixel at a time, obviously right); V2Blocked transposes blocks of rows so the same integer
// sums run as SIMD multiply-adds (the default). Tests run both on every golden pair.
enum class ResizeKernel : uint8_t { V1Direct, V2Blocked };

// `in.resize((out_width, out_height), Image.BICUBIC)` in the given Pillow's arithmetic. The result
// has in's mode (and palette). Throws mm::Error for a non-positive size.
Image resize_bicubic(const Image& in, int out_width, int out_height, ResizeOrder order = ResizeOrder::Pillow12,
                     ResizeKernel kernel = ResizeKernel::V2Blocked);

// The integer multiply-adds resize_bicubic performs for that resize of a `channels`-channel image
// (0 for a copy or a NEAREST mode): the benchmark's work count.
uint64_t resize_multiply_adds(int in_width, int in_height, int out_width, int out_height, int channels,
                              ResizeOrder order = ResizeOrder::Pillow12);

}  // namespace mm::image
