// Fuzz target: a PNG or JPEG file through mm::image::decode_image_bytes (core/image_decode.h), the
// decoder of every image the VL-01 preprocessing reads. libpng and libjpeg-turbo report errors by
// longjmp; what this target watches for is that every way they fail comes back as an mm::Error naming
// the file (no crash, leak, escaped longjmp or other exception), and that an accepted image is what the
// header promises: a positive size within the pixel limit, one buffer of exactly width x height x
// channels(mode) bytes, a mode the format can give, and mode "1" holding only 0 and 255.
//
// The pixel limit is lowered to 2^20 (a 4 MiB RGBA buffer at most) so that an input claiming a large
// image costs milliseconds, not the 358 MiB the default limit allows; the decoders' code paths are the
// same. Every pixel is read (to_rgb), so reading uninitialised or out-of-bounds memory is seen by the
// sanitizers.
#include <numeric>
#include <string>

#include "core/image.h"
#include "core/image_decode.h"
#include "fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return mm::fuzz::run([&] {
    using namespace mm::image;
    DecodeLimits limits;
    limits.max_pixels = 1u << 20;
    Image im;
    try {
      im = decode_image_bytes(data, size, "fuzz.img", limits);
    } catch (const mm::Error& e) {
      const std::string m = e.what();
      MM_FUZZ_CHECK(m.rfind("fuzz.img: ", 0) == 0 && m.size() > 10, m);  // names the file, says something
      throw;
    }
    const Format f = detect_format(data, size, "fuzz.img");
    MM_FUZZ_CHECK(im.width > 0 && im.height > 0, std::to_string(im.width) + " x " + std::to_string(im.height));
    MM_FUZZ_CHECK(static_cast<uint64_t>(im.width) * static_cast<uint64_t>(im.height) <= limits.max_pixels, "");
    MM_FUZZ_CHECK(im.pixels.size() == static_cast<std::size_t>(im.width) * im.height * channels(im.mode),
                  mode_name(im.mode));
    if (f == Format::JPEG) MM_FUZZ_CHECK(im.mode == Mode::L || im.mode == Mode::RGB, mode_name(im.mode));
    if (im.mode == Mode::Bit1)
      for (uint8_t v : im.pixels) MM_FUZZ_CHECK(v == 0 || v == 255, std::to_string(v));
    const Image rgb = to_rgb(im);
    MM_FUZZ_CHECK(rgb.mode == Mode::RGB && rgb.pixels.size() == static_cast<std::size_t>(im.width) * im.height * 3, "");
    // Touch every byte (an uninitialised read shows under MSan/valgrind; the sum keeps it from being elided).
    volatile unsigned sum = std::accumulate(rgb.pixels.begin(), rgb.pixels.end(), 0u);
    (void)sum;
  });
}
