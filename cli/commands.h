// The subcommand table: name and entry point; each command's declaration (options, help) is its
// CommandSpec (cli/command_specs.cpp).
#pragma once
#include <string>
#include <vector>

#include "cli/args.h"

namespace mm::cli {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>& args);  // argv after the command's name; returns the exit code
};

const std::vector<Command>& commands();

// The declaration of the command `name` (cli/command_specs.cpp): its options, positional arguments and help.
const CommandSpec& command_spec(const std::string& name);

int cmd_init(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);
int cmd_forward(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int cmd_check(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_soak(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_preprocess(const std::vector<std::string>& args);

}  // namespace mm::cli
