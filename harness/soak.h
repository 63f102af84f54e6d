// `minimax01 soak --duration D`: a seeded stream of requests (prompt and decode lengths drawn uniformly
// from ranges), served one at a time by one backend for D seconds, each classified as
//   error          an exception (allocation failure, mm::Error, anything else) - by class
//   numerical      non-finite logits (checked on every request), or logits that differ from the ref-f64
//                  oracle (teacher-forced on the same tokens) by more than k * err(ref-bf16) + floor in
//                  rel_fro, on a seeded sample of requests (--check-rate)
//   slo_breach     completed and correct, but TTFT or TPOT over the stated budget
//   success        everything else
// Uptime (OpenRouter): successful / (successful + errored) x 100, where numerical failures count as
// errored (a wrong answer is a failed request) and SLO breaches count as successful (they completed;
// latency is judged by goodput). Goodput = requests meeting the SLOs and correct, per second (DistServe).
// Reported per window and overall, with latency percentiles. --inject KIND:RATE[,KIND:RATE] plants
// faults (nan: a NaN in a layer's activation; bitflip: the exponent MSB of a weight, persistent until
// detected; alloc: std::bad_alloc thrown mid-forward; slow: a sleep of 1.5x the TTFT budget); every
// injected fault must be caught as its class, and the report says injected vs caught.
// MiniMax-VL-01 models: with probability --image-rate a request carries one seeded synthetic RGB noise
// image (harness/vl_inputs.h) of a seeded size (each side uniform in [min_image_side, max_image_side]),
// its placeholders expanded in the middle of the text prompt. Image requests are classified the same
// way; the oracle check runs ref-f64 teacher-forced on the same ModelInput, images included. Their SLOs
// and oracle tolerance come from a second calibration request (max_prompt text + the largest image,
// max_image_side x max_image_side), unless the SLOs are given; the report counts them apart (per window
// and overall: requests with images, their classes and TTFT percentiles).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/acceptance.h"
#include "core/interrupt.h"
#include "harness/model_source.h"

namespace mm::harness {

// What soak can inject (see above), and the class of outcome that catches each: nan -> numerical,
// bitflip -> numerical (now or at a later request), alloc -> error (std::bad_alloc), slow -> slo_breach.
enum class FaultKind : uint8_t { Nan, Bitflip, Alloc, Slow };
constexpr FaultKind kFaultKinds[] = {FaultKind::Nan, FaultKind::Bitflip, FaultKind::Alloc, FaultKind::Slow};
const char* to_string(FaultKind k);  // "nan", "bitflip", "alloc", "slow" (the --inject and report names)

struct FaultRate {
  FaultKind kind = FaultKind::Nan;
  double rate = 0;  // probability per request
};

struct SoakOptions {
  double duration_s = 10;
  double window_s = 0;  // 0: duration / 10 (at least 0.25 s)
  int64_t min_requests = 0;  // keep going past the duration until this many requests were served
  std::string backend = "ref-f32";
  int64_t min_prompt = 8, max_prompt = 300, min_decode = 1, max_decode = 16;
  double check_rate = 0.25;
  double k = acceptance::kK, floor_rel = acceptance::kCheckFloorRel;  // check's rule (core/acceptance.h)
  double slo_ttft_ms = 0, slo_tpot_ms = 0;  // 0: 10x the calibration request's time (at least 20 / 5 ms)
  uint64_t seed = 0;
  std::vector<FaultRate> inject;
  bool progress = false;
  // MiniMax-VL-01: the probability in [0, 1] that a request carries an image (--image-rate). < 0: the
  // default, kDefaultImageRate on a VL model and 0 on a text model (which refuses any rate > 0).
  double image_rate = -1;
  // Image sides, each uniform in [min, max] pixels. The defaults give 2 to 5 crops (576 to 2928 image
  // tokens with the released pinpoints): a request stays a fraction of a second on vl-tiny.
  int min_image_side = 32, max_image_side = 384;
};

// One request in four carries an image on a VL model: enough image traffic to be measured and checked
// in every window, while text requests (the cheaper ones) still make up most of the stream.
inline constexpr double kDefaultImageRate = 0.25;

// "30", "30s", "500ms", "2m", "1h" -> seconds; zero, negative or malformed -> mm::Error.
double parse_duration(const std::string& s);
// "nan:0.1,slow:0.05" -> faults; unknown kind or a rate outside [0, 1] -> mm::Error.
std::vector<FaultRate> parse_inject(const std::string& s);

struct SoakResult {
  nlohmann::json result;  // the report's "result" (docs/report-schema.md)
  bool pass = false;      // every injected fault caught and no failure without an injection; never when interrupted
  // Set when SIGINT / SIGTERM stopped the stream between two requests (core/interrupt.h): `result` holds
  // every request served until then, and faults.outstanding_at_interrupt a bit flip not yet detected.
  std::optional<Interruption> interrupted;
};

SoakResult run_soak(const ModelSource& src, const SoakOptions& opt);
std::string soak_summary(const nlohmann::json& result);

}  // namespace mm::harness
