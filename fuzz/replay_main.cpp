// Replays inputs through a fuzz target without libFuzzer: the ordinary build's regression test of the
// committed corpora (ctest label `fuzz`).
//
//   <target>_replay [-v] [--if-exists] PATH...
//
// A PATH is a file or a directory (its regular files, sorted; names starting with '.' skipped).
// After --if-exists, a PATH that does not exist is skipped instead of being an error (a regression
// corpus that has no entries yet). -v prints each input and whether it was accepted or refused (the
// mm::Error message). Exits 0 when every input ran; a finding aborts (the crashing file is named on
// stderr), and an exception other than mm::Error is reported with the file and exits 1. Running no
// input at all is an error (a wrong corpus path must not pass silently).
#include <algorithm>
#include <csignal>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "fuzz/fuzz_target.h"

namespace fs = std::filesystem;

namespace {

char g_current[4096] = "";

void on_fatal_signal(int sig) {
  const char* msg = "replay: crashed on input ";
  [[maybe_unused]] auto r1 = ::write(2, msg, std::strlen(msg));
  [[maybe_unused]] auto r2 = ::write(2, g_current, std::strlen(g_current));
  [[maybe_unused]] auto r3 = ::write(2, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !f.bad();
}

}  // namespace

int main(int argc, char** argv) {
  bool verbose = false, if_exists = false;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-v") { verbose = true; continue; }
    if (a == "--if-exists") { if_exists = true; continue; }
    std::error_code ec;
    const auto st = fs::status(a, ec);
    if (!fs::exists(st)) {
      if (if_exists) continue;
      std::cerr << "replay: " << a << ": no such file or directory\n";
      return 2;
    }
    if (fs::is_directory(st)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(a))
        if (e.is_regular_file() && e.path().filename().string().rfind('.', 0) != 0) in_dir.push_back(e.path());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.emplace_back(a);
    }
  }
  if (files.empty()) {
    std::cerr << "replay: no input files (usage: " << argv[0] << " [-v] [--if-exists] FILE_OR_DIR...)\n";
    return 2;
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);
  std::size_t accepted = 0, refused = 0;
  std::string data;
  for (const auto& p : files) {
    if (!read_file(p, data)) {
      std::cerr << "replay: cannot read " << p.string() << "\n";
      return 2;
    }
    std::snprintf(g_current, sizeof g_current, "%s", p.c_str());
    try {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    } catch (const std::exception& e) {
      std::cerr << "replay: " << p.string() << ": FINDING: exception other than mm::Error escaped: " << e.what()
                << "\n";
      return 1;
    } catch (...) {
      std::cerr << "replay: " << p.string() << ": FINDING: a non-std exception escaped\n";
      return 1;
    }
    const std::string& why = mm::fuzz::last_refusal();
    (why.empty() ? accepted : refused)++;
    if (verbose)
      std::cout << p.string() << " (" << data.size() << " bytes): " << (why.empty() ? "accepted" : "refused: " + why)
                << "\n";
  }
  std::cout << "replay: " << files.size() << " inputs ran (" << accepted << " accepted, " << refused
            << " refused with mm::Error), no finding\n";
  return 0;
}
