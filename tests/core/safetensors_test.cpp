#include "core/safetensors.h"

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "tests/core/test_util.h"

namespace mm {

static std::vector<double> random_values(std::size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<double> v(n);
  for (auto& x : v) x = r.normal() * 3;
  return v;
}

TEST(Safetensors, RoundTripEveryDtype) {
  test::TempDir d;
  const auto vals = random_values(6 * 7, 1);
  std::vector<NamedValues> t;
  for (DType dt : {DType::F64, DType::F32, DType::F16, DType::BF16}) t.push_back({{std::string("t_") + dtype_name(dt), dt, {6, 7}}, vals});
  std::vector<double> ints = {0, 1, -2, 300000, 7, 123456789};
  t.push_back({{"i32", DType::I32, {6}}, ints});
  t.push_back({{"i64", DType::I64, {2, 3}}, ints});
  t.push_back({{"u8", DType::U8, {2, 2}}, {0, 1, 128, 255}});
  t.push_back({{"empty", DType::F32, {0, 5}}, {}});
  t.push_back({{"scalar", DType::F32, {}}, {2.5}});
  write_safetensors(d.file("a.safetensors"), t, {{"format", "pt"}});
  SafetensorsFile f(d.file("a.safetensors"));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  for (auto& nv : t) {
    const TensorInfo* ti = f.find(nv.spec.name);
    ASSERT_NE(ti, nullptr) << nv.spec.name;
    EXPECT_EQ(ti->dtype, nv.spec.dtype);
    EXPECT_EQ(ti->shape, nv.spec.shape);
    const auto got = read_f64(*ti);
    ASSERT_EQ(got.size(), nv.values.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      double want = nv.values[i];
      if (nv.spec.dtype == DType::F32) want = static_cast<float>(want);
      if (nv.spec.dtype == DType::BF16) want = round_bf16(static_cast<float>(want));
      if (nv.spec.dtype == DType::F16) want = f16_bits_to_f32(f32_to_f16_bits(static_cast<float>(want)));
      ASSERT_EQ(got[i], want) << nv.spec.name << "[" << i << "]";
    }
  }
  // The data region starts 8-byte aligned and the file is exactly header + data.
  std::ifstream in(d.file("a.safetensors"), std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ((n + 8) % 8, 0u);
}

// U8 (image bytes in preprocess dumps) is data, never a weight: a checkpoint refuses it like I32/I64.
TEST(Safetensors, U8TensorIsNotAWeight) {
  test::TempDir d;
  write_safetensors(d.file("model.safetensors"), std::vector<NamedValues>{{{"w", DType::U8, {2}}, {3, 4}}});
  Checkpoint ck(d.path.string());
  EXPECT_MM_ERROR(ck.get("w", {2}), "tensor 'w' has integer dtype U8, expected a float dtype");
}

TEST(Safetensors, WriterIsDeterministic) {
  test::TempDir d;
  std::vector<NamedValues> t = {{{"b", DType::BF16, {3}}, {1, 2, 3}}, {{"a", DType::F32, {2}}, {4, 5}}};
  write_safetensors(d.file("1.safetensors"), t);
  write_safetensors(d.file("2.safetensors"), t);
  std::ifstream f1(d.file("1.safetensors"), std::ios::binary), f2(d.file("2.safetensors"), std::ios::binary);
  std::string s1((std::istreambuf_iterator<char>(f1)), {}), s2((std::istreambuf_iterator<char>(f2)), {});
  EXPECT_EQ(s1, s2);
}

TEST(Safetensors, ShardedCheckpointThroughIndex) {
  test::TempDir d;
  std::vector<TensorSpec> specs;
  for (int i = 0; i < 5; ++i) specs.push_back({"layer." + std::to_string(i) + ".w", DType::BF16, {16, 8}});
  auto fill = [&](std::size_t i, std::vector<double>& v) { v = random_values(v.size(), 100 + i); };
  write_checkpoint_shards(d.path.string(), specs, fill, 600);  // 256 B each -> 2 per shard -> 3 shards
  EXPECT_TRUE(std::filesystem::exists(d.path / "model.safetensors.index.json"));
  EXPECT_TRUE(std::filesystem::exists(d.path / "model-00003-of-00003.safetensors"));
  Checkpoint ck(d.path.string());
  EXPECT_EQ(ck.names().size(), 5u);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const TensorInfo& t = ck.get(specs[i].name, {16, 8});
    std::vector<double> want(128);
    fill(i, want);
    const auto got = read_f64(t);
    for (std::size_t k = 0; k < got.size(); ++k) ASSERT_EQ(got[k], round_bf16(static_cast<float>(want[k])));
  }
  EXPECT_MM_ERROR(ck.get("layer.0.w", {8, 16}), "layer.0.w", "[16, 8]", "[8, 16]");
  EXPECT_MM_ERROR(ck.get("layer.9.w", {16, 8}), "missing tensor", "layer.9.w");
}

TEST(Safetensors, IndexNamingAMissingTensorOrShard) {
  test::TempDir d;
  write_checkpoint_shards(d.path.string(), {{"a", DType::F32, {2}}, {"b", DType::F32, {2}}},
                          [](std::size_t, std::vector<double>& v) { v = {1, 2}; }, 8);
  nlohmann::json idx = {{"weight_map", {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00001-of-00002.safetensors"}}}};
  test::write_bytes(d.file("model.safetensors.index.json"), idx.dump());
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "index.json", "'b'");
  idx["weight_map"]["b"] = "model-00009-of-00009.safetensors";
  test::write_bytes(d.file("model.safetensors.index.json"), idx.dump());
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "model-00009-of-00009.safetensors", "no such file");
  // the same tensor in two shards
  write_safetensors(d.file("model-00002-of-00002.safetensors"), {{{"a", DType::F32, {2}}, {1, 2}}, {{"b", DType::F32, {2}}, {3, 4}}});
  idx["weight_map"]["b"] = "model-00002-of-00002.safetensors";
  test::write_bytes(d.file("model.safetensors.index.json"), idx.dump());
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "'a'", "more than one shard");
  test::write_bytes(d.file("model.safetensors.index.json"), "{\"weight_map\": ");
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "index.json", "malformed JSON");
}

// The index and its shards must agree both ways: a tensor stored in a shard must have a weight_map
// entry, and a weight_map entry must point at the shard that holds the tensor.
TEST(Safetensors, IndexAndShardsMustAgree) {
  test::TempDir d;
  const std::string s1 = "model-00001-of-00002.safetensors", s2 = "model-00002-of-00002.safetensors";
  write_checkpoint_shards(d.path.string(), {{"a", DType::F32, {2}}, {"b", DType::F32, {2}}},
                          [](std::size_t, std::vector<double>& v) { v = {1, 2}; }, 8);  // one tensor per shard
  ASSERT_NO_THROW(Checkpoint(d.path.string()));  // the writer's own index agrees with its shards

  // A shard holding a tensor the index does not list (e.g. shards re-exported, index left stale).
  write_safetensors(d.file(s2), {{{"b", DType::F32, {2}}, {3, 4}}, {{"extra", DType::F32, {2}}, {5, 6}}});
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), s2.c_str(), "'extra'", "weight_map", "model.safetensors.index.json");

  // The converse: the index lists a tensor that no shard holds.
  write_safetensors(d.file(s2), {{{"b", DType::F32, {2}}, {3, 4}}});
  nlohmann::json idx = {{"weight_map", {{"a", s1}, {"b", s2}, {"ghost", s1}}}};
  test::write_bytes(d.file("model.safetensors.index.json"), idx.dump());
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "index.json", "'ghost'", s1.c_str(), "not found");

  // The index lists both tensors, each under the other's shard.
  idx = {{"weight_map", {{"a", s2}, {"b", s1}}}};
  test::write_bytes(d.file("model.safetensors.index.json"), idx.dump());
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "index.json", "not found there", "stored in");

  // Restored to agree, it loads.
  idx = {{"weight_map", {{"a", s1}, {"b", s2}}}};
  test::write_bytes(d.file("model.safetensors.index.json"), idx.dump());
  Checkpoint ck(d.path.string());
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b"}));
}

// nlohmann::json keeps only the last of two equal keys, so without a check a duplicated tensor name
// would load silently (and differently from a reader that keeps the first). Written by hand because
// no JSON writer produces duplicate keys.
TEST(Safetensors, DuplicateKeysInHeaderAreRejected) {
  test::TempDir d;
  const std::string p = d.file("dup.safetensors");
  const std::string entry0 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string entry1 = R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})";
  test::write_bytes(p, test::safetensors_bytes("{\"w\":" + entry0 + ",\"v\":" + entry1 + "}", 16));
  ASSERT_NO_THROW(SafetensorsFile{p});  // the same bytes with distinct names are a valid file

  test::write_bytes(p, test::safetensors_bytes("{\"w\":" + entry0 + ",\"w\":" + entry1 + "}", 16));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "dup.safetensors", "tensor 'w'", "more than once");

  // A key repeated inside one tensor's entry: which dtype is meant?
  test::write_bytes(p, test::safetensors_bytes(R"({"w":{"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]}})", 8));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "dup.safetensors", "'dtype'", "in 'w'", "more than once");

  // The same tensor name in different objects is fine; a repeated __metadata__ is not.
  test::write_bytes(p, test::safetensors_bytes(R"({"__metadata__":{"w":"x"},"w":)" + entry0 + "}", 8));
  EXPECT_EQ(SafetensorsFile{p}.metadata().at("w"), "x");
  test::write_bytes(p, test::safetensors_bytes(R"({"__metadata__":{"k":"1"},"__metadata__":{"k":"2"}})", 0));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "dup.safetensors", "'__metadata__'", "more than once");
}

TEST(Safetensors, DuplicateKeysInIndexAreRejected) {
  test::TempDir d;
  write_checkpoint_shards(d.path.string(), {{"a", DType::F32, {2}}, {"b", DType::F32, {2}}},
                          [](std::size_t, std::vector<double>& v) { v = {1, 2}; }, 8);
  // 'b' listed twice, under different shards: the last entry would silently win.
  test::write_bytes(d.file("model.safetensors.index.json"),
                    R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",)"
                    R"( "b": "model-00002-of-00002.safetensors"}})");
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "model.safetensors.index.json", "'b'", "in 'weight_map'", "more than once");
}

// Each corrupt file must give an mm::Error naming the file and the problem; never a crash.
TEST(Safetensors, CorruptFilesGiveClearErrors) {
  test::TempDir d;
  const std::string p = d.file("bad.safetensors");
  struct Case { std::string bytes; std::vector<const char*> expect; };
  const std::string ok_hdr = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  std::string huge_len(8, '\0');
  huge_len[7] = 0x7f;  // header length ~ 9e18
  std::string past_end = test::safetensors_bytes(ok_hdr, 16);
  past_end[0] = static_cast<char>(0xff);  // header length 255 + ... > file
  past_end[1] = 0x10;
  const std::vector<Case> cases = {
      {"", {"truncated"}},
      {"abc", {"truncated"}},
      {huge_len + "{}", {"header length", "exceeds"}},
      {past_end, {"header length", "past the end"}},
      {test::safetensors_bytes(ok_hdr, 10), {"'w'", "beyond the data region"}},  // truncated data
      {test::safetensors_bytes("{\"w\": [1,2", 0), {"malformed JSON"}},
      {test::safetensors_bytes("[1,2]", 0), {"JSON object"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", 2), {"'w'", "unknown dtype", "F8"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", 16), {"'w'", "does not match shape"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}})", 16), {"'w'", "does not match", "BF16"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}})", 16), {"'w'", "non-negative"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,0]}})", 16), {"'w'", "begin > end"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0]}})", 16), {"'w'", "data_offsets"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2,2]}})", 16), {"'w'", "data_offsets"}},
      {test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16),
       {"overlapping", "'a'", "'b'"}},
      {test::safetensors_bytes(R"({"__metadata__":{"k":1}})", 0), {"__metadata__"}},
      {test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})", 0),
       {"'w'", "too large"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    test::write_bytes(p, cases[i].bytes);
    try {
      SafetensorsFile f(p);
      ADD_FAILURE() << "case " << i << ": no error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << "case " << i << ": " << msg;
      for (const char* frag : cases[i].expect)
        EXPECT_NE(msg.find(frag), std::string::npos) << "case " << i << ": '" << msg << "' lacks '" << frag << "'";
    }
  }
  EXPECT_MM_ERROR(SafetensorsFile(d.file("nope.safetensors")), "nope.safetensors", "no such file");
  EXPECT_MM_ERROR(Checkpoint(d.file("nodir")), "nodir", "no such checkpoint");
}

TEST(Safetensors, IntegerTensorIsNotAWeight) {
  test::TempDir d;
  write_safetensors(d.file("model.safetensors"), {{{"w", DType::I32, {2}}, {1, 2}}});
  Checkpoint ck(d.path.string());
  EXPECT_MM_ERROR(ck.get("w", {2}), "'w'", "integer dtype");
}

// Bytes of the data region that no tensor accounts for: a hole between tensors, bytes before the first,
// or a tail after the last (the official library refuses all three).
TEST(Safetensors, DataRegionMustBeTiledExactly) {
  test::TempDir d;
  const std::string p = d.file("gaps.safetensors");
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  test::write_bytes(p, test::safetensors_bytes("{" + a + "}", 8));
  EXPECT_NO_THROW(SafetensorsFile{p});
  test::write_bytes(p, test::safetensors_bytes("{" + a + "}", 9));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "gaps.safetensors", "1 trailing bytes belong to no tensor");
  test::write_bytes(p, test::safetensors_bytes("{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "gaps.safetensors", "bytes [8, 12)", "between tensors 'a' and 'b'", "hole");
  test::write_bytes(p, test::safetensors_bytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "bytes [0, 4)", "before tensor 'b'");
  // Empty tensors sit anywhere on the boundary between others.
  test::write_bytes(p, test::safetensors_bytes("{" + a + R"(,"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})", 8));
  EXPECT_NO_THROW(SafetensorsFile{p});
}

TEST(Safetensors, HeaderEntriesAreStrict) {
  test::TempDir d;
  const std::string p = d.file("strict.safetensors");
  test::write_bytes(p, test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", 4));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "'w'", "unknown field 'extra'");
  test::write_bytes(p, test::safetensors_bytes(R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "empty name");
  std::string deep = "{\"w\":";
  for (int i = 0; i < 100000; ++i) deep += "[";
  test::write_bytes(p, test::safetensors_bytes(deep, 0));
  EXPECT_MM_ERROR(SafetensorsFile{p}, "strict.safetensors", "nesting deeper");
}

TEST(Safetensors, NonRegularFilesAreRefusedByName) {
  test::TempDir d;
  ASSERT_EQ(::mkfifo(d.file("model.safetensors").c_str(), 0600), 0);
  EXPECT_MM_ERROR(Checkpoint(d.path.string()), "model.safetensors", "FIFO", "expected a regular file");
  test::TempDir d2;
  std::filesystem::create_directory(d2.file("model.safetensors"));
  EXPECT_MM_ERROR(Checkpoint(d2.path.string()), "model.safetensors", "is a directory");
  test::TempDir d3;
  ASSERT_EQ(::mkfifo(d3.file("model.safetensors.index.json").c_str(), 0600), 0);
  EXPECT_MM_ERROR(Checkpoint(d3.path.string()), "model.safetensors.index.json", "checkpoint index is a FIFO");
}

TEST(Safetensors, IndexShardNamesMustBePlainFileNames) {
  test::TempDir d;
  write_checkpoint_shards(d.path.string(), {{"a", DType::F32, {2}}, {"b", DType::F32, {2}}},
                          [](std::size_t, std::vector<double>& v) { v = {1, 2}; }, 8);
  for (const char* bad : {"..", ".", "", "../x.safetensors", "sub/x.safetensors"}) {
    nlohmann::json idx = {{"weight_map", {{"a", bad}, {"b", "model-00002-of-00002.safetensors"}}}};
    test::write_bytes(d.file("model.safetensors.index.json"), idx.dump());
    EXPECT_MM_ERROR(Checkpoint(d.path.string()), "index.json", "must be a plain file name");
  }
}

// This process's file-backed resident memory (RssFile, /proc/self/status), in bytes.
static int64_t rss_file_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("RssFile:", 0) == 0) return std::stoll(line.substr(8)) * 1024;
  return -1;
}

// The load-time NaN/Inf scan reads every page of a tensor; afterwards those pages are not resident
// memory of the process (release_pages), and the values still read back.
TEST(Safetensors, ScanningATensorLeavesItsPagesOutOfResidentMemory) {
  test::TempDir d;
  const int64_t n = int64_t{32} << 20;  // 128 MiB of f32, written a chunk at a time
  write_safetensors(d.file("model.safetensors"), {{"w", DType::F32, {n}}},
                    [](std::size_t, int64_t offset, int64_t k, double* out) {
                      for (int64_t i = 0; i < k; ++i) out[i] = static_cast<double>((offset + i) % 1000);
                    });
  const Checkpoint ck(d.file("model.safetensors"));
  const int64_t before = rss_file_bytes();
  ASSERT_GE(before, 0) << "no RssFile in /proc/self/status";
  const TensorInfo& t = ck.get("w", {n});
  const int64_t after = rss_file_bytes();
  EXPECT_LT(after - before, int64_t{16} << 20) << "the scan left " << (after - before) / (1 << 20) << " MiB resident";
  float v = 0;
  std::memcpy(&v, t.data + 4 * 123457, 4);
  EXPECT_EQ(v, 457.0f);
}

TEST(Safetensors, NonFiniteWeightsAreRefusedUnlessAllowed) {
  test::TempDir d;
  for (DType dt : {DType::BF16, DType::F16, DType::F32, DType::F64}) {
    write_safetensors(d.file("model.safetensors"), {{{"w", dt, {4}}, {1, NAN, 2, INFINITY}}, {{"ok", dt, {2}}, {1, -2}}});
    Checkpoint ck(d.path.string());
    EXPECT_NO_THROW(ck.get("ok", {2})) << dtype_name(dt);
    EXPECT_MM_ERROR(ck.get("w", {4}), "model.safetensors", "'w'", "2 NaN/Inf value(s), the first at flat index 1",
                    "--allow-nonfinite-weights");
    Checkpoint::default_allow_nonfinite() = true;
    Checkpoint lenient(d.path.string());
    Checkpoint::default_allow_nonfinite() = false;
    EXPECT_NO_THROW(lenient.get("w", {4})) << dtype_name(dt);
  }
}

TEST(Safetensors, TensorsTheModelDoesNotUseAreNamed) {
  test::TempDir d;
  write_safetensors(d.file("model.safetensors"),
                    {{{"w", DType::F32, {1}}, {1}}, {{"model.layers.99.x", DType::F32, {1}}, {1}},
                     {{"vision_tower.v", DType::F32, {1}}, {1}}});
  Checkpoint ck(d.path.string());
  ck.get("w", {1});
  EXPECT_MM_ERROR(ck.require_all_used(), "model.safetensors", "2 tensor(s) are not part of the model", "'model.layers.99.x'");
  EXPECT_MM_ERROR(ck.require_all_used(vl_non_text_prefixes()), "1 tensor(s)", "'model.layers.99.x'");
  ck.get("model.layers.99.x", {1});
  EXPECT_NO_THROW(ck.require_all_used(vl_non_text_prefixes()));
}

}  // namespace mm
