// Checked int64 arithmetic for parameter counts and memory plans: throws instead of wrapping (signed
// overflow is undefined behaviour). `what` names the config in the error.
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"

namespace mm {

struct CheckedInt {
  std::string what;  // "<config source>: the parameter count"
  int64_t mul(int64_t a, int64_t b) const {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) overflow();
    return r;
  }
  template <class... R>
  int64_t mul(int64_t a, int64_t b, R... rest) const { return mul(mul(a, b), rest...); }
  int64_t add(int64_t a, int64_t b) const {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) overflow();
    return r;
  }
  template <class... R>
  int64_t add(int64_t a, int64_t b, R... rest) const { return add(add(a, b), rest...); }
  [[noreturn]] void overflow() const {
    throw Error(what + " overflows a 64-bit integer; the config is outside the limits of "
                       "docs/semantics/config-limits.md");
  }
};

}  // namespace mm
