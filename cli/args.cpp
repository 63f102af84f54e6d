#include "cli/args.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/file_io.h"
#include "core/strict_number.h"

namespace mm::cli {
namespace {

// The value as quoted in an error: long values (a pasted token list) are cut, and bytes that are not
// printable ASCII (a NUL or a binary byte in a token file, an escape sequence) are shown escaped as \xNN,
// never echoed raw to the terminal.
std::string shown(std::string_view s) {
  const bool cut = s.size() > 48;
  std::string out = "'";
  for (const char ch : cut ? s.substr(0, 40) : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += cut ? "...' (" + std::to_string(s.size()) + " bytes)" : "'";
  return out;
}

std::string fmt_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

using Parse = NumParse;  // core/strict_number.h: the strict parsers, shared with the harness

// One comma-separated list: calls item(element, 1-based index) for each element; an empty element is
// an error naming `what` and the index.
template <class F>
void split_list(const std::string& what, const std::string& s, F&& item) {
  std::size_t start = 0, index = 1;
  while (true) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    const std::string_view e(s.data() + start, end - start);
    if (e.empty())
      throw UsageError(what + ": element " + std::to_string(index) + " is empty (in " + shown(s) +
                  "; expected comma-separated values with no empty element)");
    item(e, index);
    if (end == s.size()) break;
    start = end + 1;
    ++index;
  }
}

}  // namespace

Args::Args(const std::string& cmd, const std::vector<std::string>& argv, const std::set<std::string>& flags,
           const std::set<std::string>& switches)
    : cmd_(cmd) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0) throw UsageError(cmd + ": unexpected argument '" + a + "' (see --help)");
    std::string k = a.substr(2), val;
    const auto eq = k.find('=');
    if (eq != std::string::npos) { val = k.substr(eq + 1); k = k.substr(0, eq); }
    // Given twice, which one is meant? (A script that appends an option must not silently override.)
    if (v_.count(k)) throw UsageError(cmd + ": option '--" + k + "' is given more than once");
    if (switches.count(k)) {
      if (eq != std::string::npos)
        throw UsageError(cmd + ": option '--" + k + "' is a switch and takes no value, got " + shown(a) +
                    " (give --" + k + " alone to turn it on, leave it out to keep it off)");
      v_.emplace(k, "1");  // k is new (repeats refused above)
      continue;
    }
    if (!flags.count(k)) throw UsageError(cmd + ": unknown option '--" + k + "' (see --help)");
    if (eq == std::string::npos) {
      if (i + 1 >= argv.size()) throw UsageError(cmd + ": option '--" + k + "' needs a value");
      val = argv[++i];
    }
    // No option has a meaning for an empty value: `--model ""` must not fall back to the default.
    if (val.empty())
      throw UsageError(cmd + ": option '--" + k + "' is empty (give it a value, or leave the option out for its default)");
    v_.emplace(k, std::move(val));
  }
}

std::string Args::str(const std::string& k, const std::string& def) const {
  auto it = v_.find(k);
  return it == v_.end() ? def : it->second;
}

std::string Args::required(const std::string& k) const {
  auto it = v_.find(k);
  if (it == v_.end()) throw UsageError(cmd_ + ": missing required option --" + k);
  return it->second;
}

int64_t Args::integer(const std::string& k, int64_t def, int64_t lo, int64_t hi) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  const std::string expect =
      cmd_ + ": --" + k + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got ";
  int64_t v = 0;
  switch (parse_decimal_int(s, v)) {
    case Parse::Ok: break;
    case Parse::OutOfRange: throw UsageError(expect + shown(s) + " (out of range)");
    case Parse::Bad: throw UsageError(expect + (s.empty() ? std::string("an empty value") : shown(s)));
  }
  if (v < lo || v > hi) throw UsageError(expect + shown(s));
  return v;
}

int Args::integer32(const std::string& k, int def, int lo, int hi) const {
  const int64_t v = integer(k, def, lo, hi);
  return static_cast<int>(v);  // in [lo, hi], an int range
}

uint64_t Args::seed(const std::string& k, uint64_t def) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  uint64_t v = 0;
  const Parse p = parse_decimal_int(s, v);
  if (p != Parse::Ok)
    throw UsageError(cmd_ + ": --" + k + " must be an integer in [0, 18446744073709551615], got " +
                (s.empty() ? std::string("an empty value") : shown(s)) + (p == Parse::OutOfRange ? " (out of range)" : ""));
  return v;
}

double Args::number(const std::string& k, double def, double lo, double hi, Bounds b) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  const bool lo_open = b == Bounds::OpenLow || b == Bounds::Open, hi_open = b == Bounds::OpenHigh || b == Bounds::Open;
  const std::string expect = cmd_ + ": --" + k + " must be a finite number in " + (lo_open ? "(" : "[") + fmt_num(lo) +
                             ", " + fmt_num(hi) + (hi_open ? ")" : "]") + ", got ";
  if (s.empty()) throw UsageError(expect + "an empty value");
  double v = 0;
  const Parse p = parse_decimal(s, v);
  if (p == Parse::OutOfRange) throw UsageError(expect + shown(s) + " (beyond the range of a double)");
  if (p != Parse::Ok) throw UsageError(expect + shown(s));
  if (!std::isfinite(v) || (lo_open ? !(v > lo) : !(v >= lo)) || (hi_open ? !(v < hi) : !(v <= hi)))
    throw UsageError(expect + shown(s));
  return v;
}

std::vector<int64_t> Args::int_list(const std::string& k) const {
  if (str(k, "").empty()) return {};
  return int_list(k, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
}

std::vector<int64_t> Args::int_list(const std::string& k, int64_t lo, int64_t hi) const {
  std::vector<int64_t> out;
  const std::string s = str(k, "");
  const std::string what = cmd_ + ": --" + k;
  const bool ranged = lo != std::numeric_limits<int64_t>::min() || hi != std::numeric_limits<int64_t>::max();
  if (s.empty())
    throw UsageError(what + " is empty (expected comma-separated integers" +
                (ranged ? " in [" + std::to_string(lo) + ", " + std::to_string(hi) + "])" : std::string(")")));
  split_list(what, s, [&](std::string_view e, std::size_t i) {
    int64_t v = 0;
    const Parse p = parse_decimal_int(e, v);
    if (p != Parse::Ok)
      throw UsageError(what + " expects comma-separated integers, got " + shown(e) + " at element " + std::to_string(i) +
                  (p == Parse::OutOfRange ? " (out of the int64 range)" : ""));
    if (ranged && (v < lo || v > hi))
      throw UsageError(what + ": element " + std::to_string(i) + " is " + std::to_string(v) + ", expected an integer in [" +
                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    out.push_back(v);
  });
  return out;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t comma; (comma = s.find(',', start)) != std::string::npos; start = comma + 1)
    out.push_back(s.substr(start, comma - start));
  out.push_back(s.substr(start));
  return out;
}

std::string Args::list_text(const std::string& k) const {
  const std::string s = str(k, "");
  if (s.empty()) throw UsageError(cmd_ + ": --" + k + " is empty (expected a comma-separated list)");
  split_list(cmd_ + ": --" + k, s, [](std::string_view, std::size_t) {});
  return s;
}

std::vector<int64_t> Args::tokens(const std::string& list_key, const std::string& file_key) const {
  if (has(list_key) && has(file_key))
    throw UsageError(cmd_ + ": give either --" + list_key + " or --" + file_key + ", not both");
  if (!has(file_key)) return int_list(list_key);
  const std::string path = str(file_key, "");
  if (path.empty()) throw UsageError(cmd_ + ": --" + file_key + " needs a path ('-' for standard input)");
  const std::string text = read_input_text(path, "--" + file_key, kMaxTokenFileBytes);
  return parse_token_text(text, file_source(file_key));
}

std::string Args::file_source(const std::string& file_key) const {
  const std::string path = str(file_key, "");
  return (path == "-" ? std::string("standard input") : path) + " (--" + file_key + ")";
}

void Args::check_file_token_ids(const std::string& file_key, const std::vector<int64_t>& ids, int64_t vocab_size) const {
  if (!has(file_key)) return;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab_size)
      throw Error(cmd_ + ": " + file_source(file_key) + ": element " + std::to_string(i + 1) + " is token id " +
                  std::to_string(ids[i]) + ", out of range [0, vocab_size = " + std::to_string(vocab_size) + ")");
}

void Args::require_ordered(const std::string& lo_key, int64_t lo, const std::string& hi_key, int64_t hi) const {
  if (lo > hi)
    throw UsageError(cmd_ + ": --" + lo_key + " (" + std::to_string(lo) + ") must be <= --" + hi_key + " (" +
                std::to_string(hi) + ")");
}

std::vector<int64_t> parse_token_text(std::string_view s, const std::string& source) {
  std::vector<int64_t> out;
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  const std::string expected = "; expected decimal token ids separated by whitespace and/or commas";
  std::size_t i = 0;
  const std::size_t n = s.size();
  bool comma = false;  // a comma since the last element: an element must come next
  while (true) {
    while (i < n && space(s[i])) ++i;
    if (i == n) {
      if (comma) throw Error(source + ": element " + std::to_string(out.size() + 1) + " is empty (a trailing comma)" + expected);
      break;
    }
    if (s[i] == ',') {
      if (comma || out.empty())
        throw Error(source + ": element " + std::to_string(out.size() + 1) + " is empty (" +
                    (out.empty() ? "a leading comma" : "two commas with no id between them") + ")" + expected);
      comma = true;
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < n && s[j] != ',' && !space(s[j])) ++j;
    const std::string_view e = s.substr(i, j - i);
    int64_t v = 0;
    const Parse p = parse_decimal_int(e, v);
    if (p != Parse::Ok)
      throw Error(source + ": element " + std::to_string(out.size() + 1) + " " + shown(e) +
                  (p == Parse::OutOfRange ? " is out of the int64 range" : " is not a decimal integer") + expected);
    out.push_back(v);
    comma = false;
    i = j;
  }
  return out;
}

std::string read_input_text(const std::string& path, const std::string& what, uint64_t max_bytes) {
  if (path != "-") return read_regular_file(path, what, max_bytes);
  std::string text;
  char buf[1 << 16];
  while (true) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, stdin);
    if (got) {
      if (text.size() + got > max_bytes)
        throw Error("standard input, " + what + ": more than " + std::to_string(max_bytes) + " bytes (the limit)");
      text.append(buf, got);
    }
    if (got < sizeof buf) {
      if (std::ferror(stdin)) throw Error("standard input, " + what + ": read error");
      break;
    }
  }
  return text;
}

}  // namespace mm::cli
