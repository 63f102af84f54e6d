// The subcommand table: name, --help text, entry point.
#pragma once
#include <string>
#include <vector>

namespace mm::cli {

struct Command {
  const char* name;
  const char* help;
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

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
