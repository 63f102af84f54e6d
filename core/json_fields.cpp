// Strict reading of config fields (core/json_fields.h).
#include "core/json_fields.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace mm::json_fields {

std::string where(const std::string& source, const std::string& field) { return source + ": field '" + field + "'"; }

bool has(const nlohmann::json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

std::string num_str(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

int64_t integer(const nlohmann::json& v, const std::string& source, const std::string& field) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) throw Error(where(source, field) + " is out of range, got " + v.dump());
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw Error(where(source, field) + " must be a finite integer, got " + num_str(d));
    if (std::floor(d) != d) throw Error(where(source, field) + " must be an integer, got " + v.dump());
    if (std::abs(d) > 4611686018427387904.0) throw Error(where(source, field) + " is out of range, got " + v.dump());
    return static_cast<int64_t>(d);
  }
  throw Error(where(source, field) + " must be an integer, got " + v.dump());
}

}  // namespace mm::json_fields
