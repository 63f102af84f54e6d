#include "cli/args.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>

#include <CLI/CLI.hpp>

#include "core/file_io.h"
#include "core/strict_number.h"

namespace mm::cli {
namespace {

// The value as quoted in an error: long values (a pasted token list) are cut, and bytes that are not
// printable ASCII (a NUL or a binary byte in a token file, an escape sequence) are shown escaped as \xNN,
// never echoed raw to the terminal.
std::string shown(std::string_view s) {
  const bool cut = s.size() > 48;
  std::string out = "'";
  for (const char ch : cut ? s.substr(0, 40) : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += cut ? "...' (" + std::to_string(s.size()) + " bytes)" : "'";
  return out;
}

std::string fmt_num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

using Parse = NumParse;  // core/strict_number.h: the strict parsers, shared with the harness

// One comma-separated list: calls item(element, 1-based index) for each element; an empty element is
// an error naming `what` and the index.
template <class F>
void split_list(const std::string& what, const std::string& s, F&& item) {
  std::size_t start = 0, index = 1;
  while (true) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    const std::string_view e(s.data() + start, end - start);
    if (e.empty())
      throw UsageError(what + ": element " + std::to_string(index) + " is empty (in " + shown(s) +
                  "; expected comma-separated values with no empty element)");
    item(e, index);
    if (end == s.size()) break;
    start = end + 1;
    ++index;
  }
}

}  // namespace

namespace {

// What CLI11 fills while parsing one command line: every occurrence of every option (so that a repeat is
// our error, with our message, not CLI11's), switch counts and the positional arguments.
struct Parsed {
  std::map<std::string, std::vector<std::string>> values;
  std::map<std::string, int64_t> switches;
  std::vector<std::vector<std::string>> positionals;  // a positional that takes many
  std::deque<std::string> fixed;                      // one that takes one (a deque: references stay valid)
  std::vector<const CLI::Option*> fixed_options;      // to tell "not given" from "given empty"
};

// The CLI11 app of a declaration; `p` receives the values. `for_help`: the app only prints --help
// (every positional shown as required).
void declare(CLI::App& app, const CommandSpec& spec, Parsed& p, bool for_help) {
  app.set_help_flag("-h,--help", "print this help and exit");
  app.allow_extras(true);  // unknown options and stray arguments: our message (Args::Args)
  app.get_formatter()->column_width(34);
  for (const OptionSpec& o : spec.options) {
    const bool required = std::find(spec.required.begin(), spec.required.end(), o.name) != spec.required.end();
    const std::string help = o.help + (required ? " (required)" : "");
    if (o.value.empty()) {
      // A flag counts its occurrences; `--force=no` is refused rather than read as "off".
      app.add_flag("--" + o.name, p.switches[o.name], help)->disable_flag_override();
    } else {
      // Each occurrence takes exactly one argument (never the next option), all occurrences are kept.
      app.add_option("--" + o.name, p.values[o.name], help)
          ->type_name(o.value)
          ->type_size(1)
          ->expected(0, 1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
          ->allow_extra_args(false);
    }
  }
  // A fixed positional binds a string (CLI11 then gives it exactly one argument), the last one may take many.
  p.positionals.resize(spec.positionals.size());
  p.fixed.resize(spec.positionals.size());
  p.fixed_options.assign(spec.positionals.size(), nullptr);
  for (std::size_t i = 0; i < spec.positionals.size(); ++i) {
    const PositionalSpec& ps = spec.positionals[i];
    CLI::Option* o = ps.many ? app.add_option(ps.name, p.positionals[i], ps.help)  // shown as "NAME ..."
                             : app.add_option(ps.name, p.fixed[i], ps.help);
    if (!ps.many) p.fixed_options[i] = o;
    o->type_name("");
    // Every positional is required: --help shows it without brackets. When parsing, Args::Args says
    // what is missing in its own words.
    if (for_help) o->required();
  }
  if (for_help && spec.loads_weights)
    app.add_flag("--allow-nonfinite-weights")
        ->description("load a checkpoint holding NaN/Inf weights instead of refusing it (for debugging a broken one)");
  if (!spec.description.empty()) app.footer(spec.description);
}

}  // namespace

std::string help_text(const CommandSpec& spec) {
  Parsed unused;  // bound by the options, never parsed into; declared first so that it outlives the app
  CLI::App app(spec.summary, "minimax01 " + spec.name);
  declare(app, spec, unused, /*for_help=*/true);
  return app.help();
}

Args::Args(const CommandSpec& spec, const std::vector<std::string>& all_args) : cmd_(spec.name) {
  const std::string& cmd = spec.name;
  Parsed p;  // outlives the app whose options are bound to it
  CLI::App app(spec.summary, "minimax01 " + cmd);
  declare(app, spec, p, /*for_help=*/false);
  // `--` ends the options: what follows is positional, verbatim (`report -- -odd.json`). Split here, not
  // in CLI11, which drops a `--` that follows an option's value and reads on as options.
  const auto dashes = std::find(all_args.begin(), all_args.end(), std::string("--"));
  const std::vector<std::string> argv(all_args.begin(), dashes);
  const std::vector<std::string> after(dashes == all_args.end() ? dashes : dashes + 1, all_args.end());
  // A switch given a value: `--force=no` must not turn it on, and `--force=` is no better.
  for (const OptionSpec& o : spec.options)
    if (o.value.empty())
      for (const std::string& a : argv)
        if (a.rfind("--" + o.name + "=", 0) == 0)
          throw UsageError(cmd + ": option '--" + o.name + "' is a switch and takes no value, got " + shown(a) +
                           " (give --" + o.name + " alone to turn it on, leave it out to keep it off)");
  std::vector<std::string> reversed(argv.rbegin(), argv.rend());  // CLI11 takes the arguments last first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    throw HelpRequested{};
  } catch (const CLI::ParseError& e) {
    throw UsageError(cmd + ": " + e.what() + " (see --help)");
  }
  // A value that starts with '-' and is not a number (`--temperature -inf`) reads as an option, as with
  // any conventional parser; say how to give it.
  for (const OptionSpec& o : spec.options) {
    if (o.value.empty()) continue;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == "--" + o.name && argv[i + 1].size() > 1 && argv[i + 1][0] == '-' &&
          p.values[o.name].size() == 1 && p.values[o.name][0].empty())
        throw UsageError(cmd + ": option '--" + o.name + "' has no value (" + shown(argv[i + 1]) +
                         " after it reads as an option; to give a value that starts with '-', write --" + o.name +
                         "=" + argv[i + 1] + ")");
  }
  // In the order of the command line: the first argument that is not the command's.
  for (const std::string& x : app.remaining()) {
    if (x.size() > 1 && x[0] == '-') {
      const std::string name = x.substr(0, x.find('='));
      throw UsageError(cmd + ": unknown option " + shown(name) + " (see --help)");
    }
    throw UsageError(cmd + ": unexpected argument " + shown(x) + " (see --help)");
  }
  for (const OptionSpec& o : spec.options) {
    if (o.value.empty()) {
      const int64_t n = p.switches[o.name];
      if (n > 1) throw UsageError(cmd + ": option '--" + o.name + "' is given more than once");
      if (n == 1) v_.emplace(o.name, "1");
      continue;
    }
    const std::vector<std::string>& vals = p.values[o.name];
    // Given twice, which one is meant? (A script that appends an option must not silently override.)
    if (vals.size() > 1) throw UsageError(cmd + ": option '--" + o.name + "' is given more than once");
    if (vals.empty()) continue;
    // No option has a meaning for an empty value: `--model ""` must not fall back to the default.
    if (vals[0].empty())
      throw UsageError(cmd + ": option '--" + o.name +
                       "' is empty or has no value (give it a value, or leave the option out for its default)");
    v_.emplace(o.name, vals[0]);
  }
  for (const std::string& r : spec.required)
    if (!has(r)) throw UsageError(cmd + ": missing required option --" + r + " (see --help)");
  // The positional arguments in order: those CLI11 placed (it fills the declared slots in order), then
  // those after `--`; dealt out to the declared positionals, the last of which may take many.
  std::vector<std::string> given;
  for (std::size_t i = 0; i < spec.positionals.size(); ++i) {
    if (!spec.positionals[i].many && p.fixed_options[i]->count() > 0) given.push_back(p.fixed[i]);
    given.insert(given.end(), p.positionals[i].begin(), p.positionals[i].end());
  }
  given.insert(given.end(), after.begin(), after.end());
  std::size_t next = 0;
  for (const PositionalSpec& ps : spec.positionals) {
    if (next >= given.size())
      throw UsageError(cmd + ": missing " + ps.name + (ps.many ? " (one or more)" : "") + " (see --help)");
    const std::size_t end = ps.many ? given.size() : next + 1;
    for (; next < end; ++next) {
      if (given[next].empty()) throw UsageError(cmd + ": " + ps.name + " is empty (expected a path)");
      positionals_.push_back(given[next]);
    }
  }
  if (next < given.size()) throw UsageError(cmd + ": unexpected argument " + shown(given[next]) + " (see --help)");
}

// A declaration of bare names: each flag takes one value, each switch none.
static CommandSpec names_only(const std::string& cmd, const std::set<std::string>& flags,
                              const std::set<std::string>& switches) {
  CommandSpec spec{cmd, "", {}, {}, "", {}};
  for (const auto& f : flags) spec.options.push_back({f, "VALUE", ""});
  for (const auto& f : switches) spec.options.push_back({f, "", ""});
  return spec;
}

Args::Args(const std::string& cmd, const std::vector<std::string>& argv, const std::set<std::string>& flags,
           const std::set<std::string>& switches)
    : Args(names_only(cmd, flags, switches), argv) {}

std::string Args::str(const std::string& k, const std::string& def) const {
  auto it = v_.find(k);
  return it == v_.end() ? def : it->second;
}

std::string Args::required(const std::string& k) const {
  auto it = v_.find(k);
  if (it == v_.end()) throw UsageError(cmd_ + ": missing required option --" + k);
  return it->second;
}

int64_t Args::integer(const std::string& k, int64_t def, int64_t lo, int64_t hi) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  const std::string expect =
      cmd_ + ": --" + k + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got ";
  int64_t v = 0;
  switch (parse_decimal_int(s, v)) {
    case Parse::Ok: break;
    case Parse::OutOfRange: throw UsageError(expect + shown(s) + " (out of range)");
    case Parse::Bad: throw UsageError(expect + (s.empty() ? std::string("an empty value") : shown(s)));
  }
  if (v < lo || v > hi) throw UsageError(expect + shown(s));
  return v;
}

int Args::integer32(const std::string& k, int def, int lo, int hi) const {
  const int64_t v = integer(k, def, lo, hi);
  return static_cast<int>(v);  // in [lo, hi], an int range
}

uint64_t Args::seed(const std::string& k, uint64_t def) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  uint64_t v = 0;
  const Parse p = parse_decimal_int(s, v);
  if (p != Parse::Ok)
    throw UsageError(cmd_ + ": --" + k + " must be an integer in [0, 18446744073709551615], got " +
                (s.empty() ? std::string("an empty value") : shown(s)) + (p == Parse::OutOfRange ? " (out of range)" : ""));
  return v;
}

double Args::number(const std::string& k, double def, double lo, double hi, Bounds b) const {
  if (!has(k)) return def;
  const std::string s = str(k, "");
  const bool lo_open = b == Bounds::OpenLow || b == Bounds::Open, hi_open = b == Bounds::OpenHigh || b == Bounds::Open;
  const std::string expect = cmd_ + ": --" + k + " must be a finite number in " + (lo_open ? "(" : "[") + fmt_num(lo) +
                             ", " + fmt_num(hi) + (hi_open ? ")" : "]") + ", got ";
  if (s.empty()) throw UsageError(expect + "an empty value");
  double v = 0;
  const Parse p = parse_decimal(s, v);
  if (p == Parse::OutOfRange) throw UsageError(expect + shown(s) + " (beyond the range of a double)");
  if (p != Parse::Ok) throw UsageError(expect + shown(s));
  if (!std::isfinite(v) || (lo_open ? !(v > lo) : !(v >= lo)) || (hi_open ? !(v < hi) : !(v <= hi)))
    throw UsageError(expect + shown(s));
  return v;
}

std::vector<int64_t> Args::int_list(const std::string& k) const {
  if (str(k, "").empty()) return {};
  return int_list(k, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
}

std::vector<int64_t> Args::int_list(const std::string& k, int64_t lo, int64_t hi) const {
  std::vector<int64_t> out;
  const std::string s = str(k, "");
  const std::string what = cmd_ + ": --" + k;
  const bool ranged = lo != std::numeric_limits<int64_t>::min() || hi != std::numeric_limits<int64_t>::max();
  if (s.empty())
    throw UsageError(what + " is empty (expected comma-separated integers" +
                (ranged ? " in [" + std::to_string(lo) + ", " + std::to_string(hi) + "])" : std::string(")")));
  split_list(what, s, [&](std::string_view e, std::size_t i) {
    int64_t v = 0;
    const Parse p = parse_decimal_int(e, v);
    if (p != Parse::Ok)
      throw UsageError(what + " expects comma-separated integers, got " + shown(e) + " at element " + std::to_string(i) +
                  (p == Parse::OutOfRange ? " (out of the int64 range)" : ""));
    if (ranged && (v < lo || v > hi))
      throw UsageError(what + ": element " + std::to_string(i) + " is " + std::to_string(v) + ", expected an integer in [" +
                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
    out.push_back(v);
  });
  return out;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t comma; (comma = s.find(',', start)) != std::string::npos; start = comma + 1)
    out.push_back(s.substr(start, comma - start));
  out.push_back(s.substr(start));
  return out;
}

std::string Args::list_text(const std::string& k) const {
  const std::string s = str(k, "");
  if (s.empty()) throw UsageError(cmd_ + ": --" + k + " is empty (expected a comma-separated list)");
  split_list(cmd_ + ": --" + k, s, [](std::string_view, std::size_t) {});
  return s;
}

std::vector<int64_t> Args::tokens(const std::string& list_key, const std::string& file_key) const {
  if (has(list_key) && has(file_key))
    throw UsageError(cmd_ + ": give either --" + list_key + " or --" + file_key + ", not both");
  if (!has(file_key)) return int_list(list_key);
  const std::string path = str(file_key, "");
  if (path.empty()) throw UsageError(cmd_ + ": --" + file_key + " needs a path ('-' for standard input)");
  const std::string text = read_input_text(path, "--" + file_key, kMaxTokenFileBytes);
  return parse_token_text(text, file_source(file_key));
}

std::string Args::file_source(const std::string& file_key) const {
  const std::string path = str(file_key, "");
  return (path == "-" ? std::string("standard input") : path) + " (--" + file_key + ")";
}

void Args::check_file_token_ids(const std::string& file_key, const std::vector<int64_t>& ids, int64_t vocab_size) const {
  if (!has(file_key)) return;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab_size)
      throw Error(cmd_ + ": " + file_source(file_key) + ": element " + std::to_string(i + 1) + " is token id " +
                  std::to_string(ids[i]) + ", out of range [0, vocab_size = " + std::to_string(vocab_size) + ")");
}

void Args::require_ordered(const std::string& lo_key, int64_t lo, const std::string& hi_key, int64_t hi) const {
  if (lo > hi)
    throw UsageError(cmd_ + ": --" + lo_key + " (" + std::to_string(lo) + ") must be <= --" + hi_key + " (" +
                std::to_string(hi) + ")");
}

std::vector<int64_t> parse_token_text(std::string_view s, const std::string& source) {
  std::vector<int64_t> out;
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  const std::string expected = "; expected decimal token ids separated by whitespace and/or commas";
  std::size_t i = 0;
  const std::size_t n = s.size();
  bool comma = false;  // a comma since the last element: an element must come next
  while (true) {
    while (i < n && space(s[i])) ++i;
    if (i == n) {
      if (comma) throw Error(source + ": element " + std::to_string(out.size() + 1) + " is empty (a trailing comma)" + expected);
      break;
    }
    if (s[i] == ',') {
      if (comma || out.empty())
        throw Error(source + ": element " + std::to_string(out.size() + 1) + " is empty (" +
                    (out.empty() ? "a leading comma" : "two commas with no id between them") + ")" + expected);
      comma = true;
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < n && s[j] != ',' && !space(s[j])) ++j;
    const std::string_view e = s.substr(i, j - i);
    int64_t v = 0;
    const Parse p = parse_decimal_int(e, v);
    if (p != Parse::Ok)
      throw Error(source + ": element " + std::to_string(out.size() + 1) + " " + shown(e) +
                  (p == Parse::OutOfRange ? " is out of the int64 range" : " is not a decimal integer") + expected);
    out.push_back(v);
    comma = false;
    i = j;
  }
  return out;
}

std::string read_input_text(const std::string& path, const std::string& what, uint64_t max_bytes) {
  if (path != "-") return read_regular_file(path, what, max_bytes);
  std::string text;
  char buf[1 << 16];
  while (true) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, stdin);
    if (got) {
      if (text.size() + got > max_bytes)
        throw Error("standard input, " + what + ": more than " + std::to_string(max_bytes) + " bytes (the limit)");
      text.append(buf, got);
    }
    if (got < sizeof buf) {
      if (std::ferror(stdin)) throw Error("standard input, " + what + ": read error");
      break;
    }
  }
  return text;
}

}  // namespace mm::cli
