// One document on standard output (a JSON report with `--report -` or `--json`, the HTML page with
// `report --out -`): while a StdoutDocument is active, whatever the command prints (printf, puts,
// progress) goes to standard error, and write() sends the document to the real standard output. A pipe
// such as `minimax01 bench --report - | jq .` then reads exactly the document, and the human-readable
// lines still reach the terminal.
#pragma once
#include <string>

namespace mm::cli {

class StdoutDocument {
 public:
  // Inactive: nothing is redirected and write() prints to standard output as usual.
  explicit StdoutDocument(bool active);
  ~StdoutDocument();  // standard output is the real one again
  StdoutDocument(const StdoutDocument&) = delete;
  StdoutDocument& operator=(const StdoutDocument&) = delete;
  bool active() const { return saved_fd_ >= 0; }
  // Writes `text` to the real standard output (mm::Error when it cannot: a closed pipe, a full disk).
  void write(const std::string& text);

 private:
  int saved_fd_ = -1;  // the real standard output while active
};

// True when an output path means standard output.
inline bool is_stdout_path(const std::string& path) { return path == "-"; }

}  // namespace mm::cli
