// PNG and JPEG decoding into the Pillow modes of core/image.h: what `PIL.Image.open(path)` (Pillow 12)
// gives, because MiniMax-VL-01's official processor works on that image and its mode
// (docs/semantics/vl-01-preprocessing.md). The files are untrusted (docs/robustness.md, "Images").
//
// The codecs are Debian's libpng 1.6 and libjpeg-turbo 2.1 rather than hand-written ones: they are
// the well-kept decoders (Pillow itself decodes JPEG with libjpeg-turbo, and PNG with zlib and the same
// filter/interlace logic), and what is left here is the mapping to Pillow's modes and the refusals.
//
// PNG -> mode (libpng transforms: packing, strip-16, interlace handling; no gamma, no background, no
// palette or tRNS expansion: Pillow applies none of them when it opens a file):
//   gray 1-bit           "1"   bytes 0 / 255
//   gray 2 / 4 / 8-bit   "L"   2 and 4 bits scaled to 8 (v x 0x55, v x 0x11: Pillow's L;2 / L;4 unpackers)
//   gray 16-bit          refused: Pillow opens it as mode I;16, which this project does not support
//   gray + alpha 8 / 16  "LA"  (16-bit: the high byte, as Pillow's LA;16B)
//   palette 1..8-bit     "P"   the raw indices; Image::palette = the PLTE entries, then black
//   RGB 8 / 16           "RGB" (16-bit: the high byte)
//   RGBA 8 / 16          "RGBA" straight alpha (16-bit: the high byte)
// A tRNS chunk never changes the pixels: Pillow keeps it as info["transparency"] only, and the
// official processor's convert("RGB") ignores it. Nothing after the image data is read (Pillow ignores
// it: chunks after the last IDAT, a missing IEND). Every chunk read has its CRC checked, ancillary ones
// included (Pillow refuses a bad CRC before the image data: "broken PNG file").
//
// JPEG -> mode (libjpeg defaults, as Pillow: ISLOW DCT, fancy upsampling, block smoothing; only the
// output colour space is set):
//   1 component          "L"
//   3 components         "RGB" (YCbCr, or RGB with an Adobe transform 0)
//   4 components         refused: Pillow mode CMYK, which this project does not support
// No EXIF rotation (Image.open applies none). Baseline and progressive. A libjpeg warning is an error
// here: libjpeg reports a truncated file only by a warning (it inserts a fake EOI marker and fills the
// rest of the image with gray), and Pillow refuses a truncated JPEG ("image file is truncated").
//
// Every failure is an mm::Error whose message starts with the file's name and says what was wrong and
// what was expected. Nothing here crashes, hangs, aborts, leaks or allocates without a bound: the pixel
// count is checked against DecodeLimits::max_pixels from the header, before any pixel buffer exists.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image.h"

namespace mm::image {

struct DecodeLimits {
  // Pillow's Image.MAX_IMAGE_PIXELS (the threshold of its DecompressionBombWarning). A file claiming
  // more pixels is refused from its header, before any pixel buffer is allocated: a few hundred bytes
  // of PNG or JPEG can claim gigapixels.
  uint64_t max_pixels = 89'478'485;
  // The largest file read (decode_image_file) or accepted (decode_image_bytes). A real photo is a few
  // MiB; 256 MiB leaves room for huge uncompressed PNGs while bounding the read.
  uint64_t max_file_bytes = 256ull << 20;
  // Progressive JPEG: at most this many scans. Each scan costs a pass over the whole coefficient
  // buffer, so a small file of many (empty) scans is a known CPU denial of service; real encoders
  // write about 10 (libjpeg-turbo's own TurboJPEG API refuses over 500).
  int max_jpeg_scans = 1000;
};

enum class Format { PNG, JPEG };

// "PNG" / "JPEG".
const char* format_name(Format f);

// The format named by the first bytes (the PNG signature, or JPEG's SOI marker FF D8 FF), never by the
// file name's extension. Anything else is an mm::Error naming `name`, the first bytes and, when it
// recognises them, the format (GIF, BMP, WebP, TIFF, ...) that is not supported.
Format detect_format(const uint8_t* data, std::size_t size, const std::string& name);

// Reads `path` through mm::read_regular_file (so a directory, FIFO, device or unreadable path is
// refused by name, and never blocks) and decodes it. The file is only read.
Image decode_image_file(const std::string& path, const DecodeLimits& limits = {});

// Decodes an in-memory file named `name` in messages.
Image decode_image_bytes(const uint8_t* data, std::size_t size, const std::string& name,
                         const DecodeLimits& limits = {});

}  // namespace mm::image
