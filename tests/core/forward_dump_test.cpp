// core/forward_dump: the dump contract (docs/forward-dump.md) is checked when a dump is read.
#include "core/forward_dump.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/core/test_util.h"

namespace mm {

namespace {
void write_dump(const std::string& path, std::vector<int64_t> logits, std::vector<int64_t> hidden, std::vector<int64_t> dec,
                std::map<std::string, std::string> meta = {{"format", kForwardDumpFormat}, {"backend", "ref-f32"}},
                DType dt = DType::F32) {
  auto n = [](const std::vector<int64_t>& s) { int64_t k = 1; for (auto x : s) k *= x; return static_cast<std::size_t>(k); };
  write_safetensors(path, {{{"logits", dt, logits}, std::vector<double>(n(logits), 0.5)},
                           {{"hidden_states", DType::F32, hidden}, std::vector<double>(n(hidden), 1.5)},
                           {{"decode_logits", DType::F32, dec}, std::vector<double>(n(dec), -1)}},
                    meta);
}
}  // namespace

TEST(ForwardDump, ReadsAValidDump) {
  test::TempDir d;
  write_dump(d.file("d.safetensors"), {3, 7}, {2, 3, 5}, {4, 7});
  ForwardDumpFile f(d.file("d.safetensors"));
  const auto& x = f.dump();
  EXPECT_EQ(x.backend, "ref-f32");
  EXPECT_EQ(x.S, 3); EXPECT_EQ(x.V, 7); EXPECT_EQ(x.L, 2); EXPECT_EQ(x.H, 5); EXPECT_EQ(x.N, 4);
  EXPECT_EQ(read_f64(*x.hidden_states)[0], 1.5);
  write_dump(d.file("n0.safetensors"), {1, 7}, {2, 1, 5}, {0, 7});  // no decode steps
  EXPECT_EQ(ForwardDumpFile(d.file("n0.safetensors")).dump().N, 0);
}

TEST(ForwardDump, ContractViolationsAreNamed) {
  test::TempDir d;
  const std::string p = d.file("bad.safetensors");
  write_dump(p, {3, 7}, {2, 3, 5}, {4, 7}, {{"format", "pt"}});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "bad.safetensors", "not a forward dump", "\"pt\"");
  write_dump(p, {3, 7}, {2, 3, 5}, {4, 7}, {});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "not a forward dump", "found none");
  write_dump(p, {3, 7}, {2, 4, 5}, {4, 7});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "'hidden_states'", "[2, 4, 5]", "S = 3");
  write_dump(p, {3, 7}, {2, 3, 5}, {4, 8});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "'decode_logits'", "V = 7");
  write_dump(p, {3, 7}, {2, 3, 5}, {4, 7}, {{"format", kForwardDumpFormat}}, DType::BF16);
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "'logits'", "dtype BF16, expected F32");
  write_dump(p, {0, 7}, {2, 0, 5}, {4, 7});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "at least one token");
  write_dump(p, {3, 7, 1}, {2, 3, 5}, {4, 7});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "'logits'", "expected 2 dimensions");
  write_safetensors(p, {{{"logits", DType::F32, {1, 1}}, {0}}, {{"extra", DType::F32, {1}}, {0}}},
                    {{"format", kForwardDumpFormat}});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "unexpected tensor 'extra'");
  write_safetensors(p, {{{"logits", DType::F32, {1, 1}}, {0}}}, {{"format", kForwardDumpFormat}});
  EXPECT_MM_ERROR(ForwardDumpFile{p}, "lacks tensor 'hidden_states'");
}

}  // namespace mm
