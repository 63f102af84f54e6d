// A decoded 8-bit image, in the pixel modes Pillow uses (docs/semantics/vl-01-preprocessing.md).
//
// MiniMax-VL-01's official processor works on whatever `PIL.Image.open` returns, and what it does next
// depends on the Pillow mode: palette and 1-bit images are resized by index with NEAREST, RGBA and LA
// premultiplied, L and RGB as they are. So a decoder here keeps the mode Pillow would report instead
// of converting to RGB on the way in; core/image_decode.h says which file maps to which mode.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mm::image {

// The Pillow modes this project reads. Storage is `channels(mode)` bytes per pixel, row-major, no
// row padding:
//   L     gray                          1 byte
//   LA    gray, alpha (straight)        2 bytes
//   RGB   red, green, blue              3 bytes
//   RGBA  red, green, blue, alpha       4 bytes (straight alpha, as PNG stores it)
//   P     palette index                 1 byte, colours in Image::palette
//   Bit1  Pillow's "1": 0 or 255        1 byte
enum class Mode : uint8_t { L, LA, RGB, RGBA, P, Bit1 };

constexpr int channels(Mode m) {
  switch (m) {
    case Mode::L: case Mode::P: case Mode::Bit1: return 1;
    case Mode::LA: return 2;
    case Mode::RGB: return 3;
    case Mode::RGBA: return 4;
  }
  return 0;
}

// Pillow's spelling: "L", "LA", "RGB", "RGBA", "P", "1".
const char* mode_name(Mode m);

struct Image {
  int width = 0;   // pixels
  int height = 0;  // pixels
  Mode mode = Mode::RGB;
  std::vector<uint8_t> pixels;  // [height][width][channels(mode)]
  // Mode P only: 256 RGB entries. Entries past the file's own palette are black (0, 0, 0), which is what
  // Pillow shows for an index the palette does not cover.
  std::array<uint8_t, 256 * 3> palette{};

  std::size_t row_bytes() const { return static_cast<std::size_t>(width) * channels(mode); }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * row_bytes(); }
  uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * row_bytes(); }
};

// An empty image of the given size and mode (pixels zero; palette black).
Image make_image(int width, int height, Mode mode);

// Pillow's `convert("RGB")` for every mode above: L and 1 replicate, LA and RGBA drop alpha without
// compositing, P looks up the palette. The result has mode RGB.
Image to_rgb(const Image& im);

}  // namespace mm::image
