// The command-line interface of the minimax01 subcommands: each command declares its options once
// (CommandSpec); CLI11 parses the command line from that declaration and --help is generated from it.
//
// Parsing (CLI11, Debian's libcli11-dev: a maintained, header-only parser that handles options in any
// order around positional arguments, `--opt=value`, `--` and help formatting, none of which we want
// to keep writing ourselves): unknown options, a positional argument a command does not take, an option
// given twice (which one would be meant?), an empty value (`--model ""` must not fall back to the
// default) and a value given to a switch (`--force=no` must not turn it on) are usage errors naming the
// command and the option.
//
// Values are validated when they are read: numbers must parse completely (no trailing characters, no
// empty value), be finite, fit the target type without truncation and lie in the range the caller
// gives; lists refuse empty elements. Errors are mm::UsageError naming the command, the option and what
// was expected, e.g. "bench: --reps must be an integer in [1, 1000000], got '4294967297'".
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace mm::cli {

// Bounds shared by several commands (documented in their --help).
inline constexpr int64_t kMaxTokens = 100'000'000;        // prompt / context / decode lengths, counts of tokens
// --tokens-file & co.: 128 MiB. A 10M-token prompt of 7-digit ids is ~80 MB; every id costs 8 bytes once
// parsed, so the bound also caps the parsed prompt (1 GiB of text would be ~7 GB of int64 ids).
inline constexpr uint64_t kMaxTokenFileBytes = 128ull << 20;

// Which ends of a number range are excluded.
enum class Bounds { Closed, OpenLow, OpenHigh, Open };

// One option of a command.
struct OptionSpec {
  std::string name;   // without the dashes: "model" is --model
  std::string value;  // the placeholder of its value in --help ("DIR", "N"); empty: a switch, which takes none
  std::string help;   // one line: what it does, its range and its default
};

// One positional argument (compare's OLD.json and NEW.json, report's FILE.json...).
struct PositionalSpec {
  std::string name;   // the placeholder, e.g. "OLD.json"
  std::string help;
  bool many = false;  // one or more (only the last positional)
};

// A command's whole interface: what parses its command line and what `--help` prints.
struct CommandSpec {
  std::string name;                        // "init"
  std::string summary;                     // one line, for `minimax01 --help`
  std::vector<OptionSpec> options;
  std::vector<PositionalSpec> positionals;  // each required
  std::string description;                 // prose printed after the options
  std::vector<std::string> required;       // options without which the command cannot run
  // It loads a checkpoint's weights: its --help also lists the global --allow-nonfinite-weights (taken
  // off the command line by main before the command parses it).
  bool loads_weights = false;
};

// The --help text of a command, generated from its declaration.
std::string help_text(const CommandSpec& spec);

// A command line given --help or -h (anywhere): the command prints its help_text and exits 0.
struct HelpRequested {};

class Args {
 public:
  // argv after the subcommand, parsed against `spec` (throws UsageError, or HelpRequested).
  Args(const CommandSpec& spec, const std::vector<std::string>& argv);
  // The same with a declaration made of option names alone: `flags` take a value, `switches` do not.
  Args(const std::string& cmd, const std::vector<std::string>& argv, const std::set<std::string>& flags,
       const std::set<std::string>& switches = {});
  bool has(const std::string& k) const { return v_.count(k) > 0; }
  // The positional arguments, in order (as many as the declaration takes; each required).
  const std::vector<std::string>& positionals() const { return positionals_; }
  const std::string& cmd() const { return cmd_; }
  std::string str(const std::string& k, const std::string& def) const;
  std::string required(const std::string& k) const;
  // A decimal integer in [lo, hi] (def when the option is absent; def itself is not checked).
  int64_t integer(const std::string& k, int64_t def, int64_t lo, int64_t hi) const;
  // The same for an int-typed setting: the range is an int range, so nothing is truncated.
  int integer32(const std::string& k, int def, int lo, int hi) const;
  // A seed: a decimal integer in [0, 2^64 - 1] (a negative value is an error, not wrapped around).
  uint64_t seed(const std::string& k, uint64_t def = 0) const;
  // A finite number in the range given by lo, hi and `b` (NaN, Inf and out-of-double-range values
  // such as 1e400 are errors).
  double number(const std::string& k, double def, double lo, double hi, Bounds b = Bounds::Closed) const;
  // "1,2,3" -> {1,2,3}; empty string -> {}. An empty element ("1,,2", "1,2,", ",1") or a non-integer
  // is an error naming the option and the element's 1-based position.
  std::vector<int64_t> int_list(const std::string& k) const;
  // The same with every element in [lo, hi]; here an empty value is an error too.
  std::vector<int64_t> int_list(const std::string& k, int64_t lo, int64_t hi) const;
  // The value of a comma-separated list option (--backends a,b, --inject ...) after checking that it is
  // not empty and has no empty element (errors as in int_list); the elements are checked by its parser.
  std::string list_text(const std::string& k) const;
  // A token list given either inline (--list_key 1,2,3) or through a file (--file_key PATH, '-' for
  // standard input; format: see parse_token_text). Giving both is an error; neither gives {}.
  std::vector<int64_t> tokens(const std::string& list_key, const std::string& file_key) const;
  // Once the model's vocab_size is known: when `ids` came from --file_key (tokens()), throws unless every
  // id lies in [0, vocab_size), naming the file, the option and the element's 1-based index. Inline ids
  // are left to the model, whose error names the position.
  void check_file_token_ids(const std::string& file_key, const std::vector<int64_t>& ids, int64_t vocab_size) const;
  // Throws unless the integer options lo_key <= hi_key (after defaults).
  void require_ordered(const std::string& lo_key, int64_t lo, const std::string& hi_key, int64_t hi) const;

 private:
  std::string file_source(const std::string& file_key) const;  // "PATH (--file_key)", "standard input (--file_key)"
  std::string cmd_;
  std::map<std::string, std::string> v_;
  std::vector<std::string> positionals_;
};

// "a,b,c" -> {"a", "b", "c"} (no validation: Args::list_text refuses empty elements first). A path given
// in a comma-separated list option (--images) therefore cannot contain a comma.
std::vector<std::string> split_commas(const std::string& s);

// Token ids as text: decimal integers separated by whitespace and/or single commas, nothing else
// ("1 2 3", "1,2,3", "1, 2,\n3"). An empty element (",,", a leading or trailing comma) or anything
// that is not a decimal integer in the int64 range is an error naming `source` and the element's
// 1-based index (the element quoted with non-printable bytes escaped, e.g. '1\x002'). Ranges
// (0 <= id < vocab_size) are checked by Args::check_file_token_ids and the model.
std::vector<int64_t> parse_token_text(std::string_view text, const std::string& source);

// The content of `path` ('-': standard input), at most max_bytes; a FIFO, directory or device path is
// refused by name (mm::read_regular_file). `what` names the option in errors.
std::string read_input_text(const std::string& path, const std::string& what, uint64_t max_bytes);

}  // namespace mm::cli
