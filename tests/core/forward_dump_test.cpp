// core/forward_dump: the dump contract (docs/forward-dump.md) is checked when a dump is read.
#include "core/forward_dump.h"

#include <limits>
#include <map>

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

namespace mm {

namespace {
// A slice dump (kSliceDumpFormat) of [S, H] hidden_out and [N, H] decode_hidden_out.
void write_slice(const std::string& path, std::vector<int64_t> out, std::vector<int64_t> dec,
                 std::map<std::string, std::string> meta, DType dt = DType::F64, double value = 0.25) {
  auto n = [](const std::vector<int64_t>& s) { int64_t k = 1; for (auto x : s) k *= x; return static_cast<std::size_t>(k); };
  write_safetensors(path, {{{"hidden_out", dt, out}, std::vector<double>(n(out), value)},
                           {{"decode_hidden_out", DType::F64, dec}, std::vector<double>(n(dec), -2)}},
                    meta);
}
std::map<std::string, std::string> slice_meta(const std::string& layers = "0:3") {
  return {{"format", kSliceDumpFormat}, {"backend", "ref-f64"}, {"layers", layers}, {"num_hidden_layers", "8"},
          {"tokens_sha256", "abc"}};
}
}  // namespace

TEST(SliceDump, ReadsTheHiddenStatesAndWhereTheyCameFrom) {
  test::TempDir d;
  const std::string p = d.file("s.safetensors");
  write_slice(p, {3, 5}, {2, 5}, slice_meta("2:5"));
  const SliceHidden h = read_slice_hidden(p);
  EXPECT_EQ(h.first_layer, 2); EXPECT_EQ(h.end_layer, 5); EXPECT_EQ(h.num_hidden_layers, 8);
  EXPECT_EQ(h.S, 3); EXPECT_EQ(h.N, 2); EXPECT_EQ(h.H, 5);
  EXPECT_EQ(h.tokens_sha256, "abc");
  ASSERT_EQ(h.hidden_out.size(), 15u);
  EXPECT_EQ(h.hidden_out[14], 0.25);
  EXPECT_EQ(h.decode_hidden_out[0], -2);
  write_slice(p, {1, 5}, {0, 5}, slice_meta());  // no decode steps
  EXPECT_EQ(read_slice_hidden(p).N, 0);
}

TEST(SliceDump, ViolationsAreNamed) {
  test::TempDir d;
  const std::string p = d.file("bad.safetensors");
  auto meta = slice_meta();
  meta["format"] = kForwardDumpFormat;
  write_slice(p, {3, 5}, {2, 5}, meta);
  EXPECT_MM_ERROR(read_slice_hidden(p), "bad.safetensors", "not a slice dump", "minimax01-forward-v1");
  for (const char* key : {"layers", "num_hidden_layers", "tokens_sha256"}) {
    meta = slice_meta();
    meta.erase(key);
    write_slice(p, {3, 5}, {2, 5}, meta);
    const std::string lacks = std::string("lacks __metadata__ '") + key + "'";
    EXPECT_MM_ERROR(read_slice_hidden(p), "bad.safetensors", lacks.c_str());
  }
  for (const char* layers : {"3", "3:1", "0:9", "a:b", "-1:2"}) {
    write_slice(p, {3, 5}, {2, 5}, slice_meta(layers));
    EXPECT_MM_ERROR(read_slice_hidden(p), "bad.safetensors", "__metadata__");
  }
  write_slice(p, {3, 5}, {2, 5}, slice_meta(), DType::F32);
  EXPECT_MM_ERROR(read_slice_hidden(p), "tensor 'hidden_out' is F32 [3, 5], expected F64 [tokens, hidden_size]");
  write_slice(p, {3, 5}, {2, 4}, slice_meta());
  EXPECT_MM_ERROR(read_slice_hidden(p), "tensor 'decode_hidden_out'", "expected width hidden_size = 5");
  write_slice(p, {0, 5}, {2, 5}, slice_meta());
  EXPECT_MM_ERROR(read_slice_hidden(p), "tensor 'hidden_out' has no row");
  write_slice(p, {3, 5}, {2, 5}, slice_meta(), DType::F64, std::numeric_limits<double>::quiet_NaN());
  EXPECT_MM_ERROR(read_slice_hidden(p), "tensor 'hidden_out' value 0 (row 0) is not finite");
  write_safetensors(p, {{{"hidden_out", DType::F64, {1, 5}}, std::vector<double>(5, 0.0)}}, slice_meta());
  EXPECT_MM_ERROR(read_slice_hidden(p), "lacks tensor 'decode_hidden_out'");
}

}  // namespace mm
