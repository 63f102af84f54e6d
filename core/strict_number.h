// Strict number parsing for options and specs (one implementation for the CLI and the harness): the
// whole text must be the number, in plain decimal. Refused: an empty text, a leading '+', leading or
// trailing spaces, hex ("0x10", "0x1p-3"), trailing characters, and values beyond the target type.
// Floating point: std::from_chars' general format (digits, '.', exponent; "nan" and "inf" are parsed,
// so callers check finiteness).
#pragma once
#include <charconv>
#include <cstddef>
#include <string_view>
#include <system_error>

namespace mm {

enum class NumParse { Ok, Bad, OutOfRange };

// Decimal integer, all of s: an optional '-' then digits (no '+', spaces, hex or exponent).
template <class I>
NumParse parse_decimal_int(std::string_view s, I& v) {
  if (s.empty()) return NumParse::Bad;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (r.ec == std::errc::result_out_of_range) return NumParse::OutOfRange;
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return NumParse::Bad;
  return NumParse::Ok;
}

// The longest decimal floating-point number at the start of s (an optional '-', no '+', spaces or hex);
// `used` is set to its length (0 when there is none). OutOfRange: beyond the range of a double (1e400).
inline NumParse parse_decimal_prefix(std::string_view s, double& v, std::size_t& used) {
  used = 0;
  if (s.empty()) return NumParse::Bad;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (r.ec == std::errc::invalid_argument) return NumParse::Bad;
  used = static_cast<std::size_t>(r.ptr - s.data());
  if (r.ec == std::errc::result_out_of_range) return NumParse::OutOfRange;
  if (r.ec != std::errc()) return NumParse::Bad;
  return NumParse::Ok;
}

// A decimal floating-point number, all of s.
inline NumParse parse_decimal(std::string_view s, double& v) {
  std::size_t used = 0;
  const NumParse p = parse_decimal_prefix(s, v, used);
  if (p == NumParse::Ok && used != s.size()) return NumParse::Bad;
  if (p == NumParse::OutOfRange && used != s.size()) return NumParse::Bad;
  return p;
}

}  // namespace mm
