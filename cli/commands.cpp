#include "cli/commands.h"

namespace mm::cli {

// The order of `minimax01 --help`; each command's options and help: cli/command_specs.cpp.
const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"init", cmd_init},         {"info", cmd_info},   {"forward", cmd_forward}, {"generate", cmd_generate},
      {"check", cmd_check},       {"bench", cmd_bench}, {"soak", cmd_soak},       {"report", cmd_report},
      {"compare", cmd_compare},   {"preprocess", cmd_preprocess},
  };
  return table;
}

}  // namespace mm::cli
