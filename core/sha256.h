// SHA-256 (FIPS 180-4) of a byte string or a file, as lowercase hex. Used to check that golden files
// on disk are the ones their manifest describes.
#pragma once
#include <string>
#include <string_view>

namespace mm {

std::string sha256_hex(std::string_view data);
std::string sha256_file(const std::string& path);  // throws mm::Error if the file cannot be read

}  // namespace mm
