// A backend's precision class: which NMSE ceiling check applies (core/acceptance.h), which GEMM peak is
// its roof (dgemm for f64, sgemm otherwise), and whether teacher forcing rounds to bf16.
#pragma once
#include <cstdint>

namespace mm::harness {

enum class Precision : uint8_t { F64, F32, BF16 };

// "f64", "f32", "bf16": the spelling reports use.
inline const char* to_string(Precision p) {
  switch (p) {
    case Precision::F64: return "f64";
    case Precision::F32: return "f32";
    case Precision::BF16: return "bf16";
  }
  return "?";
}

}  // namespace mm::harness
