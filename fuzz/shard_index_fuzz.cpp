// Fuzz target: model.safetensors.index.json, read by mm::Checkpoint. The input is written as the index
// of a per-process checkpoint directory (under /dev/shm when there is one) that also holds fixed valid
// shards, written once: two shards of a consistent checkpoint, one with a NaN weight, one with an integer
// tensor, a config.json and a subdirectory (both named by a hostile index as shards). An accepted index
// must agree exactly with the shards it names; every tensor is then taken with get() at its own shape,
// and require_all_used() must hold afterwards.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/safetensors.h"
#include "fuzz/fuzz_target.h"

namespace {
namespace fs = std::filesystem;

struct Fixture {
  fs::path dir;
  Fixture() {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    dir = base / ("mm-fuzz-shard-index-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "subdir.safetensors");
    using mm::DType;
    mm::write_safetensors((dir / "model-00001-of-00002.safetensors").string(),
                          {{{"model.embed_tokens.weight", DType::BF16, {4, 2}}, {1, 2, 3, 4, 5, 6, 7, 8}},
                           {{"model.layers.0.input_layernorm.weight", DType::F32, {2}}, {1, 1}}},
                          {{"format", "pt"}});
    mm::write_safetensors((dir / "model-00002-of-00002.safetensors").string(),
                          {{{"model.norm.weight", DType::F16, {2}}, {1, 0.5}},
                           {{"lm_head.weight", DType::F64, {4, 2}}, {0, 1, 2, 3, 4, 5, 6, 7}}},
                          {{"format", "pt"}});
    mm::write_safetensors((dir / "extra-nan.safetensors").string(), {{{"nan.weight", DType::F32, {3}}, {1, NAN, 2}}});
    mm::write_safetensors((dir / "extra-int.safetensors").string(), {{{"ids", DType::I32, {2}}, {7, 9}}});
    std::ofstream(dir / "config.json") << "{\"model_type\": \"minimax_text_01\"}\n";
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const Fixture fx;
  {
    std::ofstream f(fx.dir / "model.safetensors.index.json", std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!f) mm::fuzz::broken(__FILE__, __LINE__, "writing the index", fx.dir.string());
  }
  return mm::fuzz::run([&] {
    const mm::Checkpoint ck(fx.dir.string());
    const std::vector<std::string> names = ck.names();
    MM_FUZZ_CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size(), "duplicate names");
    for (const auto& n : names) {
      const mm::TensorInfo* t = ck.find(n);
      MM_FUZZ_CHECK(t != nullptr, n);
      MM_FUZZ_CHECK(fs::path(t->file).parent_path() == fx.dir, t->file);  // never a file outside the directory
      (void)ck.get(n, t->shape);  // refuses the NaN and the integer tensor
    }
    MM_FUZZ_MUST_ACCEPT("require_all_used after every tensor was taken", ck.require_all_used());
  });
}
