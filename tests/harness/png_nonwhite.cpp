// usage: png_nonwhite FILE.png MIN_FRACTION MIN_COLORED
// Decodes an 8-bit RGB/RGBA PNG (zlib inflate + the five scanline filters) and passes when at least
// MIN_FRACTION of the pixels are not near-white and at least MIN_COLORED pixels are saturated (chart
// bars and lines, not just text): the screenshot of the HTML report is not blank.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

static uint32_t be32(const unsigned char* p) { return (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

int main(int argc, char** argv) {
  if (argc != 4) { std::fprintf(stderr, "usage: png_nonwhite FILE MIN_FRACTION MIN_COLORED\n"); return 2; }
  std::ifstream f(argv[1], std::ios::binary);
  std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), {});
  if (b.size() < 8 || b[1] != 'P' || b[2] != 'N' || b[3] != 'G') { std::fprintf(stderr, "%s: not a PNG\n", argv[1]); return 1; }
  uint32_t w = 0, h = 0;
  int depth = 0, ctype = 0;
  std::vector<unsigned char> idat;
  for (std::size_t p = 8; p + 8 <= b.size();) {
    const uint32_t len = be32(&b[p]);
    const std::string type(reinterpret_cast<char*>(&b[p + 4]), 4);
    const unsigned char* d = &b[p + 8];
    if (type == "IHDR") w = be32(d), h = be32(d + 4), depth = d[8], ctype = d[9];
    if (type == "IDAT") idat.insert(idat.end(), d, d + len);
    p += 12 + len;
  }
  const int ch = ctype == 6 ? 4 : ctype == 2 ? 3 : 0;
  if (depth != 8 || !ch || !w || !h) { std::fprintf(stderr, "unsupported PNG (depth %d, color type %d)\n", depth, ctype); return 1; }
  const std::size_t stride = std::size_t(w) * ch;
  std::vector<unsigned char> raw((stride + 1) * h);
  uLongf n = raw.size();
  if (uncompress(raw.data(), &n, idat.data(), idat.size()) != Z_OK || n != raw.size()) { std::fprintf(stderr, "inflate failed\n"); return 1; }
  std::vector<unsigned char> img(stride * h), prev(stride, 0);
  for (uint32_t y = 0; y < h; ++y) {
    const unsigned char ft = raw[y * (stride + 1)];
    const unsigned char* in = &raw[y * (stride + 1) + 1];
    unsigned char* out = &img[y * stride];
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= std::size_t(ch) ? out[x - ch] : 0, up = prev[x], c = x >= std::size_t(ch) ? prev[x - ch] : 0;
      int v = in[x];
      if (ft == 1) v += a;
      else if (ft == 2) v += up;
      else if (ft == 3) v += (a + up) / 2;
      else if (ft == 4) {
        const int pp = a + up - c, pa = std::abs(pp - a), pb = std::abs(pp - up), pc = std::abs(pp - c);
        v += (pa <= pb && pa <= pc) ? a : pb <= pc ? up : c;
      }
      out[x] = static_cast<unsigned char>(v);
    }
    std::copy(out, out + stride, prev.begin());
  }
  std::size_t nonwhite = 0, colored = 0;
  for (std::size_t i = 0; i < std::size_t(w) * h; ++i) {
    const int r = img[i * ch], g = img[i * ch + 1], bl = img[i * ch + 2];
    if (r < 235 || g < 235 || bl < 235) ++nonwhite;
    const int mx = std::max({r, g, bl}), mn = std::min({r, g, bl});
    if (mx - mn > 80) ++colored;
  }
  const double frac = double(nonwhite) / (double(w) * h);
  std::printf("%s: %ux%u, non-white %.2f%%, saturated pixels %zu\n", argv[1], w, h, 100 * frac, colored);
  return frac >= std::atof(argv[2]) && colored >= std::strtoull(argv[3], nullptr, 10) ? 0 : 1;
}
