// Helpers shared by the core tests: temp directories and raw file writing for corrupt-input cases.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace mm::test {

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = std::filesystem::temp_directory_path() /
           ("mm_" + std::string(info ? info->name() : "t") + "_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::error_code ec; std::filesystem::remove_all(path, ec); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file with the given header JSON text and `data_bytes` bytes of data.
inline std::string safetensors_bytes(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i));
  return out + header + std::string(data_bytes, '\x01');
}

// Expects `stmt` to throw mm::Error whose message contains every given fragment.
#define EXPECT_MM_ERROR(stmt, ...)                                                        \
  do {                                                                                    \
    try {                                                                                 \
      stmt;                                                                               \
      ADD_FAILURE() << "expected mm::Error from " #stmt;                                  \
    } catch (const mm::Error& e) {                                                        \
      for (const char* frag : {__VA_ARGS__})                                              \
        EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)                    \
            << "message '" << e.what() << "' lacks '" << frag << "'";                     \
    }                                                                                     \
  } while (0)

}  // namespace mm::test
