// Seeded synthetic images, byte for byte the ones golden/vl_preprocess/generate.py builds for its
// resize pairs and bench/vl_preprocess_pillow.py for its timings, so a test or benchmark here can
// regenerate a source image from (mode, size, seed, content) instead of reading it from disk.
//
// Bytes come from splitmix64 seeded with `seed`, one draw per stored byte in storage order (rows, then
// pixels, then channels), keeping the low 8 bits. Content "noise" keeps the byte, "binary" maps it to
// 255 or 0 by its lowest bit (hard edges everywhere: the worst case for clamping). Mode 1 is always
// binary. Mode P takes its 768 palette bytes from the same stream, right after the pixels.
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/image.h"

namespace mm::image {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

enum class SyntheticContent { Noise, Binary };

inline SyntheticContent parse_synthetic_content(const std::string& s) {
  if (s == "noise") return SyntheticContent::Noise;
  if (s == "binary") return SyntheticContent::Binary;
  throw Error("synthetic image content '" + s + "', expected noise or binary");
}

inline Image synthetic_image(int width, int height, Mode mode, uint64_t seed, SyntheticContent content) {
  Image im = make_image(width, height, mode);
  SplitMix64 rng{seed};
  const bool binary = content == SyntheticContent::Binary || mode == Mode::Bit1;
  for (uint8_t& b : im.pixels) {
    const auto v = static_cast<uint8_t>(rng.next() & 0xFF);
    b = binary ? static_cast<uint8_t>((v & 1) ? 255 : 0) : v;
  }
  if (mode == Mode::P)
    for (uint8_t& b : im.palette) b = static_cast<uint8_t>(rng.next() & 0xFF);
  return im;
}

// Pillow's mode spelling back to Mode ("L", "LA", "RGB", "RGBA", "P", "1").
inline Mode parse_mode_name(const std::string& s) {
  for (Mode m : {Mode::L, Mode::LA, Mode::RGB, Mode::RGBA, Mode::P, Mode::Bit1})
    if (s == mode_name(m)) return m;
  throw Error("image mode '" + s + "', expected one of L, LA, RGB, RGBA, P, 1");
}

}  // namespace mm::image
