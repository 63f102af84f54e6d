// core/image_decode.h: PNG and JPEG files into Pillow's modes, and the refusal of hostile input.
//
// The test images are made here by encoding with libpng / libjpeg (seeded random pixels), so every PNG
// pixel is known exactly; JPEG is lossy, so its pixels are only checked to be close to the source
// (exact identity with Pillow is checked against Pillow goldens elsewhere).
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <png.h>
#include <jpeglib.h>
#include <zlib.h>

#include "core/error.h"
#include "core/image.h"
#include "core/image_decode.h"
#include "tests/core/test_util.h"

namespace mm::image {
namespace {

using mm::test::TempDir;
using mm::test::write_bytes;

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

Image decode(const std::string& bytes, const std::string& name = "x.png", const DecodeLimits& limits = {}) {
  return decode_image_bytes(u8(bytes), bytes.size(), name, limits);
}

// --- PNG encoding ----------------------------------------------------------------------------------

struct PngSpec {
  int width = 0, height = 0;
  int color_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  bool interlace = false;
  std::vector<png_color> palette;  // PLTE (palette images)
  std::vector<uint8_t> trns_alpha;  // tRNS of a palette image
  bool trns_color = false;          // a tRNS colour (gray / RGB images)
  png_color_16 trns_value{};
  bool text = false;  // a tEXt chunk before the image data (an ancillary chunk)
};

int png_channels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
  }
}

void png_append(png_structp png, png_bytep d, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(d), n);
}
void png_no_flush(png_structp) {}

// Encodes samples (row-major, channel-interleaved, each in [0, 2^bit_depth)) into a PNG file.
std::string encode_png(const PngSpec& s, const std::vector<uint16_t>& samples) {
  const int ch = png_channels(s.color_type);
  EXPECT_EQ(samples.size(), static_cast<std::size_t>(s.width) * s.height * ch);
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, png_append, png_no_flush);
  png_set_check_for_invalid_index(png, 0);  // indices past the palette are written on purpose
  png_set_user_limits(png, 0x7fffffffU, 0x7fffffffU);  // the 1,000,001-pixel strip
  png_set_IHDR(png, info, static_cast<png_uint_32>(s.width), static_cast<png_uint_32>(s.height), s.bit_depth,
               s.color_type, s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), static_cast<int>(s.palette.size()));
  if (!s.trns_alpha.empty())
    png_set_tRNS(png, info, s.trns_alpha.data(), static_cast<int>(s.trns_alpha.size()), nullptr);
  if (s.trns_color) png_set_tRNS(png, info, nullptr, 0, &s.trns_value);
  png_text text{};
  char key[] = "Comment", value[] = "made by image_decode_test";
  if (s.text) {
    text.compression = PNG_TEXT_COMPRESSION_NONE;
    text.key = key;
    text.text = value;
    png_set_text(png, info, &text, 1);
  }
  // Raw PNG rows: sub-byte samples packed MSB first, 16-bit samples big-endian.
  const std::size_t rowbytes = (static_cast<std::size_t>(s.width) * ch * s.bit_depth + 7) / 8;
  std::vector<uint8_t> raw(rowbytes * s.height, 0);
  for (int y = 0; y < s.height; ++y) {
    uint8_t* r = raw.data() + rowbytes * y;
    for (int i = 0; i < s.width * ch; ++i) {
      const uint16_t v = samples[static_cast<std::size_t>(y) * s.width * ch + i];
      if (s.bit_depth == 16) {
        r[2 * i] = static_cast<uint8_t>(v >> 8);
        r[2 * i + 1] = static_cast<uint8_t>(v);
      } else if (s.bit_depth == 8) {
        r[i] = static_cast<uint8_t>(v);
      } else {
        const int per = 8 / s.bit_depth, shift = 8 - s.bit_depth * (i % per + 1);
        r[i / per] = static_cast<uint8_t>(r[i / per] | (v << shift));
      }
    }
  }
  std::vector<png_bytep> rows(s.height);
  for (int y = 0; y < s.height; ++y) rows[y] = raw.data() + rowbytes * y;
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::vector<uint16_t> random_samples(std::size_t n, int max_value, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, max_value);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = static_cast<uint16_t>(d(rng));
  return v;
}

// What Pillow holds for a PNG sample: 16-bit -> the high byte; 1/2/4-bit gray scaled to 8 bits.
uint8_t expected_sample(uint16_t v, int bit_depth, bool gray_scaled) {
  if (bit_depth == 16) return static_cast<uint8_t>(v >> 8);
  if (!gray_scaled || bit_depth == 8) return static_cast<uint8_t>(v);
  return static_cast<uint8_t>(v * (bit_depth == 1 ? 255 : bit_depth == 2 ? 0x55 : 0x11));
}

// The chunks of a PNG: offsets of each chunk's length field.
struct Chunk {
  std::size_t offset;  // of the length field
  uint32_t length;
  std::string type;
};
std::vector<Chunk> png_chunks(const std::string& f) {
  std::vector<Chunk> out;
  std::size_t p = 8;
  while (p + 12 <= f.size()) {
    const auto* d = u8(f) + p;
    const uint32_t len = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
    out.push_back({p, len, f.substr(p + 4, 4)});
    p += 12 + len;
  }
  return out;
}
const Chunk& find_chunk(const std::vector<Chunk>& cs, const std::string& type) {
  for (const auto& c : cs)
    if (c.type == type) return c;
  ADD_FAILURE() << "no " << type << " chunk";
  return cs.front();
}
void put_be32(std::string& f, std::size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
// Recomputes the CRC of the chunk at `c` (after its content was patched).
void fix_crc(std::string& f, const Chunk& c) {
  const uLong crc = crc32(0L, u8(f) + c.offset + 4, 4 + c.length);
  put_be32(f, c.offset + 8 + c.length, static_cast<uint32_t>(crc));
}
std::string make_chunk(const std::string& type, const std::string& data) {
  std::string c(4, '\0');
  put_be32(c, 0, static_cast<uint32_t>(data.size()));
  c += type + data;
  std::string crc(4, '\0');
  put_be32(crc, 0, static_cast<uint32_t>(crc32(crc32(0L, u8(type), 4), u8(data), static_cast<uInt>(data.size()))));
  return c + crc;
}

// Encodes, decodes and checks mode, size and every pixel against the samples.
Image check_png_round_trip(const PngSpec& s, const std::vector<uint16_t>& samples, Mode mode) {
  const Image im = decode(encode_png(s, samples));
  EXPECT_EQ(im.mode, mode);
  EXPECT_EQ(im.width, s.width);
  EXPECT_EQ(im.height, s.height);
  const bool gray = s.color_type == PNG_COLOR_TYPE_GRAY;
  EXPECT_EQ(im.pixels.size(), samples.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < samples.size() && i < im.pixels.size(); ++i)
    if (im.pixels[i] != expected_sample(samples[i], s.bit_depth, gray) && bad++ < 5)
      ADD_FAILURE() << "sample " << i << ": " << int(im.pixels[i]) << " != "
                    << int(expected_sample(samples[i], s.bit_depth, gray));
  return im;
}

struct PngCase {
  int color_type, bit_depth;
  Mode mode;
};

TEST(ImageDecodePng, EveryColourTypeAndDepthExact) {
  const PngCase cases[] = {
      {PNG_COLOR_TYPE_GRAY, 1, Mode::Bit1},       {PNG_COLOR_TYPE_GRAY, 2, Mode::L},
      {PNG_COLOR_TYPE_GRAY, 4, Mode::L},          {PNG_COLOR_TYPE_GRAY, 8, Mode::L},
      {PNG_COLOR_TYPE_GRAY_ALPHA, 8, Mode::LA},   {PNG_COLOR_TYPE_GRAY_ALPHA, 16, Mode::LA},
      {PNG_COLOR_TYPE_RGB, 8, Mode::RGB},         {PNG_COLOR_TYPE_RGB, 16, Mode::RGB},
      {PNG_COLOR_TYPE_RGB_ALPHA, 8, Mode::RGBA},  {PNG_COLOR_TYPE_RGB_ALPHA, 16, Mode::RGBA},
  };
  uint32_t seed = 1;
  for (const auto& c : cases) {
    for (bool interlace : {false, true}) {
      SCOPED_TRACE("colour type " + std::to_string(c.color_type) + ", " + std::to_string(c.bit_depth) + "-bit" +
                   (interlace ? ", Adam7" : ""));
      PngSpec s;
      s.width = 37;  // odd sizes: partial bytes at row ends, every Adam7 pass partial
      s.height = 19;
      s.color_type = c.color_type;
      s.bit_depth = c.bit_depth;
      s.interlace = interlace;
      const auto samples = random_samples(static_cast<std::size_t>(s.width) * s.height * png_channels(c.color_type),
                                          (1 << c.bit_depth) - 1, seed++);
      check_png_round_trip(s, samples, c.mode);
    }
  }
}

TEST(ImageDecodePng, OneBitGrayIsZeroOr255) {
  PngSpec s;
  s.width = 9;
  s.height = 3;
  s.color_type = PNG_COLOR_TYPE_GRAY;
  s.bit_depth = 1;
  const Image im = check_png_round_trip(s, random_samples(27, 1, 7), Mode::Bit1);
  for (uint8_t v : im.pixels) EXPECT_TRUE(v == 0 || v == 255) << int(v);
  EXPECT_STREQ(mode_name(im.mode), "1");
}

TEST(ImageDecodePng, TwoAndFourBitGrayScaleLikePillow) {
  for (int bd : {2, 4}) {
    PngSpec s;
    s.width = 1 << bd;  // every value once
    s.height = 1;
    s.color_type = PNG_COLOR_TYPE_GRAY;
    s.bit_depth = bd;
    std::vector<uint16_t> v(static_cast<std::size_t>(s.width));
    for (int i = 0; i < s.width; ++i) v[i] = static_cast<uint16_t>(i);
    const Image im = decode(encode_png(s, v));
    ASSERT_EQ(im.mode, Mode::L);
    for (int i = 0; i < s.width; ++i) EXPECT_EQ(im.pixels[i], i * 255 / ((1 << bd) - 1)) << bd << "-bit value " << i;
  }
}

TEST(ImageDecodePng, SixteenBitKeepsTheHighByte) {
  PngSpec s;
  s.width = 4;
  s.height = 1;
  s.color_type = PNG_COLOR_TYPE_RGB;
  s.bit_depth = 16;
  // 0x12ff must give 0x12 (Pillow's RGB;16B takes the high byte; rounding would give 0x13).
  const std::vector<uint16_t> v = {0x12ff, 0x0080, 0xffff, 0x0000, 0x7f7f, 0x8001, 0x00ff, 0xff00, 0x1234, 0xabcd, 0x5555, 0xaaaa};
  const Image im = decode(encode_png(s, v));
  ASSERT_EQ(im.mode, Mode::RGB);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(im.pixels[i], v[i] >> 8) << i;
}

TEST(ImageDecodePng, PaletteGivesIndicesAndPaletteBlackBeyond) {
  uint32_t seed = 100;
  for (int bd : {1, 2, 4, 8}) {
    for (bool interlace : {false, true}) {
      SCOPED_TRACE(std::to_string(bd) + "-bit palette" + (interlace ? ", Adam7" : ""));
      PngSpec s;
      s.width = 23;
      s.height = 11;
      s.color_type = PNG_COLOR_TYPE_PALETTE;
      s.bit_depth = bd;
      s.interlace = interlace;
      // Fewer entries than the depth can index (except 1-bit), and indices past them in the pixels.
      const int entries = bd == 1 ? 2 : (1 << bd) - 1 - bd;
      std::mt19937 rng(seed++);
      for (int i = 0; i < entries; ++i)
        s.palette.push_back({static_cast<png_byte>(rng()), static_cast<png_byte>(rng()), static_cast<png_byte>(rng())});
      s.trns_alpha = {0, 128};  // a tRNS chunk: ignored for the pixels, as Pillow does
      s.trns_alpha.resize(std::min<std::size_t>(2, s.palette.size()));
      const auto samples = random_samples(static_cast<std::size_t>(s.width) * s.height, (1 << bd) - 1, seed++);
      const Image im = check_png_round_trip(s, samples, Mode::P);
      for (int i = 0; i < 256; ++i) {
        for (int c = 0; c < 3; ++c) {
          const uint8_t want = i < entries ? (c == 0 ? s.palette[i].red : c == 1 ? s.palette[i].green : s.palette[i].blue)
                                           : uint8_t{0};
          EXPECT_EQ(im.palette[i * 3 + c], want) << "palette entry " << i << " channel " << c;
        }
      }
    }
  }
}

TEST(ImageDecodePng, PaletteLongerThanTheDepthKeepsEveryEntryLikePillow) {
  // libpng truncates a 4-bit image's 20-entry PLTE to 16; Pillow keeps all 20 in the image's palette.
  PngSpec s;
  s.width = 4;
  s.height = 4;
  s.color_type = PNG_COLOR_TYPE_PALETTE;
  s.bit_depth = 4;
  for (int i = 0; i < 16; ++i) s.palette.push_back({png_byte(i), png_byte(2 * i), png_byte(3 * i)});
  std::string f = encode_png(s, random_samples(16, 15, 5));
  std::string plte;
  for (int i = 0; i < 20; ++i) plte += {char(200 - i), char(100 + i), char(i)};
  const Chunk c = find_chunk(png_chunks(f), "PLTE");
  f.replace(c.offset, 12 + c.length, make_chunk("PLTE", plte));
  const Image im = decode(f);
  ASSERT_EQ(im.mode, Mode::P);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(im.palette[i * 3 + 0], 200 - i) << i;
    EXPECT_EQ(im.palette[i * 3 + 1], 100 + i) << i;
    EXPECT_EQ(im.palette[i * 3 + 2], i) << i;
  }
  EXPECT_EQ(im.palette[20 * 3], 0);  // then black, as Pillow shows indices past the palette
}

TEST(ImageDecodePng, TransparencyColourChangesNoPixelNorMode) {
  for (int ct : {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_RGB}) {
    PngSpec s;
    s.width = 8;
    s.height = 8;
    s.color_type = ct;
    s.trns_color = true;
    s.trns_value.gray = 7;
    s.trns_value.red = 7;
    s.trns_value.green = 7;
    s.trns_value.blue = 7;
    auto samples = random_samples(64 * png_channels(ct), 255, 9);
    for (int i = 0; i < 8 * png_channels(ct); ++i) samples[i] = 7;  // pixels equal to the transparent colour
    check_png_round_trip(s, samples, ct == PNG_COLOR_TYPE_GRAY ? Mode::L : Mode::RGB);
  }
}

TEST(ImageDecodePng, InterlacedEqualsNonInterlaced) {
  for (int ct : {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_RGB_ALPHA}) {
    PngSpec s;
    s.width = 64;
    s.height = 1;  // a 1-row image: most Adam7 passes are empty
    s.color_type = ct;
    const auto v = random_samples(64 * png_channels(ct), 255, 11);
    const Image a = decode(encode_png(s, v));
    s.interlace = true;
    const Image b = decode(encode_png(s, v));
    EXPECT_EQ(a.pixels, b.pixels);
    EXPECT_EQ(a.mode, b.mode);
  }
}

TEST(ImageDecodePng, SixteenBitGrayIsRefusedNamingPillowsMode) {
  PngSpec s;
  s.width = 3;
  s.height = 3;
  s.color_type = PNG_COLOR_TYPE_GRAY;
  s.bit_depth = 16;
  EXPECT_MM_ERROR(decode(encode_png(s, random_samples(9, 65535, 3)), "deep.png"), "deep.png: ", "16-bit grayscale",
                  "I;16");
}

// A small RGB PNG, 16 x 16, for the corruption tests.
std::string small_png(bool interlace = false, bool text = false) {
  PngSpec s;
  s.width = 16;
  s.height = 16;
  s.interlace = interlace;
  s.text = text;
  return encode_png(s, random_samples(16 * 16 * 3, 255, 21));
}

TEST(ImageDecodePng, EveryTruncationIsRefusedOrGivesTheWholeImage) {
  for (bool interlace : {false, true}) {
    const std::string f = small_png(interlace);
    const Image whole = decode(f);
    const auto chunks = png_chunks(f);
    const std::size_t image_end = find_chunk(chunks, "IEND").offset;  // after the last IDAT's CRC
    for (std::size_t n = 0; n < f.size(); ++n) {
      SCOPED_TRACE("cut to " + std::to_string(n) + " of " + std::to_string(f.size()) + " bytes");
      try {
        const Image im = decode(f.substr(0, n), "cut.png");
        // Pillow reads nothing after the image data: a file cut in or before IEND still opens.
        EXPECT_GE(n, image_end);
        EXPECT_EQ(im.pixels, whole.pixels);
      } catch (const Error& e) {
        EXPECT_LT(n, image_end);
        const std::string m = e.what();
        EXPECT_EQ(m.rfind("cut.png: ", 0), 0u) << m;
        if (n >= 8 + 12 + 13) {  // past IHDR: a truncation is named as one
          EXPECT_NE(m.find("truncated PNG"), std::string::npos) << m;
        }
      }
    }
  }
}

TEST(ImageDecodePng, BadCrcInIhdrIsRefused) {
  std::string f = small_png();
  f[8 + 8 + 13] = static_cast<char>(f[8 + 8 + 13] ^ 0x01);  // IHDR's CRC
  EXPECT_MM_ERROR(decode(f, "crc.png"), "crc.png: ", "CRC", "IHDR");
}

TEST(ImageDecodePng, BadCrcInAnAncillaryChunkIsRefused) {
  std::string f = small_png(false, true);
  EXPECT_NO_THROW(decode(f));
  const Chunk c = find_chunk(png_chunks(f), "tEXt");
  f[c.offset + 8 + c.length] = static_cast<char>(f[c.offset + 8 + c.length] ^ 0x80);
  EXPECT_MM_ERROR(decode(f, "text.png"), "text.png: ", "CRC", "tEXt");
}

TEST(ImageDecodePng, BadCrcInImageDataIsRefused) {
  std::string f = small_png();
  const Chunk c = find_chunk(png_chunks(f), "IDAT");
  f[c.offset + 8 + c.length + 3] = static_cast<char>(f[c.offset + 8 + c.length + 3] ^ 0x10);
  EXPECT_MM_ERROR(decode(f, "idat.png"), "idat.png: ", "CRC");
}

TEST(ImageDecodePng, ZeroWidthOrHeightIsRefused) {
  for (int field : {0, 1}) {
    std::string f = small_png();
    const Chunk c = find_chunk(png_chunks(f), "IHDR");
    put_be32(f, c.offset + 8 + 4 * field, 0);
    fix_crc(f, c);
    EXPECT_MM_ERROR(decode(f, "zero.png"), "zero.png: ", "corrupt PNG", "IHDR", field == 0 ? "width" : "height");
  }
}

TEST(ImageDecodePng, DecompressionBombIsRefusedBeforeAllocation) {
  std::string f = small_png();
  const Chunk c = find_chunk(png_chunks(f), "IHDR");
  put_be32(f, c.offset + 8, 100000);
  put_be32(f, c.offset + 12, 100000);
  fix_crc(f, c);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_MM_ERROR(decode(f, "bomb.png"), "bomb.png: ", "100000 x 100000 = 10000000000 pixels",
                  "exceeds the limit of 89478485", "MAX_IMAGE_PIXELS", "refused before decoding");
  // 30 GB of RGB would take far longer than this even to zero (if it could be allocated at all); the
  // refusal reads only the header.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  // Within the limit, the same file is only truncated (the data is for 16 x 16).
  DecodeLimits big;
  big.max_pixels = 1;
  EXPECT_MM_ERROR(decode(small_png(), "lim.png", big), "lim.png: ", "16 x 16 = 256 pixels exceeds the limit of 1;");
}

TEST(ImageDecodePng, WideStripOverLibpngsDefaultWidthLimitDecodes) {
  PngSpec s;
  s.width = 1'000'001;  // libpng refuses > 1,000,000 by default; only the pixel count limits us
  s.height = 1;
  s.color_type = PNG_COLOR_TYPE_GRAY;
  const Image im = decode(encode_png(s, std::vector<uint16_t>(1'000'001, 9)));
  EXPECT_EQ(im.width, 1'000'001);
  EXPECT_EQ(im.pixels.back(), 9);
}

TEST(ImageDecodePng, CorruptImageDataIsRefused) {
  std::string f = small_png();
  const Chunk c = find_chunk(png_chunks(f), "IDAT");
  for (std::size_t i = 2; i < c.length; i += 3) f[c.offset + 8 + i] = static_cast<char>(0xAA);
  fix_crc(f, c);
  EXPECT_MM_ERROR(decode(f, "junk.png"), "junk.png: ", "PNG");
}

// --- Format detection -----------------------------------------------------------------------------

TEST(ImageDecodeFormat, NotAnImageIsRefusedNamingWhatItIs) {
  EXPECT_MM_ERROR(decode("", "e.png"), "e.png: empty file", "expected a PNG or JPEG");
  EXPECT_MM_ERROR(decode("hello world", "t.png"), "t.png: not a PNG or JPEG file (first bytes 68 65 6c 6c 6f 20 77 6f",
                  "expected PNG or JPEG");
  EXPECT_MM_ERROR(decode("GIF89a\x01\x00\x01\x00", "g.png"), "g.png: ", "47 49 46 38", "GIF is not supported");
  EXPECT_MM_ERROR(decode("BM\x36\x00\x00\x00", "b.jpg"), "b.jpg: ", "BMP is not supported");
  EXPECT_MM_ERROR(decode(std::string("RIFF\0\0\0\0WEBPVP8 ", 16), "w.png"), "w.png: ", "WebP is not supported");
  EXPECT_MM_ERROR(decode(std::string("\x89PNG", 4), "p.png"), "p.png: ", "cut-off PNG signature");
  EXPECT_MM_ERROR(decode(std::string("\xff\xd8", 2), "j.jpg"), "j.jpg: ", "not a PNG or JPEG");
}

TEST(ImageDecodeFormat, FileSizeLimit) {
  DecodeLimits l;
  l.max_file_bytes = 10;
  EXPECT_MM_ERROR(decode(small_png(), "big.png", l), "big.png: ", "more than the limit of 10 bytes");
}

// --- JPEG -------------------------------------------------------------------------------------------

// A smooth image with some noise (JPEG's error on it is small and predictable).
std::vector<uint8_t> smooth_pixels(int w, int h, int ch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-6, 6);
  std::vector<uint8_t> v(static_cast<std::size_t>(w) * h * ch);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < ch; ++c) {
        const int base = 40 + (x * 150) / w + (y * 50) / h + 20 * c;
        v[(static_cast<std::size_t>(y) * w + x) * ch + c] = static_cast<uint8_t>(std::clamp(base + noise(rng), 0, 255));
      }
  return v;
}

struct JpegOptions {
  bool rgb_colorspace = false;  // store RGB (Adobe transform 0) instead of YCbCr
  bool no_subsampling = false;  // 4:4:4 instead of libjpeg's 4:2:0 default
  bool arithmetic = false;
  int restart_rows = 0;  // a restart marker every N MCU rows
};

std::string encode_jpeg(int w, int h, int components, J_COLOR_SPACE space, const std::vector<uint8_t>& px,
                        bool progressive, int quality = 95, const JpegOptions& o = {}) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = components;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  if (o.rgb_colorspace) jpeg_set_colorspace(&c, JCS_RGB);
  if (o.no_subsampling)
    for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  c.arith_code = o.arithmetic ? TRUE : FALSE;
  c.restart_in_rows = o.restart_rows;
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(px.data()) + static_cast<std::size_t>(c.next_scanline) * w * components;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<const char*>(buf), size);
  std::free(buf);
  return out;
}

void expect_close(const Image& im, const std::vector<uint8_t>& src, double max_mean, int max_abs) {
  ASSERT_EQ(im.pixels.size(), src.size());
  double sum = 0;
  int worst = 0;
  for (std::size_t i = 0; i < src.size(); ++i) {
    const int d = std::abs(int(im.pixels[i]) - int(src[i]));
    sum += d;
    worst = std::max(worst, d);
  }
  EXPECT_LE(sum / src.size(), max_mean);
  EXPECT_LE(worst, max_abs);
}

TEST(ImageDecodeJpeg, BaselineAndProgressiveColour) {
  const int w = 61, h = 37;  // not multiples of the 16 x 16 MCU
  const auto px = smooth_pixels(w, h, 3, 31);
  Image first;
  for (bool progressive : {false, true}) {
    SCOPED_TRACE(progressive ? "progressive" : "baseline");
    const Image im = decode(encode_jpeg(w, h, 3, JCS_RGB, px, progressive), "c.jpg");
    EXPECT_EQ(im.mode, Mode::RGB);
    EXPECT_EQ(im.width, w);
    EXPECT_EQ(im.height, h);
    expect_close(im, px, 4.0, 40);
    if (!progressive) first = im;
    else expect_close(im, first.pixels, 1.0, 16);  // the same quantised coefficients
  }
}

TEST(ImageDecodeJpeg, GrayscaleIsL) {
  const int w = 33, h = 20;
  const auto px = smooth_pixels(w, h, 1, 32);
  for (bool progressive : {false, true}) {
    const Image im = decode(encode_jpeg(w, h, 1, JCS_GRAYSCALE, px, progressive), "g.jpg");
    EXPECT_EQ(im.mode, Mode::L);
    EXPECT_EQ(im.width, w);
    EXPECT_EQ(im.height, h);
    expect_close(im, px, 3.0, 30);
  }
}

TEST(ImageDecodeJpeg, CmykIsRefusedNamingPillowsMode) {
  const auto px = smooth_pixels(16, 16, 4, 33);
  EXPECT_MM_ERROR(decode(encode_jpeg(16, 16, 4, JCS_CMYK, px, false), "cmyk.jpg"), "cmyk.jpg: ", "CMYK",
                  "not support");
}

TEST(ImageDecodeJpeg, EveryTruncationIsRefused) {
  for (bool progressive : {false, true}) {
    const std::string f = encode_jpeg(24, 24, 3, JCS_RGB, smooth_pixels(24, 24, 3, 34), progressive);
    EXPECT_NO_THROW(decode(f, "ok.jpg"));
    for (std::size_t n = 0; n + 2 < f.size(); ++n) {  // cut before the EOI marker
      SCOPED_TRACE((progressive ? "progressive, cut to " : "baseline, cut to ") + std::to_string(n));
      try {
        decode(f.substr(0, n), "cut.jpg");
        ADD_FAILURE() << "accepted";
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("cut.jpg: ", 0), 0u) << e.what();
      }
    }
    // Cut in the middle of the scan data: named as a truncation.
    EXPECT_MM_ERROR(decode(f.substr(0, f.size() * 3 / 4), "half.jpg"), "half.jpg: ", "truncated or corrupt JPEG",
                    "Premature end of JPEG file");
  }
}

TEST(ImageDecodeJpeg, GarbageAfterSoiIsRefused) {
  std::mt19937 rng(35);
  for (int i = 0; i < 50; ++i) {
    std::string f("\xff\xd8\xff", 3);
    for (int k = 0; k < 200; ++k) f += static_cast<char>(rng());
    EXPECT_MM_ERROR(decode(f, "garbage.jpg"), "garbage.jpg: ", "JPEG");
  }
}

// Junk before a marker: libjpeg warns "extraneous bytes before marker" and decodes on; Pillow opens such
// files (camera firmware writes them), so they decode here too, to the same pixels as the clean file.
TEST(ImageDecodeJpeg, ExtraneousBytesBeforeAMarkerAreDecodedPast) {
  const std::string clean = encode_jpeg(24, 16, 3, JCS_RGB, smooth_pixels(24, 16, 3, 41), false);
  const std::size_t sos = clean.find(std::string("\xff\xda", 2));
  ASSERT_NE(sos, std::string::npos);
  const std::string junk = clean.substr(0, sos) + std::string("\x00\x11\x22", 3) + clean.substr(sos);
  const Image a = decode(clean, "clean.jpg"), b = decode(junk, "junk.jpg");
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(b.mode, Mode::RGB);
}

TEST(ImageDecodeJpeg, ScanLimit) {
  const std::string f = encode_jpeg(16, 16, 3, JCS_RGB, smooth_pixels(16, 16, 3, 36), true);  // 10 scans
  DecodeLimits l;
  l.max_jpeg_scans = 10;
  EXPECT_NO_THROW(decode(f, "p.jpg", l));
  l.max_jpeg_scans = 3;
  EXPECT_MM_ERROR(decode(f, "p.jpg", l), "p.jpg: ", "more than 3 scans");
}

TEST(ImageDecodeJpeg, DecompressionBombIsRefusedBeforeAllocation) {
  std::string f = encode_jpeg(16, 16, 3, JCS_RGB, smooth_pixels(16, 16, 3, 37), false);
  const std::size_t sof = f.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  // SOF0: FF C0, length (2), precision (1), height (2), width (2)
  f[sof + 5] = f[sof + 7] = static_cast<char>(0xFD);
  f[sof + 6] = f[sof + 8] = static_cast<char>(0xE8);  // 65000 x 65000
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_MM_ERROR(decode(f, "bomb.jpg"), "bomb.jpg: ", "65000 x 65000 = 4225000000 pixels", "refused before decoding");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

// --- Files ------------------------------------------------------------------------------------------

TEST(ImageDecodeFile, DetectsByContentNotExtension) {
  TempDir d;
  const std::string png = d.file("really-a-png.jpg");
  write_bytes(png, small_png());
  EXPECT_EQ(decode_image_file(png).mode, Mode::RGB);
  const std::string jpg = d.file("really-a-jpeg.png");
  write_bytes(jpg, encode_jpeg(8, 8, 1, JCS_GRAYSCALE, smooth_pixels(8, 8, 1, 1), false));
  EXPECT_EQ(decode_image_file(jpg).mode, Mode::L);
}

TEST(ImageDecodeFile, NeverModifiesTheInput) {
  TempDir d;
  const std::string p = d.file("in.png");
  const std::string bytes = small_png(true, true);
  write_bytes(p, bytes);
  struct stat before{};
  ASSERT_EQ(::stat(p.c_str(), &before), 0);
  ASSERT_NO_THROW(decode_image_file(p));
  std::string cut = bytes.substr(0, bytes.size() / 2);
  const std::string q = d.file("cut.png");
  write_bytes(q, cut);
  EXPECT_ANY_THROW(decode_image_file(q));
  struct stat after{};
  ASSERT_EQ(::stat(p.c_str(), &after), 0);
  EXPECT_EQ(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  EXPECT_EQ(before.st_size, after.st_size);
  std::FILE* fp = std::fopen(p.c_str(), "rb");
  ASSERT_NE(fp, nullptr);
  std::string now(bytes.size() + 1, '\0');
  now.resize(std::fread(now.data(), 1, now.size(), fp));
  std::fclose(fp);
  EXPECT_EQ(now, bytes);
}

TEST(ImageDecodeFile, DirectoryMissingAndFifoAreRefusedByName) {
  TempDir d;
  const std::string dir = d.path.string(), dir_msg = dir + ": image file is a directory";
  EXPECT_MM_ERROR(decode_image_file(dir), dir_msg.c_str(), "expected a regular file");
  EXPECT_MM_ERROR(decode_image_file(d.file("nope.png")), "nope.png", "no such file");
  const std::string fifo = d.file("pipe.png");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_MM_ERROR(decode_image_file(fifo), "pipe.png", "FIFO");  // must not wait for a writer
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  const std::string empty = d.file("empty.png");
  write_bytes(empty, "");
  EXPECT_MM_ERROR(decode_image_file(empty), "empty.png: empty file");
}

TEST(ImageDecodeJpeg, RgbColourspaceSubsamplingArithmeticAndRestarts) {
  const int w = 40, h = 24;
  const auto px = smooth_pixels(w, h, 3, 38);
  JpegOptions variants[4];
  variants[0].rgb_colorspace = true;
  variants[1].no_subsampling = true;
  variants[2].arithmetic = true;
  variants[3].restart_rows = 1;
  for (const auto& o : variants) {
    const Image im = decode(encode_jpeg(w, h, 3, JCS_RGB, px, false, 95, o), "v.jpg");
    EXPECT_EQ(im.mode, Mode::RGB);
    expect_close(im, px, 4.0, 40);
  }
}

// --- Fuzz seeds -----------------------------------------------------------------------------------

// Not a test: with MM_WRITE_IMAGE_SEEDS=DIR, writes the seed corpus of fuzz target image_decode
// (fuzz/make-seeds.sh runs it): small files of every PNG colour type and depth, interlaced, with
// tRNS and text, and JPEGs of every kind above, all made by libpng / libjpeg themselves.
TEST(ImageDecodeSeeds, Write) {
  const char* dir = std::getenv("MM_WRITE_IMAGE_SEEDS");
  if (!dir) GTEST_SKIP() << "set MM_WRITE_IMAGE_SEEDS=DIR to write the fuzz seeds";
  auto out = [&](const std::string& name, const std::string& bytes) { write_bytes(std::string(dir) + "/" + name, bytes); };
  uint32_t seed = 1000;
  const PngCase cases[] = {
      {PNG_COLOR_TYPE_GRAY, 1, Mode::Bit1},      {PNG_COLOR_TYPE_GRAY, 2, Mode::L},
      {PNG_COLOR_TYPE_GRAY, 4, Mode::L},         {PNG_COLOR_TYPE_GRAY, 8, Mode::L},
      {PNG_COLOR_TYPE_GRAY, 16, Mode::L},        {PNG_COLOR_TYPE_GRAY_ALPHA, 8, Mode::LA},
      {PNG_COLOR_TYPE_GRAY_ALPHA, 16, Mode::LA}, {PNG_COLOR_TYPE_RGB, 8, Mode::RGB},
      {PNG_COLOR_TYPE_RGB, 16, Mode::RGB},       {PNG_COLOR_TYPE_RGB_ALPHA, 8, Mode::RGBA},
      {PNG_COLOR_TYPE_RGB_ALPHA, 16, Mode::RGBA},
  };
  for (const auto& c : cases) {
    PngSpec s;
    s.width = 5;
    s.height = 3;
    s.color_type = c.color_type;
    s.bit_depth = c.bit_depth;
    const std::string name = "png-ct" + std::to_string(c.color_type) + "-" + std::to_string(c.bit_depth) + "bit";
    const auto v = random_samples(15u * png_channels(c.color_type), (1 << c.bit_depth) - 1, seed++);
    out(name + ".png", encode_png(s, v));
    if (c.bit_depth == 8 && c.color_type != PNG_COLOR_TYPE_GRAY_ALPHA) {
      s.interlace = true;
      s.width = 9;
      s.height = 9;
      out(name + "-adam7.png", encode_png(s, random_samples(81u * png_channels(c.color_type), 255, seed++)));
    }
  }
  for (int bd : {1, 2, 4, 8}) {
    PngSpec s;
    s.width = 6;
    s.height = 4;
    s.color_type = PNG_COLOR_TYPE_PALETTE;
    s.bit_depth = bd;
    s.interlace = bd == 4;
    for (int i = 0; i < std::min(1 << bd, 5); ++i) s.palette.push_back({png_byte(40 * i), png_byte(255 - 40 * i), 7});
    s.trns_alpha = {0, 128};
    out("png-palette-" + std::to_string(bd) + "bit" + (s.interlace ? "-adam7" : "") + ".png",
        encode_png(s, random_samples(24, (1 << bd) - 1, seed++)));
  }
  PngSpec t;
  t.width = 4;
  t.height = 4;
  t.color_type = PNG_COLOR_TYPE_RGB;
  t.text = true;
  t.trns_color = true;
  out("png-rgb-text-trns.png", encode_png(t, random_samples(48, 255, seed++)));

  const auto rgb = smooth_pixels(17, 9, 3, seed++);
  const auto gray = smooth_pixels(17, 9, 1, seed++);
  out("jpeg-baseline-420.jpg", encode_jpeg(17, 9, 3, JCS_RGB, rgb, false, 75));
  out("jpeg-progressive-420.jpg", encode_jpeg(17, 9, 3, JCS_RGB, rgb, true, 75));
  out("jpeg-gray.jpg", encode_jpeg(17, 9, 1, JCS_GRAYSCALE, gray, false, 75));
  out("jpeg-gray-progressive.jpg", encode_jpeg(17, 9, 1, JCS_GRAYSCALE, gray, true, 75));
  out("jpeg-cmyk.jpg", encode_jpeg(8, 8, 4, JCS_CMYK, smooth_pixels(8, 8, 4, seed++), false, 75));
  JpegOptions o;
  o.rgb_colorspace = true;
  out("jpeg-adobe-rgb.jpg", encode_jpeg(17, 9, 3, JCS_RGB, rgb, false, 75, o));
  o = {};
  o.no_subsampling = true;
  o.restart_rows = 1;
  out("jpeg-444-restarts.jpg", encode_jpeg(17, 9, 3, JCS_RGB, rgb, false, 75, o));
  o = {};
  o.arithmetic = true;
  out("jpeg-arithmetic-progressive.jpg", encode_jpeg(17, 9, 3, JCS_RGB, rgb, true, 75, o));
}

}  // namespace
}  // namespace mm::image
