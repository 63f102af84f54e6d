// One exception type for every user-facing failure (bad file, bad config, bad input).
// The message always names the file, tensor or field and what was expected.
#pragma once
#include <stdexcept>
#include <string>

namespace mm {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A command line the tool cannot take: an unknown, repeated or malformed option, a missing argument,
// options that exclude each other. The command-line tool exits 2 for it (3 for every other Error).
struct UsageError : Error {
  using Error::Error;
};

// Throws mm::Error(msg) when cond is false. Use for validation, not for internal invariants.
inline void require(bool cond, const std::string& msg) {
  if (!cond) throw Error(msg);
}

}  // namespace mm
