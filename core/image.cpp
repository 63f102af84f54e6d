// Pixel-mode helpers of core/image.h.
#include "core/image.h"

#include "core/error.h"

namespace mm::image {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::L: return "L";
    case Mode::LA: return "LA";
    case Mode::RGB: return "RGB";
    case Mode::RGBA: return "RGBA";
    case Mode::P: return "P";
    case Mode::Bit1: return "1";
  }
  return "?";
}

Image make_image(int width, int height, Mode mode) {
  require(width > 0 && height > 0, "image: size " + std::to_string(width) + "x" + std::to_string(height) +
                                       ", expected a positive width and height");
  Image im;
  im.width = width;
  im.height = height;
  im.mode = mode;
  im.pixels.assign(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * channels(mode), 0);
  return im;
}

Image to_rgb(const Image& im) {
  if (im.mode == Mode::RGB) return im;
  Image out = make_image(im.width, im.height, Mode::RGB);
  const std::size_t n = static_cast<std::size_t>(im.width) * static_cast<std::size_t>(im.height);
  const int ch = channels(im.mode);
  const uint8_t* in = im.pixels.data();
  uint8_t* o = out.pixels.data();
  for (std::size_t i = 0; i < n; ++i, in += ch, o += 3) {
    switch (im.mode) {
      case Mode::L: case Mode::LA: case Mode::Bit1: o[0] = o[1] = o[2] = in[0]; break;
      case Mode::RGBA: o[0] = in[0]; o[1] = in[1]; o[2] = in[2]; break;
      case Mode::P: {
        const uint8_t* c = &im.palette[static_cast<std::size_t>(in[0]) * 3];
        o[0] = c[0]; o[1] = c[1]; o[2] = c[2];
        break;
      }
      case Mode::RGB: break;
    }
  }
  return out;
}

}  // namespace mm::image
