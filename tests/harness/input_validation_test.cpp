// Harness input validation: golden inputs.json token arrays (integers in the int64 range, errors naming
// the file and the element), --golden paths that are not directories, the size of a bench run, and the
// strict decimal parsing of --perturb, --duration and --inject (no '+', spaces or hex).
#include <sys/stat.h>

#include <climits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "harness/bench.h"
#include "harness/capture.h"
#include "harness/check.h"
#include "harness/golden_case.h"
#include "harness/soak.h"
#include "tests/core/test_util.h"

namespace mm::harness {
namespace {

// A case directory holding a manifest and the given inputs.json text.
struct CaseDir {
  test::TempDir d;
  explicit CaseDir(const std::string& inputs) {
    test::write_bytes(d.file("manifest.json"), "{}");
    test::write_bytes(d.file("inputs.json"), inputs);
  }
  std::string inputs() const { return d.file("inputs.json"); }
};

std::string with_prompt(const std::string& prompt) {
  return "{\"prompt_tokens\": " + prompt + ", \"decode_tokens\": [4]}";
}

TEST(GoldenInputs, IntegerArraysInTheInt64Range) {
  CaseDir ok("{\"prompt_tokens\": [1, 2, 9223372036854775807, -9223372036854775808], \"decode_tokens\": []}");
  const golden::Case c = golden::load_case(ok.d.path.string());
  EXPECT_EQ(c.prompt, (std::vector<int64_t>{1, 2, INT64_MAX, INT64_MIN}));
  EXPECT_TRUE(c.decode.empty());
}

TEST(GoldenInputs, NonIntegersAreRefusedNamingFileAndElement) {
  struct Bad {
    const char* prompt;
    const char* what;
  };
  for (const Bad& b : {Bad{"[1.5, 2]", "prompt_tokens[0]: expected an integer token id in the int64 range, got 1.5"},
                       Bad{"[1, 2.0]", "prompt_tokens[1]: expected an integer token id"},
                       Bad{"[1e300]", "prompt_tokens[0]: expected an integer token id in the int64 range, got 1e+300"},
                       Bad{"[0, 18446744073709551615]", "prompt_tokens[1]: expected an integer token id in the int64 range, got 18446744073709551615"},
                       Bad{"[9223372036854775808]", "prompt_tokens[0]: expected an integer token id"},
                       Bad{"[-9223372036854775809]", "prompt_tokens[0]: expected an integer token id"},
                       Bad{"[1, \"2\"]", "prompt_tokens[1]: expected an integer token id in the int64 range, got \"2\""},
                       Bad{"[null]", "prompt_tokens[0]: expected an integer token id"},
                       Bad{"[true]", "prompt_tokens[0]: expected an integer token id"},
                       Bad{"[[1]]", "prompt_tokens[0]: expected an integer token id"},
                       Bad{"7", "prompt_tokens: expected an array of integer token ids, got number 7"},
                       Bad{"{}", "prompt_tokens: expected an array of integer token ids, got object"}}) {
    CaseDir cd(with_prompt(b.prompt));
    const std::string file = cd.inputs();
    EXPECT_MM_ERROR(golden::load_case(cd.d.path.string()), file.c_str(), b.what);
  }
  CaseDir decode("{\"prompt_tokens\": [1], \"decode_tokens\": [2, 3, 4.25]}");
  const std::string decode_file = decode.inputs();
  EXPECT_MM_ERROR(golden::load_case(decode.d.path.string()), decode_file.c_str(), "decode_tokens[2]: expected an integer");
  CaseDir missing("{\"prompt_tokens\": [1]}");
  const std::string missing_file = missing.inputs();
  EXPECT_MM_ERROR(golden::load_case(missing.d.path.string()), missing_file.c_str(), "missing 'decode_tokens'");
  CaseDir array("[1, 2]");
  const std::string array_file = array.inputs();
  EXPECT_MM_ERROR(golden::load_case(array.d.path.string()), array_file.c_str(),
                  "expected an object with prompt_tokens and decode_tokens, got array");
}

TEST(GoldenInputs, CaseDirectoryMustBeADirectory) {
  test::TempDir d;
  test::write_bytes(d.file("file"), "x");
  EXPECT_MM_ERROR(golden::load_case(d.file("file")), "file: not a directory");
  ASSERT_EQ(::mkfifo(d.file("fifo").c_str(), 0600), 0);
  EXPECT_MM_ERROR(golden::load_case(d.file("fifo")), "fifo: not a directory");  // never opened: no hang
  EXPECT_MM_ERROR(golden::load_case(d.file("absent")), "absent: no such golden case directory");
  EXPECT_MM_ERROR(golden::load_case(""), "the path is empty");
}

TEST(BenchOptions, SizeOfARunIsBounded) {
  EXPECT_NO_THROW(check_bench_options(BenchOptions{}));
  BenchOptions o;
  o.reps = 1'000'000;
  o.warmup = 1'000'000;
  o.prompt_lens.assign(1100, 8);  // the case that overflowed an int: 1102 x 2000000
  EXPECT_MM_ERROR(check_bench_options(o), "bench: --prompt-lens has 1100 entries, at most 64 are allowed");
  EXPECT_MM_ERROR(run_bench(ModelSource{}, o), "--prompt-lens has 1100 entries");  // checked before anything runs
  o.prompt_lens.assign(64, 8);
  o.context_lens.assign(65, 8);
  EXPECT_MM_ERROR(check_bench_options(o), "bench: --context-lens has 65 entries, at most 64 are allowed");
  o.context_lens.assign(64, 8);
  EXPECT_MM_ERROR(check_bench_options(o), "(--warmup + --reps) x (entries of --prompt-lens + --context-lens)",
                  "(1000000 + 1000000) x 128 = 256000000 runs per backend, more than the limit of 1000000");
  o.reps = 7812;  // (0 + 7812) x 128 = 999936
  o.warmup = 0;
  EXPECT_NO_THROW(check_bench_options(o));
  o.warmup = 1;  // 1000064
  EXPECT_MM_ERROR(check_bench_options(o), "more than the limit of 1000000");
  BenchOptions r;
  r.reps = INT_MAX;
  EXPECT_MM_ERROR(check_bench_options(r), "--reps must be in [1, 1000000]");
  r = BenchOptions{};
  r.warmup = -1;
  EXPECT_MM_ERROR(check_bench_options(r), "--warmup must be in [0, 1000000]");
}

TEST(StrictNumbers, Perturbation) {
  const Perturbation p = parse_perturbation("3:1e-2");
  EXPECT_EQ(p.layer, 3);
  EXPECT_DOUBLE_EQ(p.rel, 1e-2);
  EXPECT_EQ(parse_perturbation("0:0").layer, 0);
  for (const char* bad : {"+1:0x1p-3", " 1:0.1", "1 :0.1", "1: 0.1", "1:0.1 ", "0x1:0.1", "1:+0.1", "1:0x10", "1:",
                          ":1", "1", "", "1.0:0.1", "99999999999:0.1", "1:1e400", "1:0.1:2"}) {
    const std::string got = "got '" + std::string(bad) + "'";
    EXPECT_MM_ERROR(parse_perturbation(bad), "--perturb expects LAYER:REL", got.c_str());
  }
  EXPECT_MM_ERROR(parse_perturbation("-1:0.1"), "LAYER must be >= 0");
  EXPECT_MM_ERROR(parse_perturbation("1:nan"), "REL must be a finite number >= 0");
  EXPECT_MM_ERROR(parse_perturbation("1:-0.5"), "REL must be a finite number >= 0");
}

TEST(StrictNumbers, Duration) {
  EXPECT_DOUBLE_EQ(parse_duration("30"), 30);
  EXPECT_DOUBLE_EQ(parse_duration("1.5m"), 90);
  EXPECT_DOUBLE_EQ(parse_duration("2h"), 7200);
  EXPECT_DOUBLE_EQ(parse_duration("1e1s"), 10);
  EXPECT_DOUBLE_EQ(parse_duration("250ms"), 0.25);
  for (const char* bad : {" 0x1p-1", "+5", " 5", "+5s", "", "s", "1e400", ".", "-"}) {
    const std::string got = "got '" + std::string(bad) + "'";
    EXPECT_MM_ERROR(parse_duration(bad), "--duration expects a decimal number", got.c_str());
  }
  for (const char* bad : {"0x10", "5 s", "5s ", "1e", "0x1p-1"}) EXPECT_MM_ERROR(parse_duration(bad), "--duration has an unknown unit");
  EXPECT_MM_ERROR(parse_duration("inf"), "--duration must be a finite number");
  EXPECT_MM_ERROR(parse_duration("nan"), "--duration must be a finite number");
  EXPECT_MM_ERROR(parse_duration("-3"), "--duration must be positive, got '-3'");
}

TEST(StrictNumbers, Inject) {
  const auto f = parse_inject("nan:0.1,slow:0.5,alloc:1,bitflip:0");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_DOUBLE_EQ(f[1].rate, 0.5);
  EXPECT_EQ(f[1].kind, FaultKind::Slow);
  EXPECT_EQ(f[3].kind, FaultKind::Bitflip);
  for (const char* bad : {"nan: 0x0.1", "nan:0x0.1", "nan:+0.1", "nan: 0.1", "nan:0.1 ", "nan:", "nan:1e400", "slow"}) {
    const std::string got = "got '" + std::string(bad) + "'";
    EXPECT_MM_ERROR(parse_inject(bad), "--inject expects KIND:RATE", got.c_str());
  }
  EXPECT_MM_ERROR(parse_inject("nan:0.1,"), "--inject: element 2 is empty");
  EXPECT_MM_ERROR(parse_inject(",nan:0.1"), "--inject: element 1 is empty");
  EXPECT_MM_ERROR(parse_inject("nan:0.1,,slow:0.2"), "--inject: element 2 is empty");
  EXPECT_MM_ERROR(parse_inject(""), "--inject: element 1 is empty");
  EXPECT_MM_ERROR(parse_inject("nan:nan"), "fault rate must be in [0, 1]");
}

// Tensor names may come from a golden case's file: a malformed layer index is "no layer", not an exception.
TEST(StrictNumbers, TensorLayer) {
  EXPECT_EQ(tensor_layer("layers.3.output"), 3);
  EXPECT_EQ(tensor_layer("e2e.layers.7.attn_out"), 7);
  EXPECT_EQ(tensor_layer("decode.0.layers.12.output"), 12);
  EXPECT_EQ(tensor_layer("logits"), -1);
  for (const char* odd : {"layers.x.output", "layers..output", "layers.", "layers.99999999999.output", "layers.+1.output",
                          "layers.-1.output", "layers. 1.output"})
    EXPECT_EQ(tensor_layer(odd), -1) << odd;
}

}  // namespace
}  // namespace mm::harness
