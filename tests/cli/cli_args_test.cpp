// Option validation (cli/args.h): range-checked numbers, seeds, lists without empty elements, and the
// token-file format (parse_token_text), including a million-token prompt.
#include <chrono>
#include <filesystem>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "tests/core/test_util.h"

namespace mm::cli {
namespace {

Args args(const std::vector<std::string>& argv) {
  return Args("t", argv, {"n", "x", "s", "l", "tokens", "tokens-file"}, {"force"});
}

// The message of the mm::Error that f throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CliArgs, IntegerRangeAndSyntax) {
  EXPECT_EQ(args({"--n", "7"}).integer("n", 0, 1, 10), 7);
  EXPECT_EQ(args({}).integer("n", 3, 1, 10), 3);
  EXPECT_EQ(args({"--n=-5"}).integer("n", 0, -10, 10), -5);
  for (const char* bad : {"11", "0", "4294967297", "99999999999999999999", "5x", " 5", "1e3", "0x10", "5.0", "+5"})
    EXPECT_NE(error_of([&] { args({"--n", bad}).integer("n", 0, 1, 10); }).find("t: --n must be an integer in [1, 10]"),
              std::string::npos)
        << bad;
  // an int setting: 2^32 + 1 is refused, not truncated to 1
  EXPECT_NE(error_of([] { args({"--n", "4294967297"}).integer32("n", 0, 1, 1000000); }), "");
  EXPECT_EQ(args({"--n", "2147483647"}).integer32("n", 0, 0, std::numeric_limits<int>::max()), 2147483647);
}

// No option has a meaning for an empty value: `--model ""`, `--golden=` are refused by name, never
// taken as "not given" (which would fall back to a default model).
TEST(CliArgs, EmptyValuesAreRefused) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"--n", ""}, {"--n="}, {"--x", "1", "--n", ""}, {"--tokens-file="}, {"--l=", "--n", "1"}}) {
    const std::string e = error_of([&] { args(argv); });
    EXPECT_NE(e.find("t: option '--"), std::string::npos) << e;
    EXPECT_NE(e.find("' is empty"), std::string::npos) << e;
  }
  EXPECT_NE(error_of([] { args({"--n", ""}); }).find("option '--n' is empty"), std::string::npos);
  EXPECT_NE(error_of([] { args({"--tokens-file="}); }).find("option '--tokens-file' is empty"), std::string::npos);
  EXPECT_EQ(error_of([] { args({"--n", "-"}); }), "");  // '-' (standard input) is a value
}

// A switch takes no value: `--force=no` must not turn it on.
TEST(CliArgs, SwitchRefusesAValue) {
  EXPECT_TRUE(args({"--force"}).has("force"));
  EXPECT_FALSE(args({}).has("force"));
  for (const char* bad : {"--force=no", "--force=1", "--force=", "--force=yes"})
    EXPECT_NE(error_of([&] { args({bad}); }).find("t: option '--force' is a switch and takes no value, got '" +
                                                  std::string(bad) + "'"),
              std::string::npos)
        << bad;
  // the word after a switch is not its value: it is parsed as the next argument
  EXPECT_NE(error_of([] { args({"--force", "no"}); }).find("unexpected argument 'no'"), std::string::npos);
}

// The parser's conventions (CLI11): options in any order around positional arguments, `--opt=value`,
// `--` before positional arguments that start with '-', a repeat or a stray argument refused by name.
TEST(CliArgs, OptionsInAnyOrderAroundPositionals) {
  const CommandSpec spec{"p", "", {{"out", "FILE", ""}, {"quiet", "", ""}}, {{"FILE.json", "", true}}, "", {}};
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"a.json", "b.json", "--out", "o.html"}, {"--out", "o.html", "a.json", "b.json"},
        {"a.json", "--out=o.html", "b.json"}}) {
    const Args a(spec, argv);
    EXPECT_EQ(a.str("out", ""), "o.html");
    EXPECT_EQ(a.positionals(), (std::vector<std::string>{"a.json", "b.json"}));
  }
  // `--` ends the options wherever it stands, also right after an option's value
  EXPECT_EQ(Args(spec, {"--", "-x.json"}).positionals(), std::vector<std::string>{"-x.json"});
  const Args dd(spec, {"--out", "p.html", "--", "-odd.json", "--quiet", "--"});
  EXPECT_EQ(dd.positionals(), (std::vector<std::string>{"-odd.json", "--quiet", "--"}));
  EXPECT_EQ(dd.str("out", ""), "p.html");
  EXPECT_FALSE(dd.has("quiet"));
  EXPECT_EQ(Args(spec, {"a.json", "--", "b.json"}).positionals(), (std::vector<std::string>{"a.json", "b.json"}));
  // after `--` nothing is an option: a command without positionals refuses what follows
  EXPECT_NE(error_of([] { args({"--n", "1", "--", "--force"}); }).find("t: unexpected argument '--force'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Args(spec, {"--out", "o.html"}); }).find("p: missing FILE.json (one or more)"), std::string::npos);
  EXPECT_NE(error_of([&] { Args(spec, {"a.json", "--out", "1", "--out", "2"}); }).find("option '--out' is given more than once"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Args(spec, {"a.json", "--quiet", "--quiet"}); }).find("option '--quiet' is given more than once"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Args(spec, {"a.json", "--colour=red"}); }).find("p: unknown option '--colour'"), std::string::npos);
  // A command without positional arguments refuses one.
  EXPECT_NE(error_of([] { args({"stray"}); }).find("t: unexpected argument 'stray'"), std::string::npos);
  // Two fixed positionals: exactly two.
  const CommandSpec two{"c", "", {}, {{"OLD.json", ""}, {"NEW.json", ""}}, "", {}};
  EXPECT_EQ(Args(two, {"o", "n"}).positionals(), (std::vector<std::string>{"o", "n"}));
  EXPECT_NE(error_of([&] { Args(two, {"o"}); }).find("c: missing NEW.json"), std::string::npos);
  EXPECT_NE(error_of([&] { Args(two, {"o", "n", "x"}); }).find("c: unexpected argument 'x'"), std::string::npos);
  // --help anywhere asks for the help.
  EXPECT_THROW(Args(spec, {"a.json", "--help"}), HelpRequested);
  EXPECT_THROW(Args(spec, {"-h"}), HelpRequested);
}

// Required options are declared, checked by the parser, and marked in the generated help.
TEST(CliArgs, HelpIsGeneratedFromTheDeclaration) {
  const CommandSpec spec{"w", "write things", {{"out", "DIR", "where to write"}, {"force", "", "replace what is there"}},
                         {}, "More prose.", {"out"}};
  EXPECT_NE(error_of([&] { Args(spec, {"--force"}); }).find("w: missing required option --out"), std::string::npos);
  const std::string h = help_text(spec);
  for (const char* part : {"write things", "minimax01 w", "--out DIR", "where to write (required)", "--force",
                           "replace what is there", "More prose.", "--help"})
    EXPECT_NE(h.find(part), std::string::npos) << part << " missing from:\n" << h;
  // The global switch main() takes off the command line is listed where it matters: in the help of
  // the commands that load weights, and not in the others'.
  EXPECT_EQ(h.find("--allow-nonfinite-weights"), std::string::npos) << h;
  for (const char* cmd : {"forward", "generate", "check", "bench", "soak"})
    EXPECT_NE(help_text(command_spec(cmd)).find("--allow-nonfinite-weights"), std::string::npos) << cmd;
  for (const char* cmd : {"init", "info", "report", "compare", "preprocess"})
    EXPECT_EQ(help_text(command_spec(cmd)).find("--allow-nonfinite-weights"), std::string::npos) << cmd;
}

TEST(CliArgs, Seed) {
  EXPECT_EQ(args({"--s", "18446744073709551615"}).seed("s"), UINT64_MAX);
  EXPECT_EQ(args({}).seed("s", 9), 9u);
  for (const char* bad : {"-1", "18446744073709551616", "1.5", "x"})
    EXPECT_NE(error_of([&] { args({"--s", bad}).seed("s"); }).find("--s must be an integer in [0, 18446744073709551615]"),
              std::string::npos)
        << bad;
}

TEST(CliArgs, NumberFiniteAndInRange) {
  EXPECT_DOUBLE_EQ(args({"--x", "0.25"}).number("x", 0, 0, 1), 0.25);
  EXPECT_DOUBLE_EQ(args({"--x", "1e-3"}).number("x", 0, 0, 1), 1e-3);
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "1e400", "-1", "2", "0.5x", "0.5 ", " 0.5", "+0.5", "0x0.1", "0x1p-3"})
    EXPECT_NE(error_of([&] { args({"--x=" + std::string(bad)}).number("x", 0, 0, 1); })
                  .find("t: --x must be a finite number in [0, 1]"),
              std::string::npos)
        << bad;
  // Separated from its option, a value starting with '-' that is not a number reads as an option: the
  // error says how to give it.
  EXPECT_NE(error_of([] { args({"--x", "-inf"}); }).find("t: option '--x' has no value ('-inf' after it reads as an "
                                                         "option; to give a value that starts with '-', write --x=-inf)"),
            std::string::npos);
  EXPECT_NE(error_of([] { args({"--x", "-1"}).number("x", 0, 0, 1); }).find("must be a finite number in [0, 1], got '-1'"),
            std::string::npos);  // a negative number is a value
  EXPECT_NE(error_of([] { args({"--x", "0"}).number("x", 1, 0, 1, Bounds::OpenLow); }).find("(0, 1]"), std::string::npos);
  EXPECT_NE(error_of([] { args({"--x", "1"}).number("x", 0.5, 0, 1, Bounds::Open); }).find("(0, 1)"), std::string::npos);
}

TEST(CliArgs, ListsRefuseEmptyElements) {
  EXPECT_EQ(args({"--l", "1,2,3"}).int_list("l"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_NE(error_of([] { args({"--l", "1,2,"}).int_list("l"); }).find("t: --l: element 3 is empty"), std::string::npos);
  EXPECT_NE(error_of([] { args({"--l", ",1"}).int_list("l"); }).find("t: --l: element 1 is empty"), std::string::npos);
  EXPECT_NE(error_of([] { args({"--l", "1,,2"}).int_list("l"); }).find("t: --l: element 2 is empty"), std::string::npos);
  EXPECT_NE(error_of([] { args({"--l", "1,x"}).int_list("l"); }).find("expects comma-separated integers, got 'x'"),
            std::string::npos);
  EXPECT_NE(error_of([] { args({"--l", "4,0"}).int_list("l", 1, 9); }).find("element 2 is 0"), std::string::npos);
  EXPECT_EQ(args({"--l", "a,b"}).list_text("l"), "a,b");
  EXPECT_NE(error_of([] { args({"--l", "a,"}).list_text("l"); }).find("element 2 is empty"), std::string::npos);
}

TEST(CliArgs, TokenText) {
  EXPECT_EQ(parse_token_text("1 2,3\n4,\n 5\t6\r\n", "f"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(parse_token_text("", "f"), (std::vector<int64_t>{}));
  EXPECT_EQ(parse_token_text(" \n", "f"), (std::vector<int64_t>{}));
  EXPECT_NE(error_of([] { parse_token_text("1,,2", "f.txt"); }).find("f.txt: element 2 is empty"), std::string::npos);
  EXPECT_NE(error_of([] { parse_token_text("1, ,2", "f.txt"); }).find("f.txt: element 2 is empty"), std::string::npos);
  EXPECT_NE(error_of([] { parse_token_text(",1", "f.txt"); }).find("f.txt: element 1 is empty"), std::string::npos);
  EXPECT_NE(error_of([] { parse_token_text("1 2,", "f.txt"); }).find("f.txt: element 3 is empty"), std::string::npos);
  EXPECT_NE(error_of([] { parse_token_text("1 2 3x 4", "f.txt"); }).find("f.txt: element 3 '3x' is not a decimal integer"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_token_text("1;2", "f.txt"); }).find("element 1 '1;2'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_token_text("99999999999999999999", "f.txt"); }).find("out of the int64 range"),
            std::string::npos);
}

// A byte that is not printable is shown escaped (\xNN) with the element's index, never echoed raw.
TEST(CliArgs, TokenTextEscapesBinaryBytes) {
  using namespace std::string_literals;
  const std::string nul = error_of([] { parse_token_text("1 2\0x 3"s, "f.txt"); });
  EXPECT_NE(nul.find("f.txt: element 2 '2\\x00x' is not a decimal integer"), std::string::npos) << nul;
  EXPECT_EQ(nul.find('\0'), std::string::npos);
  const std::string esc = error_of([] { parse_token_text("7 \x1b[2J\xff", "f.txt"); });
  EXPECT_NE(esc.find("element 2 '\\x1b[2J\\xff'"), std::string::npos) << esc;
  EXPECT_EQ(esc.find('\x1b'), std::string::npos);
  EXPECT_EQ(esc.find('\xff'), std::string::npos);
  // a long element is cut, and escaped all the same
  const std::string lng = error_of([] { parse_token_text(std::string(100, '\x01'), "f.txt"); });
  EXPECT_NE(lng.find("element 1 '\\x01\\x01"), std::string::npos) << lng;
  EXPECT_NE(lng.find("...' (100 bytes)"), std::string::npos) << lng;
  EXPECT_EQ(lng.find('\x01'), std::string::npos);
}

// A million-token prompt parses in well under a second.
TEST(CliArgs, MillionTokenText) {
  std::string text;
  for (int i = 0; i < 1000000; ++i) text += std::to_string(i % 200064) + (i % 16 == 15 ? "\n" : " ");
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = parse_token_text(text, "big");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(ids.size(), 1000000u);
  EXPECT_EQ(ids[999999], 999999 % 200064);
  EXPECT_LT(s, 2.0);
}

TEST(CliArgs, TokensFromFileOrInlineNotBoth) {
  test::TempDir d;
  test::write_bytes(d.file("t.txt"), "5 6\n7\n");
  EXPECT_EQ(args({"--tokens-file", d.file("t.txt")}).tokens("tokens", "tokens-file"), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(args({"--tokens", "1,2"}).tokens("tokens", "tokens-file"), (std::vector<int64_t>{1, 2}));
  EXPECT_NE(error_of([&] { args({"--tokens", "1", "--tokens-file", d.file("t.txt")}).tokens("tokens", "tokens-file"); })
                .find("give either --tokens or --tokens-file, not both"),
            std::string::npos);
  test::write_bytes(d.file("bad.txt"), "5 6,,7");
  EXPECT_NE(error_of([&] { args({"--tokens-file", d.file("bad.txt")}).tokens("tokens", "tokens-file"); })
                .find("bad.txt (--tokens-file): element 3 is empty"),
            std::string::npos);
  EXPECT_NE(error_of([&] { args({"--tokens-file", d.path.string()}).tokens("tokens", "tokens-file"); }), "");
}

// Token files: at most 128 MiB (a 10M-token prompt of 7-digit ids is ~80 MB); a larger file is refused
// by its size before it is read (sparse here: no disk used).
TEST(CliArgs, TokenFileSizeBound) {
  EXPECT_EQ(kMaxTokenFileBytes, 128u << 20);
  test::TempDir d;
  const std::string big = d.file("big.txt");
  test::write_bytes(big, "1 2 3\n");
  std::filesystem::resize_file(big, kMaxTokenFileBytes + 1);
  const std::string e = error_of([&] { args({"--tokens-file", big}).tokens("tokens", "tokens-file"); });
  EXPECT_NE(e.find("big.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("134217729 bytes, more than the limit of 134217728 bytes"), std::string::npos) << e;
}

// Ids from a file are range-checked once vocab_size is known, naming the file and the element; inline
// ids are left to the model.
TEST(CliArgs, FileTokenIdsInRange) {
  test::TempDir d;
  test::write_bytes(d.file("t.txt"), "5 6\n512\n");
  const Args a = args({"--tokens-file", d.file("t.txt")});
  const auto ids = a.tokens("tokens", "tokens-file");
  EXPECT_EQ(error_of([&] { a.check_file_token_ids("tokens-file", ids, 513); }), "");
  const std::string e = error_of([&] { a.check_file_token_ids("tokens-file", ids, 512); });
  EXPECT_NE(e.find("t: " + d.file("t.txt") + " (--tokens-file): element 3 is token id 512, out of range [0, vocab_size = 512)"),
            std::string::npos)
      << e;
  test::write_bytes(d.file("neg.txt"), "-1");
  const Args n = args({"--tokens-file", d.file("neg.txt")});
  EXPECT_NE(error_of([&] { n.check_file_token_ids("tokens-file", n.tokens("tokens", "tokens-file"), 512); })
                .find("element 1 is token id -1"),
            std::string::npos);
  const Args inl = args({"--tokens", "999"});
  EXPECT_EQ(error_of([&] { inl.check_file_token_ids("tokens-file", inl.tokens("tokens", "tokens-file"), 512); }), "");
}

}  // namespace
}  // namespace mm::cli
