// Shared by every fuzz target (docs/fuzzing.md).
//
// A target feeds one input to a parser of untrusted input. mm::Error is the expected refusal of a bad
// input and is swallowed; anything else escapes as a finding: another exception type (std::terminate
// aborts), a broken invariant (MM_FUZZ_CHECK aborts with a message), or what the sanitizers report in
// the libFuzzer build (out-of-bounds access, use after free, leaks, undefined behaviour).
//
// The same sources build two ways: with libFuzzer (-fsanitize=fuzzer,address,undefined, clang, the
// standalone fuzz/ project) and as ordinary executables with replay_main.cpp (the main build; ctest
// label `fuzz`), which run the committed corpora through the target.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace mm::fuzz {

// The message of the last input's refusal (mm::Error), empty when the input was accepted.
// replay_main prints it with -v.
inline std::string& last_refusal() {
  static std::string s;
  return s;
}

// Runs `body` on one input: an mm::Error is recorded and swallowed, anything else propagates.
template <class F>
int run(F&& body) {
  last_refusal().clear();
  try {
    body();
  } catch (const mm::Error& e) {
    last_refusal() = e.what();
    if (last_refusal().empty()) last_refusal() = "(mm::Error with an empty message)";
  }
  return 0;
}

[[noreturn]] inline void broken(const char* file, int line, const char* cond, const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s%s%s\n", file, line, cond, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

inline std::string_view as_text(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace mm::fuzz

// An invariant of an accepted input (the parser's documented contract). Broken = a finding.
#define MM_FUZZ_CHECK(cond, detail)                                      \
  do {                                                                   \
    if (!(cond)) ::mm::fuzz::broken(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// Runs `expr` that the contract says must not refuse an accepted input; an mm::Error there is a finding.
#define MM_FUZZ_MUST_ACCEPT(label, ...)                                    \
  do {                                                                    \
    try {                                                                 \
      __VA_ARGS__;                                                        \
    } catch (const ::mm::Error& e_) {                                     \
      ::mm::fuzz::broken(__FILE__, __LINE__, label, e_.what());            \
    }                                                                     \
  } while (0)
