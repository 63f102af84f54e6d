#include "cli/args.h"

#include <sstream>

namespace mm::cli {

Args::Args(const std::string& cmd, const std::vector<std::string>& argv, const std::set<std::string>& flags,
           const std::set<std::string>& switches)
    : cmd_(cmd) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0) throw Error(cmd + ": unexpected argument '" + a + "' (see --help)");
    std::string k = a.substr(2), val;
    const auto eq = k.find('=');
    if (eq != std::string::npos) { val = k.substr(eq + 1); k = k.substr(0, eq); }
    if (switches.count(k)) { v_[k] = "1"; continue; }
    if (!flags.count(k)) throw Error(cmd + ": unknown option '--" + k + "' (see --help)");
    if (eq == std::string::npos) {
      if (i + 1 >= argv.size()) throw Error(cmd + ": option '--" + k + "' needs a value");
      val = argv[++i];
    }
    v_[k] = val;
  }
}

std::string Args::str(const std::string& k, const std::string& def) const {
  auto it = v_.find(k);
  return it == v_.end() ? def : it->second;
}

std::string Args::required(const std::string& k) const {
  auto it = v_.find(k);
  if (it == v_.end()) throw Error(cmd_ + ": missing required option --" + k);
  return it->second;
}

int64_t Args::integer(const std::string& k, int64_t def) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  std::size_t pos = 0;
  int64_t v = 0;
  try { v = std::stoll(s, &pos); } catch (...) { pos = 0; }
  if (pos != s.size() || s.empty()) throw Error(cmd_ + ": --" + k + " expects an integer, got '" + s + "'");
  return v;
}

double Args::number(const std::string& k, double def) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  std::size_t pos = 0;
  double v = 0;
  try { v = std::stod(s, &pos); } catch (...) { pos = 0; }
  if (pos != s.size() || s.empty()) throw Error(cmd_ + ": --" + k + " expects a number, got '" + s + "'");
  return v;
}

std::vector<int64_t> Args::int_list(const std::string& k) const {
  std::vector<int64_t> out;
  const std::string s = str(k, "");
  if (s.empty()) return out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t pos = 0;
    int64_t v = 0;
    try { v = std::stoll(item, &pos); } catch (...) { pos = 0; }
    if (item.empty() || pos != item.size())
      throw Error(cmd_ + ": --" + k + " expects comma-separated integers, got '" + item + "'");
    out.push_back(v);
  }
  return out;
}

}  // namespace mm::cli
