// PNG (libpng 1.6) and JPEG (libjpeg-turbo) decoding into Pillow's modes; core/image_decode.h says
// which file gives which mode and why.
//
// Both libraries report a fatal error by longjmp. The rule here: every libpng / libjpeg call that may
// fail runs inside a small C-style function ("phase") that calls setjmp first and holds no C++ object
// with a destructor, so the longjmp skips no destructor. On an error the library's message is copied
// into a fixed char buffer of the state struct, the phase returns false, and the C++ caller throws an
// mm::Error once it is back in ordinary code. The libpng / libjpeg objects are owned by RAII guards in
// the caller's frame (which no longjmp crosses), and every buffer the decoder writes (the pixels, the
// row pointers) is allocated there too, after the size checks, and handed to the phase as a pointer.
#include "core/image_decode.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

#include <png.h>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <jerror.h>

#include "core/error.h"
#include "core/file_io.h"

namespace mm::image {

namespace {

constexpr std::size_t kMsgLen = 512;
const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

std::string hex_bytes(const uint8_t* data, std::size_t size, std::size_t n) {
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < size && i < n; ++i) {
    std::snprintf(b, sizeof b, "%s%02x", i ? " " : "", data[i]);
    s += b;
  }
  return s;
}

bool starts_with(const uint8_t* data, std::size_t size, const char* magic, std::size_t n, std::size_t at = 0) {
  return size >= at + n && std::memcmp(data + at, magic, n) == 0;
}

// The formats people are likely to hand us by mistake, named in the refusal.
const char* known_other_format(const uint8_t* d, std::size_t n) {
  if (starts_with(d, n, "GIF8", 4)) return "GIF";
  if (starts_with(d, n, "BM", 2)) return "BMP";
  if (starts_with(d, n, "RIFF", 4) && starts_with(d, n, "WEBP", 4, 8)) return "WebP";
  if (starts_with(d, n, "II*\0", 4) || starts_with(d, n, "MM\0*", 4)) return "TIFF";
  if (starts_with(d, n, "ftyp", 4, 4)) return "HEIF/AVIF (ISO media)";
  if (starts_with(d, n, "\xff\x0a", 2) || starts_with(d, n, "\0\0\0\x0cJXL ", 8)) return "JPEG XL";
  if (starts_with(d, n, "\0\0\0\x0cjP  ", 8) || starts_with(d, n, "\xff\x4f\xff\x51", 4)) return "JPEG 2000";
  if (starts_with(d, n, "8BPS", 4)) return "Photoshop (PSD)";
  if (starts_with(d, n, "\0\0\1\0", 4)) return "ICO";
  if (starts_with(d, n, "qoif", 4)) return "QOI";
  if (starts_with(d, n, "<svg", 4) || starts_with(d, n, "<?xml", 5)) return "SVG/XML";
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7') return "PNM";
  return nullptr;
}

[[noreturn]] void fail(const std::string& name, const std::string& what) { throw Error(name + ": " + what); }

// Refused from the header, before any pixel buffer exists (the decoders allocate nothing image-sized
// before we call the phase that does).
void check_pixel_count(uint64_t w, uint64_t h, const std::string& name, const DecodeLimits& limits) {
  if (w == 0 || h == 0)
    fail(name, "image size " + std::to_string(w) + " x " + std::to_string(h) + "; expected a positive width and height");
  const uint64_t n = w * h;  // both < 2^31: no overflow
  if (n > limits.max_pixels)
    fail(name, std::to_string(w) + " x " + std::to_string(h) + " = " + std::to_string(n) +
                   " pixels exceeds the limit of " + std::to_string(limits.max_pixels) +
                   (limits.max_pixels == DecodeLimits{}.max_pixels ? " (Pillow's MAX_IMAGE_PIXELS)" : "") +
                   "; refused before decoding");
}

// The pixel buffer, once the size passed check_pixel_count (w, h < 2^31, so the byte count w x h x 4 <
// 2^64 cannot overflow). A caller's raised max_pixels may still ask for more than the machine has: that
// is a refusal too, not a std::bad_alloc escaping.
Image allocate_image(uint64_t w, uint64_t h, Mode mode, const std::string& name) {
  try {
    return make_image(static_cast<int>(w), static_cast<int>(h), mode);
  } catch (const std::bad_alloc&) {
    fail(name, "cannot allocate " + std::to_string(w * h * channels(mode)) + " bytes for a " + std::to_string(w) +
                   " x " + std::to_string(h) + " " + mode_name(mode) + " image");
  } catch (const std::length_error&) {
    fail(name, "a " + std::to_string(w) + " x " + std::to_string(h) + " " + mode_name(mode) +
                   " image is too large to hold in memory");
  }
}

// ============================================ PNG ==================================================

struct PngState {
  const uint8_t* data = nullptr;
  std::size_t size = 0;
  std::size_t pos = 0;
  bool hit_eof = false;      // the error came from reading past the end: a truncated file
  char msg[kMsgLen] = "";    // libpng's error message
  char warning[kMsgLen] = "";  // its last warning (png_check_IHDR explains "Invalid IHDR data" only by warnings)
};

void png_error_cb(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(st->msg, sizeof st->msg, "%s", msg ? msg : "(no message)");
  png_longjmp(png, 1);
}

// libpng warnings are not failures (a benign error, an sRGB profile note, extra data after the image):
// kept only to explain a following error.
void png_warning_cb(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(st->warning, sizeof st->warning, "%s", msg ? msg : "");
}

void png_read_cb(png_structp png, png_bytep out, png_size_t n) {
  auto* st = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > st->size - st->pos) {
    st->hit_eof = true;
    char what[128];
    std::snprintf(what, sizeof what, "the file ends at byte %zu, %zu bytes short of what libpng reads next", st->size,
                  n - (st->size - st->pos));
    png_error(png, what);
  }
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

struct PngHeader {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
};

// Phase 1: the signature and every chunk up to the first IDAT (IHDR, PLTE, tRNS; the rest skipped
// with their CRCs checked).
bool png_phase_header(png_structp png, png_infop info, PngHeader* h) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  png_get_IHDR(png, info, &h->width, &h->height, &h->bit_depth, &h->color_type, &h->interlace, nullptr, nullptr);
  return true;
}

// Phase 2: the transforms that give Pillow's raw layout; `rowbytes` / `channels` are libpng's after them.
bool png_phase_transforms(png_structp png, png_infop info, int bit_depth, std::size_t* rowbytes, int* channels,
                          int* passes) {
  if (setjmp(png_jmpbuf(png))) return false;
  if (bit_depth < 8) png_set_packing(png);  // one byte per pixel: the gray value or the palette index
  if (bit_depth == 16) png_set_strip_16(png);  // keeps the high byte (Pillow's ";16B" raw modes)
  *passes = png_set_interlace_handling(png);  // Adam7: 7 passes, each row read into the full row
  png_read_update_info(png, info);
  *rowbytes = png_get_rowbytes(png, info);
  *channels = png_get_channels(png, info);
  return true;
}

// Phase 3: the image data, into the caller's pixel buffer (`height` rows of `row_bytes`), row by row
// and pass by pass: no array of row pointers, which for a 1 x 89M image would cost 700 MB by itself.
bool png_phase_rows(png_structp png, uint8_t* pixels, std::size_t row_bytes, png_uint_32 height, int passes) {
  if (setjmp(png_jmpbuf(png))) return false;
  for (int pass = 0; pass < passes; ++pass)
    for (png_uint_32 y = 0; y < height; ++y) png_read_row(png, pixels + static_cast<std::size_t>(y) * row_bytes, nullptr);
  return true;
}

// Owns the libpng read and info structs.
struct PngGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngGuard() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

[[noreturn]] void png_fail(const PngState& st, const std::string& name) {
  std::string detail = st.msg;
  if (st.warning[0] && std::strcmp(st.warning, st.msg) != 0) detail += "; after the warning: " + std::string(st.warning);
  if (st.hit_eof) fail(name, "truncated PNG (libpng: " + detail + "); expected the rest of the image data");
  if (std::strstr(st.msg, "CRC error"))
    fail(name, "corrupt PNG: a chunk's CRC does not match its content (libpng: " + detail +
                   "); expected an intact file");
  fail(name, "corrupt PNG (libpng: " + detail + ")");
}

// The PLTE chunk's entries as the file has them (at most 256). libpng truncates a palette longer than
// the bit depth can index (a 4-bit image's 20 entries to 16); Pillow keeps them all in the image's
// palette. Only called after libpng accepted every chunk up to the first IDAT, but still bounds-checked.
void copy_file_palette(const uint8_t* d, std::size_t n, Image& im) {
  std::size_t p = 8;
  while (p + 12 <= n) {
    const uint32_t len = (uint32_t{d[p]} << 24) | (uint32_t{d[p + 1]} << 16) | (uint32_t{d[p + 2]} << 8) | d[p + 3];
    if (len > n - p - 12) return;
    if (std::memcmp(d + p + 4, "IDAT", 4) == 0) return;
    if (std::memcmp(d + p + 4, "PLTE", 4) == 0) {
      const std::size_t entries = std::min<std::size_t>(len / 3, 256);
      std::memcpy(im.palette.data(), d + p + 8, entries * 3);
      return;
    }
    p += 12 + len;
  }
}

Image decode_png(const uint8_t* data, std::size_t size, const std::string& name, const DecodeLimits& limits) {
  PngState st;
  st.data = data;
  st.size = size;
  PngGuard g;
  g.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_error_cb, png_warning_cb);
  if (!g.png) fail(name, "cannot create a libpng reader (out of memory)");
  g.info = png_create_info_struct(g.png);
  if (!g.info) fail(name, "cannot create a libpng info struct (out of memory)");
  png_set_read_fn(g.png, &st, png_read_cb);
  // libpng refuses widths or heights over 1,000,000 by default; the pixel count below is the limit
  // that matters (a 2,000,000 x 10 strip is fine), so lift it to the format's own 2^31 - 1.
  png_set_user_limits(g.png, 0x7fffffffU, 0x7fffffffU);
  // A CRC mismatch is an error in every chunk libpng reads. Pillow checks the CRC of each chunk before
  // the image data and refuses the file ("broken PNG file"); it does not check IDAT's, where we are
  // stricter (docs/robustness.md).
  png_set_crc_action(g.png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  // Ancillary chunks other than tRNS are skipped unread (their CRCs still checked): nothing in them
  // changes what Pillow's image holds (no gamma, colour profile or text is applied), and skipping them
  // keeps the compressed ones (iCCP, zTXt, iTXt) from being inflated at all.
  png_set_keep_unknown_chunks(g.png, PNG_HANDLE_CHUNK_NEVER, nullptr, -1);

  PngHeader h;
  if (!png_phase_header(g.png, g.info, &h)) png_fail(st, name);
  check_pixel_count(h.width, h.height, name, limits);

  Mode mode;
  switch (h.color_type) {
    case PNG_COLOR_TYPE_GRAY:
      if (h.bit_depth == 16)
        fail(name, "16-bit grayscale PNG decodes to Pillow mode I;16, which this project does not support "
                   "(Pillow converts I;16 to RGB by clipping at 255); expected 1, 2, 4 or 8-bit grayscale");
      mode = h.bit_depth == 1 ? Mode::Bit1 : Mode::L;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: mode = Mode::LA; break;
    case PNG_COLOR_TYPE_PALETTE: mode = Mode::P; break;
    case PNG_COLOR_TYPE_RGB: mode = Mode::RGB; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: mode = Mode::RGBA; break;
    default: fail(name, "corrupt PNG: colour type " + std::to_string(h.color_type));  // png_read_info refuses it first
  }

  std::size_t rowbytes = 0;
  int ch = 0, passes = 1;
  if (!png_phase_transforms(g.png, g.info, h.bit_depth, &rowbytes, &ch, &passes)) png_fail(st, name);
  // libpng's layout after the transforms must be exactly ours, one byte per channel, no padding.
  if (ch != channels(mode) || rowbytes != static_cast<std::size_t>(h.width) * static_cast<std::size_t>(ch))
    fail(name, "unexpected PNG row layout from libpng (" + std::to_string(rowbytes) + " bytes, " +
                   std::to_string(ch) + " channels per row of " + std::to_string(h.width) + " pixels)");

  Image im = allocate_image(h.width, h.height, mode, name);
  if (mode == Mode::P) im.palette.fill(0);  // Pillow shows an index past the file's PLTE as black
  if (!png_phase_rows(g.png, im.pixels.data(), im.row_bytes(), h.height, passes)) png_fail(st, name);

  if (mode == Mode::P) {
    png_colorp plte = nullptr;
    int num = 0;
    if (png_get_PLTE(g.png, g.info, &plte, &num) == PNG_INFO_PLTE) {
      for (int i = 0; i < num && i < 256; ++i) {
        im.palette[static_cast<std::size_t>(i) * 3 + 0] = plte[i].red;
        im.palette[static_cast<std::size_t>(i) * 3 + 1] = plte[i].green;
        im.palette[static_cast<std::size_t>(i) * 3 + 2] = plte[i].blue;
      }
    }
    copy_file_palette(data, size, im);
  } else if (mode == Mode::Bit1 || (mode == Mode::L && h.bit_depth < 8)) {
    // png_set_packing gives the 1/2/4-bit values as they are; Pillow's "1" holds 0 / 255 and its L;2 / L;4
    // unpackers scale by 0x55 / 0x11 (the bit replication png_set_expand_gray_1_2_4_to_8 does too).
    const uint8_t scale = h.bit_depth == 1 ? 255 : h.bit_depth == 2 ? 0x55 : 0x11;
    for (auto& v : im.pixels) v = static_cast<uint8_t>(v * scale);
  }
  return im;
}

// ============================================ JPEG =================================================

struct JpegError {
  jpeg_error_mgr pub;  // first: libjpeg hands us &pub as cinfo->err
  std::jmp_buf jump;
  char msg[JMSG_LENGTH_MAX + 64];
  enum Kind { kNone, kFatal, kWarning, kTooManyScans } kind;
  int max_scans;
  int warnings;  // corrupt-data warnings decoded past so far
};

// Corrupt-data warnings a file may raise before it is refused: each is a marker or segment libjpeg
// skipped or patched, so thousands of them mean garbage, not a photo from a careless encoder.
constexpr int kMaxJpegWarnings = 1000;

void jpeg_error_exit_cb(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->msg);
  e->kind = JpegError::kFatal;
  std::longjmp(e->jump, 1);
}

// Level -1 is a warning; 0 and up are trace messages, ignored. A truncated file ("Premature end of
// JPEG file": libjpeg inserts an end marker and would fill the rest with gray) is an error, as Pillow
// refuses it ("image file is truncated"). Other corrupt-data warnings (e.g. extraneous bytes before a
// marker, common in camera files) are decoded past, as Pillow does, up to kMaxJpegWarnings.
void jpeg_emit_message_cb(j_common_ptr c, int level) {
  if (level >= 0) return;
  auto* e = reinterpret_cast<JpegError*>(c->err);
  if (c->err->msg_code != JWRN_JPEG_EOF && ++e->warnings <= kMaxJpegWarnings) return;
  (*c->err->format_message)(c, e->msg);
  e->kind = JpegError::kWarning;
  std::longjmp(e->jump, 1);
}

// Called as libjpeg consumes input; input_scan_number counts the scans read so far.
void jpeg_progress_cb(j_common_ptr c) {
  if (!c->is_decompressor) return;
  auto* e = reinterpret_cast<JpegError*>(c->err);
  const int scans = reinterpret_cast<j_decompress_ptr>(c)->input_scan_number;
  if (scans > e->max_scans) {
    std::snprintf(e->msg, sizeof e->msg, "more than %d scans", e->max_scans);
    e->kind = JpegError::kTooManyScans;
    std::longjmp(e->jump, 1);
  }
}

struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegError err;
  jpeg_progress_mgr progress;
};

// Owns the decompressor; jpeg_destroy_decompress is safe on a zeroed or half-created struct.
struct JpegGuard {
  JpegState* s;
  ~JpegGuard() { jpeg_destroy_decompress(&s->cinfo); }
};

// Phase 1: create the decompressor on the memory source and read the header (up to the first SOS).
bool jpeg_phase_header(JpegState* s, const uint8_t* data, std::size_t size) {
  s->cinfo.err = jpeg_std_error(&s->err.pub);
  s->err.pub.error_exit = jpeg_error_exit_cb;
  s->err.pub.emit_message = jpeg_emit_message_cb;
  if (setjmp(s->err.jump)) return false;
  jpeg_create_decompress(&s->cinfo);
  s->progress.progress_monitor = jpeg_progress_cb;
  s->cinfo.progress = &s->progress;
  jpeg_mem_src(&s->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&s->cinfo, TRUE);
  return true;
}

// Phase 2: decode every scanline into `pixels` (rows of `row_bytes`), allocated by the caller for the
// header's size. Only the output colour space is set: Pillow keeps libjpeg's defaults (JDCT_ISLOW,
// fancy upsampling, block smoothing), and so must we for the same pixels.
bool jpeg_phase_decode(JpegState* s, J_COLOR_SPACE out, uint8_t* pixels, std::size_t row_bytes, bool* size_ok) {
  if (setjmp(s->err.jump)) return false;
  s->cinfo.out_color_space = out;
  jpeg_start_decompress(&s->cinfo);
  *size_ok = s->cinfo.output_width == s->cinfo.image_width && s->cinfo.output_height == s->cinfo.image_height &&
             static_cast<std::size_t>(s->cinfo.output_width) * static_cast<std::size_t>(s->cinfo.output_components) ==
                 row_bytes;
  if (!*size_ok) return true;
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW row = pixels + static_cast<std::size_t>(s->cinfo.output_scanline) * row_bytes;
    jpeg_read_scanlines(&s->cinfo, &row, 1);
  }
  // No jpeg_finish_decompress: it only reads on to the EOI marker, which changes no pixel. Pillow does
  // not require it either once every row is decoded.
  return true;
}

[[noreturn]] void jpeg_fail(const JpegError& e, const std::string& name, const DecodeLimits& limits) {
  switch (e.kind) {
    case JpegError::kWarning:
      // Truncation, or more corrupt-data warnings than kMaxJpegWarnings (jpeg_emit_message_cb).
      if (e.warnings > kMaxJpegWarnings)
        fail(name, "corrupt JPEG: more than " + std::to_string(kMaxJpegWarnings) + " corrupt-data warnings (the last: " +
                       std::string(e.msg) + "); expected an intact JPEG file");
      fail(name, "truncated or corrupt JPEG (libjpeg: " + std::string(e.msg) + "); expected a complete, intact JPEG file");
    case JpegError::kTooManyScans:
      fail(name, "JPEG with " + std::string(e.msg) + ", more than the limit of " + std::to_string(limits.max_jpeg_scans) +
                     " (a progressive file of many scans costs a pass over the image each; real files have about 10)");
    default: fail(name, "corrupt or unsupported JPEG (libjpeg: " + std::string(e.msg) + ")");
  }
}

Image decode_jpeg(const uint8_t* data, std::size_t size, const std::string& name, const DecodeLimits& limits) {
  // Value-initialised (all zero): a zeroed cinfo is safe to destroy even if jpeg_create_decompress never
  // ran. On the heap: the state is about 1.5 KiB, too big to sit comfortably in a frame.
  auto s = std::make_unique<JpegState>();
  s->err.max_scans = limits.max_jpeg_scans;
  JpegGuard g{s.get()};
  if (!jpeg_phase_header(s.get(), data, size)) jpeg_fail(s->err, name, limits);

  Mode mode;
  J_COLOR_SPACE out;
  switch (s->cinfo.num_components) {
    case 1: mode = Mode::L; out = JCS_GRAYSCALE; break;
    case 3: mode = Mode::RGB; out = JCS_RGB; break;
    case 4:
      fail(name, "4-component (CMYK/YCCK) JPEG decodes to Pillow mode CMYK, which this project does not support; "
                 "expected a grayscale or colour (YCbCr / RGB) JPEG");
    default:
      fail(name, "JPEG with " + std::to_string(s->cinfo.num_components) +
                     " components (Pillow cannot open it either: \"cannot handle " +
                     std::to_string(s->cinfo.num_components) + "-layer images\"); expected 1 or 3");
  }
  check_pixel_count(s->cinfo.image_width, s->cinfo.image_height, name, limits);

  Image im = allocate_image(s->cinfo.image_width, s->cinfo.image_height, mode, name);
  bool size_ok = false;
  if (!jpeg_phase_decode(s.get(), out, im.pixels.data(), im.row_bytes(), &size_ok)) jpeg_fail(s->err, name, limits);
  if (!size_ok)
    fail(name, "unexpected JPEG output size from libjpeg (" + std::to_string(s->cinfo.output_width) + " x " +
                   std::to_string(s->cinfo.output_height) + " x " + std::to_string(s->cinfo.output_components) +
                   " for a " + std::to_string(im.width) + " x " + std::to_string(im.height) + " " + mode_name(mode) +
                   " image)");
  return im;
}

}  // namespace

const char* format_name(Format f) { return f == Format::PNG ? "PNG" : "JPEG"; }

Format detect_format(const uint8_t* data, std::size_t size, const std::string& name) {
  if (size == 0) fail(name, "empty file (0 bytes); expected a PNG or JPEG image");
  if (size >= 8 && std::memcmp(data, kPngSignature, 8) == 0) return Format::PNG;
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return Format::JPEG;
  std::string what = "not a PNG or JPEG file (first bytes " + hex_bytes(data, size, 8);
  if (const char* other = known_other_format(data, size)) what += std::string(": ") + other + " is not supported";
  else if (size < 8 && starts_with(data, size, reinterpret_cast<const char*>(kPngSignature), size)) what += ": a cut-off PNG signature";
  fail(name, what + "; expected PNG or JPEG)");
}

Image decode_image_bytes(const uint8_t* data, std::size_t size, const std::string& name, const DecodeLimits& limits) {
  if (size > limits.max_file_bytes)
    fail(name, "image file is " + std::to_string(size) + " bytes, more than the limit of " +
                   std::to_string(limits.max_file_bytes) + " bytes");
  switch (detect_format(data, size, name)) {
    case Format::PNG: return decode_png(data, size, name, limits);
    case Format::JPEG: return decode_jpeg(data, size, name, limits);
  }
  fail(name, "unknown image format");
}

Image decode_image_file(const std::string& path, const DecodeLimits& limits) {
  const std::string bytes = read_regular_file(path, "image file", limits.max_file_bytes);
  return decode_image_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path, limits);
}

}  // namespace mm::image
