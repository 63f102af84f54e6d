// Outputs never overwrite inputs: before a command runs, each output path it was given is checked
// against every file the run reads (core/file_io.h InputSet: symlinks, `..` and hard links resolved
// by device + inode). Outputs are then written through a temporary file renamed into place.
#pragma once
#include <string>
#include <vector>

#include "cli/args.h"
#include "core/file_io.h"

namespace mm::cli {

// The options whose values are files or directories a command reads ('-' is standard input).
inline const std::vector<std::string>& input_options() {
  static const std::vector<std::string> k = {"model", "golden", "tokens-file", "decode-tokens-file",
                                             "prompt-tokens-file", "image", "config", "hidden-in"};
  return k;
}

// Throws mm::Error when `out`, given through --`option`, is one of the run's inputs: the files named by
// the input options (a directory: the files in it and in its subdirectories) and `extra_inputs`.
inline void refuse_input_as_output(const Args& a, const std::string& option, const std::string& out,
                                   const std::vector<std::string>& extra_inputs = {}) {
  InputSet in;
  for (const auto& k : input_options()) {
    if (!a.has(k)) continue;
    if (a.str(k, "") == "-") in.add_stdin();  // `--tokens-file - < file`: that file
    else in.add(a.str(k, ""), 2);
  }
  if (a.has("images"))  // a comma-separated list of image files (forward, generate)
    for (const std::string& f : split_commas(a.str("images", ""))) in.add(f, 0);
  for (const auto& f : extra_inputs) in.add(f, 0);
  in.check_output(out, "--" + option);
}

}  // namespace mm::cli
