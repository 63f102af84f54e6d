// Fuzz target: a forward dump (docs/forward-dump.md), a safetensors image read by
// mm::parse_safetensors and then mm::parse_forward_dump, the path of ForwardDumpFile. An accepted dump
// has the three F32 tensors with consistent S, V, L, H, N; every element is then read. The same image is
// also read as a slice dump (docs/slices.md, mm::parse_slice_hidden, the path of forward --hidden-in):
// an accepted one holds finite [S, H] and [N, H] hidden states from a range of layers.
#include <cmath>
#include <vector>

#include "core/forward_dump.h"
#include "core/safetensors.h"
#include "fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  mm::fuzz::run([&] {
    const std::string path = "fuzz.slice.safetensors";
    const mm::SafetensorsLayout l = mm::parse_safetensors(reinterpret_cast<const std::byte*>(data), size, path);
    const mm::SliceHidden h = mm::parse_slice_hidden(l, path);
    MM_FUZZ_CHECK(h.S >= 1 && h.N >= 0 && h.H >= 1, "");
    MM_FUZZ_CHECK(h.first_layer >= 0 && h.first_layer < h.end_layer && h.end_layer <= h.num_hidden_layers, "");
    MM_FUZZ_CHECK(h.hidden_out.size() == static_cast<std::size_t>(h.S * h.H), "");
    MM_FUZZ_CHECK(h.decode_hidden_out.size() == static_cast<std::size_t>(h.N * h.H), "");
    for (double v : h.hidden_out) MM_FUZZ_CHECK(std::isfinite(v), "");
  });
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
