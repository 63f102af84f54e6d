// Fuzz target: a safetensors image (u64 header length | JSON header | data region) through
// mm::parse_safetensors, the validation every SafetensorsFile (checkpoint shards, forward dumps) runs
// on its mapping. An accepted image must describe tensors that lie inside the image, whose byte length
// matches shape x dtype and that tile the data region; every element of every tensor is then read.
#include <vector>

#include "core/dtype.h"
#include "core/safetensors.h"
#include "fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return mm::fuzz::run([&] {
    const auto* base = reinterpret_cast<const std::byte*>(data);
    const mm::SafetensorsLayout l = mm::parse_safetensors(base, size, "fuzz.safetensors");
    std::size_t covered = 0;
    for (const auto& [name, t] : l.tensors) {
      MM_FUZZ_CHECK(!name.empty() && name == t.name, name);
      MM_FUZZ_CHECK(t.numel() >= 0, name);
      MM_FUZZ_CHECK(t.nbytes == static_cast<std::size_t>(t.numel()) * mm::dtype_size(t.dtype), name);
      MM_FUZZ_CHECK(t.data >= base + 8 && t.data + t.nbytes <= base + size, name);
      covered += t.nbytes;
      const std::vector<double> v = mm::read_f64(t);  // every element, through the checked bounds
      MM_FUZZ_CHECK(v.size() == static_cast<std::size_t>(t.numel()), name);
      (void)t.shape_str();
    }
    // The tensors tile the data region: their lengths add up to it (header length + 8 in front).
    if (!l.tensors.empty()) {
      uint64_t n = 0;
      for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
      MM_FUZZ_CHECK(covered == size - 8 - n, "tensors do not cover the data region");
    }
  });
}
