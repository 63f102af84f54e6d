// The synthetic checkpoint writer (reference/synthetic.h): written chunk by chunk, so that a real-size
// tensor never has to be held whole, the files are byte-identical to writing each tensor whole.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/safetensors.h"
#include "reference/synthetic.h"
#include "tests/core/test_util.h"

namespace mm {
namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Chunks of 1000 elements cut rows and tensors at odd places; 64 KiB shards make several files and an
// index. Every file must match the whole-tensor writer's byte for byte, in each on-disk dtype.
TEST(Synthetic, ChunkedCheckpointIsByteIdenticalToWholeTensors) {
  const ModelConfig cfg = preset_config("tiny");
  for (DType dt : {DType::BF16, DType::F16, DType::F32}) {
    test::TempDir whole, chunked;
    const std::vector<TensorSpec> specs = ref::checkpoint_specs(cfg, dt);
    const auto a = write_checkpoint_shards(
        whole.path.string(), specs, [&](std::size_t i, std::vector<double>& v) { ref::synthetic_values(specs[i], cfg, 5, v); },
        64 << 10);
    const auto b = write_checkpoint_shards(
        chunked.path.string(), specs,
        [&](std::size_t i, int64_t offset, int64_t n, double* out) { ref::synthetic_values(specs[i], cfg, 5, offset, n, out); },
        64 << 10, 1000);
    ASSERT_EQ(a, b);
    ASSERT_GT(a.size(), 3u) << "expected several shards and an index";
    for (const std::string& f : a) {
      const std::string x = bytes_of(whole.file(f)), y = bytes_of(chunked.file(f));
      ASSERT_FALSE(x.empty()) << f;
      EXPECT_TRUE(x == y) << f << " differs (" << dtype_name(dt) << ")";
    }
  }
}

// A chunk is the same stretch of the stream as in the whole tensor, wherever it starts.
TEST(Synthetic, ChunkValuesEqualTheWholeTensorsValues) {
  const ModelConfig cfg = preset_config("tiny");
  for (const TensorSpec& s : {TensorSpec{"model.embed_tokens.weight", DType::F32, {cfg.vocab_size, cfg.hidden_size}},
                              TensorSpec{"model.norm.weight", DType::F32, {cfg.hidden_size}}}) {
    std::vector<double> all;
    ref::synthetic_values(s, cfg, 11, all);
    for (int64_t offset : {int64_t{0}, int64_t{1}, int64_t{77}, s.numel() - 5}) {
      std::vector<double> part(5);
      ref::synthetic_values(s, cfg, 11, offset, 5, part.data());
      for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(part[i], all[offset + i]) << s.name << " at " << offset + i;
    }
  }
}

}  // namespace
}  // namespace mm
