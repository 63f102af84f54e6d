// Reading fields of a config-like JSON document strictly, with one spelling of every error: the file,
// the field and what was wrong ("config.json: field 'hidden_size' must be an integer, got 1.5"). Shared
// by the text config (core/config.cpp) and the MiniMax-VL-01 config (core/vl_config.cpp).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace mm::json_fields {

// "<source>: field '<field>'", the start of every message.
std::string where(const std::string& source, const std::string& field);
// The key is present and not null.
bool has(const nlohmann::json& j, const char* key);
// A double as the shortest text that reads back to it (%.17g).
std::string num_str(double d);
// An integer value: JSON numbers arrive as int64, uint64 or double. A uint64 above INT64_MAX, a
// non-finite double (only possible for a json built in memory: the parser refuses 1e400) or one beyond
// 2^62 is out of range; a double with a fraction is not an integer (1024.0 is 1024).
int64_t integer(const nlohmann::json& v, const std::string& source, const std::string& field);

}  // namespace mm::json_fields
