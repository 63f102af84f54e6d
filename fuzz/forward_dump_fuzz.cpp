// Fuzz target: a forward dump (docs/forward-dump.md), a safetensors image read by
// mm::parse_safetensors and then mm::parse_forward_dump, the path of ForwardDumpFile. An accepted dump
// has the three F32 tensors with consistent S, V, L, H, N; every element is then read.
#include <vector>

#include "core/forward_dump.h"
#include "core/safetensors.h"
#include "fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return mm::fuzz::run([&] {
    const std::string path = "fuzz.forward.safetensors";
    const mm::SafetensorsLayout l = mm::parse_safetensors(reinterpret_cast<const std::byte*>(data), size, path);
    const mm::ForwardDump d = mm::parse_forward_dump(l, path);
    MM_FUZZ_CHECK(d.logits && d.hidden_states && d.decode_logits, "");
    MM_FUZZ_CHECK(d.S >= 1 && d.V >= 1 && d.L >= 1 && d.H >= 1 && d.N >= 0, "");
    MM_FUZZ_CHECK(d.logits->shape == (std::vector<int64_t>{d.S, d.V}), d.logits->shape_str());
    MM_FUZZ_CHECK(d.hidden_states->shape == (std::vector<int64_t>{d.L, d.S, d.H}), d.hidden_states->shape_str());
    MM_FUZZ_CHECK(d.decode_logits->shape == (std::vector<int64_t>{d.N, d.V}), d.decode_logits->shape_str());
    for (const mm::TensorInfo* t : {d.logits, d.hidden_states, d.decode_logits}) {
      MM_FUZZ_CHECK(t->dtype == mm::DType::F32, t->name);
      std::vector<float> v(static_cast<std::size_t>(t->numel()));
      mm::convert_to_f32(*t, v.data());
    }
  });
}
