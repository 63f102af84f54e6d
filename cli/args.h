// Minimal `--flag value` parser for the minimax01 subcommands; unknown flags are errors.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace mm::cli {

class Args {
 public:
  // argv after the subcommand; `flags` are the accepted --names (without dashes), `switches` take no value.
  Args(const std::string& cmd, const std::vector<std::string>& argv, const std::set<std::string>& flags,
       const std::set<std::string>& switches = {});
  bool has(const std::string& k) const { return v_.count(k) > 0; }
  std::string str(const std::string& k, const std::string& def) const;
  std::string required(const std::string& k) const;
  int64_t integer(const std::string& k, int64_t def) const;
  double number(const std::string& k, double def) const;
  // "1,2,3" -> {1,2,3}; empty string -> {}
  std::vector<int64_t> int_list(const std::string& k) const;

 private:
  std::string cmd_;
  std::map<std::string, std::string> v_;
};

}  // namespace mm::cli
