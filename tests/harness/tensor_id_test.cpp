// Tensor names <-> structured identity (harness/tensor_id.h): every name the harness produces reads back
// to the same identity and writes back to the same name; a vision layer is never a decoder layer; names
// from a golden case's file never throw.
#include <gtest/gtest.h>

#include "harness/capture.h"
#include "harness/tensor_id.h"

namespace mm::harness {
namespace {

TEST(TensorId, RoundTripsEveryProducedShape) {
  for (const char* n : {"layers.0.attn_out", "layers.12.router_experts", "layers.3.lightning_state", "layers.7.k_cache",
                        "final_norm", "logits", "decode.layers.2.output", "decode.final_norm", "decode_logits",
                        "e2e.layers.4.moe_out", "e2e.decode.layers.4.output", "e2e.logits", "e2e.decode_logits",
                        "vision.layers.3.output", "vision.post_layernorm", "projector.output",
                        "decode.vision.layers.1.output"})
    EXPECT_EQ(TensorId::parse(n).name(), n) << n;
}

TEST(TensorId, Fields) {
  const TensorId a = TensorId::parse("e2e.decode.layers.5.router_logits");
  EXPECT_EQ(a.mode, RunMode::EndToEnd);
  EXPECT_EQ(a.phase, Phase::Decode);
  EXPECT_EQ(a.family, Family::TextDecoder);
  EXPECT_EQ(a.layer, 5);
  EXPECT_EQ(a.kind, "router_logits");
  const TensorId d = TensorId::parse("decode_logits");
  EXPECT_EQ(d.family, Family::TextHead);
  EXPECT_EQ(d.phase, Phase::Decode);
  EXPECT_EQ(d.kind, "logits");
  EXPECT_EQ(TensorId::decoder(9, "output").in_phase(Phase::Decode).in_mode(RunMode::EndToEnd).name(),
            "e2e.decode.layers.9.output");
  EXPECT_EQ(TensorId::head("logits").in_phase(Phase::Decode).name(), "decode_logits");
}

TEST(TensorId, VisionLayerIsNotADecoderLayer) {
  const TensorId v = TensorId::parse("vision.layers.3.output");
  EXPECT_EQ(v.family, Family::VisionEncoder);
  EXPECT_EQ(v.layer, 3);
  EXPECT_EQ(v.kind, "output");
  EXPECT_EQ(tensor_layer("vision.layers.3.output"), -1);  // the decoder-layer shorthand
  EXPECT_EQ(tensor_layer("layers.3.output"), 3);
  EXPECT_EQ(TensorId::parse("projector.linear_1").family, Family::Projector);
}

TEST(TensorId, OddNamesNeverThrow) {
  for (const char* n : {"", "e2e.", "decode", "decode.", "layers.", "layers.x.output", "vision.", "projector.",
                        "layers.99999999999.output", "e2e.e2e.logits", "decode.0.layers.12.output"})
    EXPECT_NO_THROW((void)TensorId::parse(n).name()) << n;
  EXPECT_EQ(TensorId::parse("decode.0.layers.12.output").layer, 12);  // a golden file's extra component
  EXPECT_EQ(TensorId::parse("layers.x.output").layer, -1);
}

}  // namespace
}  // namespace mm::harness
