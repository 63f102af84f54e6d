// Every command's declaration (cli/args.h CommandSpec): the options it parses and the --help it prints,
// one table. Ranges and defaults are stated in each option's line; the commands read each value through
// the validating getters of cli/args.h with the same range.
#include "cli/commands.h"

#include "core/error.h"

namespace mm::cli {
namespace {

// Shared lines.
const OptionSpec kModel{"model", "DIR", "checkpoint directory (config.json + safetensors, official or HF layout)"};
const OptionSpec kHarnessModel{"model", "DIR", "checkpoint directory (default: preset tiny)"};
const OptionSpec kHarnessPreset{"preset", "NAME", "a preset with seeded synthetic weights instead of --model"};
const OptionSpec kWeightSeed{"weight-seed", "S", "seed of a preset's synthetic weights: 0 .. 2^64-1 (default 0)"};
const OptionSpec kBackend{"backend", "NAME", "ref-f64 | ref-f32 | ref-bf16 | cuda | cuda-sim (default ref-f32)"};
const OptionSpec kImages{"images", "A.png[,B.jpg...]",
                         "MiniMax-VL-01: one PNG/JPEG per image_token_index placeholder of the prompt, in order"};
const OptionSpec kWeights{"weights", "auto|resident|streamed|bf16",
                          "where the weight matrices live (docs/memory.md). Reference backends: converted at load "
                          "(resident), or left in the checkpoint in their stored dtype and converted when used "
                          "(streamed: memory is the working set, not the model), or, ref-f32 and ref-bf16, held "
                          "in bf16 and read as bf16 by a decode step's products (bf16: half the bytes of fp32; "
                          "decode equal to resident up to rounding). cuda / cuda-sim: all on the device "
                          "(resident; bf16 means the same), or each layer's matrices in pinned host memory, "
                          "copied to two device slots while the previous layer runs (streamed). auto (default): "
                          "resident when the model fits in memory (cuda: in the device's free memory)"};
const OptionSpec kLayers{"layers", "A:B",
                         "run decoder layers A .. B-1 only (absolute indices, inside the layers the checkpoint "
                         "holds; docs/slices.md)"};
const OptionSpec kJson{"json", "", "print the result as one JSON document on standard output instead of text"};
std::string report_option_help(const std::string& def) {
  return "where the JSON report goes ('-': standard output; default " + def + ")";
}

std::vector<CommandSpec> make_specs() {
  std::vector<CommandSpec> s;
  s.push_back({"init",
               "write a seeded synthetic checkpoint (config.json + safetensors) for a preset or a config",
               {{"preset", "NAME", "tiny | small | vl-tiny | vl-small; minimax-text-01 with --layers (the full models "
                                   "are refused: ~912 GB)"},
                {"config", "FILE", "a MiniMax-Text-01 config.json (either spelling) instead of --preset: any shape, "
                                   "e.g. the real one with fewer layers; or a MiniMax-VL-01 config.json (model_type "
                                   "minimax_vl_01: its vision tower beside its text model); refused when its weights "
                                   "would not fit on the disk of --out"},
                {"out", "DIR", "a new or empty directory (or --force)"},
                {"layers", "N|A:B", "a slice: decoder layers 0 .. N-1 or A .. B-1 only, each with the type and "
                                    "constants of its index (e.g. --preset minimax-text-01 --layers 6:8: the first "
                                    "group's last lightning layer and its softmax layer; docs/slices.md)"},
                {"seed", "S", "0 .. 2^64-1 (default 0)"},
                {"dtype", "bf16|f16|f32", "the weights' dtype (default bf16)"},
                {"spelling", "official|hf", "config and tensor names: the official release's or the HF port's "
                                            "(default official)"},
                {"max-shard-mb", "N", "shard above N MiB: 1 .. 1048576 (default 2048)"},
                {"force", "", "replace the checkpoint files in a non-empty --out (nothing else there is touched)"}},
               {},
               "Writes DIR/config.json and DIR/model.safetensors (or shards + model.safetensors.index.json)\n"
               "with seeded synthetic weights. MiniMax-VL-01 presets (vl-tiny, vl-small) also write\n"
               "DIR/preprocessor_config.json and the vision tower, projector and image_newline tensors beside the\n"
               "text model; --spelling hf then writes the HF native port's tensor names (model.vision_tower.*,\n"
               "model.language_model.*) and the HF text spelling in text_config.\n"
               "Give exactly one of --preset and --config.\n",
               {"out"}});
  s.push_back({"info",
               "print the layer pattern, parameter counts and memory plan of a model or preset",
               {kModel,
                {"preset", "NAME", "tiny | small | minimax-text-01 | vl-tiny | vl-small | minimax-vl-01"},
                {"backend", "NAME", "also predict the peak memory of a forward run on this backend (ref-f64 | ref-f32 | "
                                    "ref-bf16 | cuda | cuda-sim; default ref-f32 when any run option is given)"},
                {"prompt-len", "S", "the run's prompt: 1 .. 100000000 tokens (default 300)"},
                {"decode-steps", "N", "the run's decode steps: 0 .. 100000000 (default 4)"},
                kWeights,
                kLayers,
                kJson},
               {},
               "Give exactly one of --model and --preset; no weights are read. With --backend (or --prompt-len,\n"
               "--decode-steps, --weights, --layers) it also predicts the peak memory of `forward` with those options\n"
               "(process, weights resident or streamed, caches, the largest phase: docs/memory.md), the figure\n"
               "forward and generate check before they load anything. For a MiniMax-VL-01 model\n"
               "(model_type minimax_vl_01, or a vl-* preset) also the vision config, image_token_index, the vision\n"
               "parameter counts (vision tower, projector, image_newline) and the vision weights' memory (bf16).\n",
               {}});
  s.push_back({"forward",
               "run a prompt (prefill) and decode tokens, dump logits and hidden states to safetensors",
               {kModel,
                {"tokens", "1,2,3", "the prompt's token ids (or --tokens-file)"},
                {"tokens-file", "PATH", "the prompt from a file ('-': standard input; at most 128 MiB)"},
                {"decode-tokens", "4,5", "token ids fed one at a time through the decode path after the prompt"},
                {"decode-tokens-file", "PATH", "the decode tokens from a file ('-': standard input)"},
                kBackend,
                {"dump", "OUT.safetensors", "write logits, hidden_states, decode_logits (docs/forward-dump.md)"},
                kImages,
                kWeights,
                kLayers,
                {"hidden-in", "SLICE.safetensors", "start from the hidden states of the --dump of the run of the "
                                                   "layers before (forward --layers X:A) instead of the embedding"},
                kJson},
               {},
               "Runs the prompt as one prefill, then feeds each decode token through the decode path.\n"
               "MiniMax-VL-01 (--images): each occurrence of the config's image_token_index in the prompt is one\n"
               "image, in order; it is expanded to that image's token count (576 + rows x (cols + 1)) before the\n"
               "prefill, and the image's features are spliced there. The dump then adds pixel_values\n"
               "[crops, 3, 336, 336] and image_features [image tokens, H], and covers the expanded sequence\n"
               "(docs/forward-dump.md#images).\n"
               "Token files: decimal token ids separated by whitespace and/or commas, nothing else (\"1 2 3\",\n"
               "\"1,2,3\", one per line); an empty element (\",,\", a leading or trailing comma), a non-integer or an\n"
               "id outside [0, vocab_size) is an error naming the file and the element's 1-based index (bytes that\n"
               "are not printable are shown escaped, e.g. \\x00). An inline list and a file for the same tokens\n"
               "cannot both be given.\n"
               "The dump holds F32 tensors: logits [S, V] (every prompt position), hidden_states [L, S, H]\n"
               "(the tensor leaving each decoder layer) and decode_logits [N, V].\n"
               "Slices (--layers A:B, or a checkpoint written by init --layers): layer l keeps the constants of\n"
               "its index in the whole model. The dump (format minimax01-forward-slice-v1) holds hidden_states\n"
               "[B-A, S, H] and the hidden state leaving layer B-1 as F64 hidden_out [S, H] and\n"
               "decode_hidden_out [N, H]; logits and decode_logits only when B is the checkpoint's last layer\n"
               "(the head follows it). --hidden-in takes such a dump of layers X:A, so slices chain bit for bit\n"
               "to the whole run (docs/slices.md).\n"
               "Ctrl-C / SIGTERM: stops after the step in progress and writes no dump (exit 130).\n",
               {"model"}});
  s.push_back({"generate",
               "generate tokens from a prompt (greedy or seeded sampling), print ids and tokens/s",
               {kModel,
                {"prompt-tokens", "1,2,3", "the prompt's token ids (or --prompt-tokens-file)"},
                {"prompt-tokens-file", "PATH", "the prompt from a file ('-': standard input), as forward's --tokens-file"},
                {"max-new-tokens", "N", "0 .. 100000000 (default 16)"},
                {"temperature", "T", "0 .. 1000; 0 = greedy (default)"},
                {"top-k", "K", "0 .. 2^31-1; 0 = off (default)"},
                {"top-p", "P", "(0, 1]; 1 = off (default)"},
                {"seed", "S", "the sampling seed: 0 .. 2^64-1 (default 0)"},
                kBackend,
                kImages,
                kWeights,
                {"layers", "A:B", "generate through decoder layers A .. B-1 only: B must be the checkpoint's last "
                                  "layer (the head samples from it; docs/slices.md)"},
                kJson},
               {},
               "Prints the new token ids and tokens/s. On cuda / cuda-sim (the optimized kernels on the GPU / on\n"
               "the CPU) the tokens are sampled on the device, drawing from the seed as the reference does, and the\n"
               "kernels used are printed. --images: as forward's. A step that fails part-way (e.g. the prompt plus\n"
               "the new tokens reach max_position_embeddings) prints the tokens generated so far, then the error\n"
               "(exit 3). Ctrl-C / SIGTERM: stops after the token in progress and prints the tokens so far\n"
               "(exit 130).\n",
               {"model"}});
  s.push_back({"check",
               "cross-check every backend layer by layer against ref-f64 or a golden case",
               {kHarnessModel,
                {"preset", "NAME", "tiny | small | vl-tiny | vl-small, seeded synthetic weights instead of --model"},
                kWeightSeed,
                kWeights,
                {"golden", "CASE_DIR", "judge against a golden case's tensors (its checkpoint unless --model/--preset)"},
                {"backends", "a,b", "the backends to judge (default: every registered one; unavailable ones are "
                                    "skipped with the reason)"},
                {"prompt-len", "N", "prefill tokens: 1 .. 100000000 (default 300: crosses the 256-token lightning "
                                    "block)"},
                {"decode-steps", "M", "0 .. 100000000 (default 4); prompt + decode must fit max_position_embeddings"},
                {"seed", "S", "seed of the prompt: 0 .. 2^64-1 (default 0)"},
                {"k", "K", "the acceptance rule's factor: (0, 1e6] (default 2)"},
                {"floor", "F", "the rule's relative floor: [0, 1] (default 1e-6)"},
                {"perturb", "[vision.]LAYER:REL", "add relative noise REL >= 0 after one layer (to show a failure)"},
                kLayers,
                {"report", "OUT.json", report_option_help("reports/check.json")}},
               {},
               "Runs a prefill of N tokens and M decode steps through every backend, twice, against ref-f64 or\n"
               "the golden case's expected tensors:\n"
               "  teacher-forced: every layer runs on the reference's input; each sub-output passes when\n"
               "    err <= K * err(ref-bf16) + floor for rel_fro, and for max_abs on tensors of >= 1024 values\n"
               "    (docs/testing.md), NMSE is under the precision's ceiling and no NaN appears;\n"
               "    router choices must agree where the margin is above rounding; rows rerouted by such flips\n"
               "    are left out of the values they swamp. Names the first diverging layer.\n"
               "  end to end (e2e.*, free running): the same numbers reported; fails only on NaN/Inf or a\n"
               "    cosine below 0.95 (MoE routing makes two correct bf16 runs diverge chaotically).\n"
               "MiniMax-VL-01 models: the prompt also holds two seeded images (300x200 and 120x500 RGB noise; N\n"
               "counts the text tokens); the vision tower is teacher-forced and judged layer by layer by the same\n"
               "rule (vision.*, projector.*). With --golden on a MiniMax-VL-01 case (golden/vl_cases) the ref-f64\n"
               "oracle is first compared with the case's stored tensors, then every backend with it.\n"
               "--perturb LAYER:REL: text decoder layer LAYER; vision.LAYER:REL: vision encoder layer LAYER.\n"
               "Details: docs/harness.md. Exit 1 on failure. Ctrl-C / SIGTERM: stops after the step in progress,\n"
               "writes the report of what was judged marked \"complete\": false (no verdict) and exits 130.\n",
               {}});
  s.push_back({"bench",
               "TTFT / TPOT per backend, per layer type, against a measured CPU roof",
               {kHarnessModel,
                {"preset", "NAME", "tiny | small | vl-tiny | vl-small, seeded synthetic weights instead of --model"},
                kWeightSeed,
                kWeights,
                {"backends", "a,b", "the backends to time (default: every available one)"},
                {"prompt-lens", "N,N", "TTFT prompt lengths: 1 .. 100000000 each, at most 64 (default 64,256,512)"},
                {"context-lens", "N,N", "TPOT context lengths: as --prompt-lens (default 256,1024)"},
                {"decode-steps", "N", "decode steps per TPOT run: 1 .. 1000000 (default 8)"},
                {"reps", "N", "timed repetitions per series: 1 .. 1000000 (default 9)"},
                {"warmup", "N", "untimed runs first: 0 .. 1000000 (default 1)"},
                {"seed", "S", "seed of the prompts: 0 .. 2^64-1 (default 0)"},
                {"image-sizes", "WxH[,WxH]", "MiniMax-VL-01: image requests, sides 1 .. 4096, at most 16 "
                                             "(default 300x200)"},
                {"report", "OUT.json", report_option_help("reports/bench.json")}},
               {},
               "Per backend: TTFT (prefill call latency) per prompt length and TPOT = (E2E - TTFT) / (N_out - 1)\n"
               "per context length, p50/p90/p99 over the repetitions after warm-up (monotonic clock), tokens/s,\n"
               "per layer type (lightning, softmax, head) and end to end; analytic FLOP and bytes\n"
               "(harness/flops.h) give GFLOP/s, GB/s and the fraction of the roof measured in the same run\n"
               "(memcpy, sgemm/dgemm). (--warmup + --reps) x (number of lengths) is at most 1000000 runs per\n"
               "backend. MiniMax-VL-01 models: also an image request per --image-sizes entry (32 text tokens +\n"
               "one seeded noise image): its TTFT and the vision tower's time per crop; backends that cannot run\n"
               "images are listed in image_skipped. --image-sizes on a text model is an error.\n"
               "Ctrl-C / SIGTERM: stops after the repetition in progress, writes the report of what was timed\n"
               "marked \"complete\": false and exits 130.\n",
               {}});
  s.push_back({"soak",
               "a seeded request stream: uptime, errors by class, latency, fault injection",
               {{"duration", "D", "how long to serve: 500ms, 30s, 2m, 1h ... up to 30 days"},
                kHarnessModel,
                kHarnessPreset,
                kWeightSeed,
                kWeights,
                {"backend", "NAME", "the backend served (default ref-f32)"},
                {"window", "W", "goodput window, up to 30 days (default: a tenth of --duration, at least 0.25 s)"},
                {"min-prompt", "N", "1 .. 100000000, <= --max-prompt (default 8)"},
                {"max-prompt", "N", "1 .. 100000000 (default 300)"},
                {"min-decode", "N", "0 .. 100000000, <= --max-decode (default 1)"},
                {"max-decode", "N", "0 .. 100000000 (default 16)"},
                {"check-rate", "R", "share of requests checked against ref-f64: [0, 1] (default 0.25)"},
                {"min-requests", "N", "keep serving past --duration until N requests: 0 .. 1e9 (default 0)"},
                {"slo-ttft-ms", "T", "TTFT objective: 0 .. 3600000 ms (default 0 = 10x the calibration request)"},
                {"slo-tpot-ms", "T", "TPOT objective: as --slo-ttft-ms"},
                {"inject", "KIND:RATE[,...]", "plant faults: nan, bitflip, alloc, slow; each must be caught"},
                {"seed", "S", "seed of the stream: 0 .. 2^64-1 (default 0)"},
                {"image-rate", "R", "MiniMax-VL-01: share of requests carrying an image: [0, 1] (default 0.25; "
                                    "a text model accepts only 0)"},
                {"report", "OUT.json", report_option_help("reports/soak.json")}},
               {},
               "Serves a seeded request stream for --duration and classifies each request: success, numerical\n"
               "failure (non-finite logits, or a sampled check against ref-f64), error (exception), SLO breach.\n"
               "Reports uptime = successful / (successful + errored) (OpenRouter; numerical failures are errored,\n"
               "SLO breaches successful), errors by class, latency percentiles and goodput per window. Every\n"
               "injected fault must be caught (exit 1 otherwise). MiniMax-VL-01 image requests (sides 32 .. 384)\n"
               "are checked and counted like the rest and reported apart (images).\n"
               "Ctrl-C / SIGTERM: stops after the request in progress, writes the report of every request served\n"
               "marked \"complete\": false (no verdict) and exits 130.\n",
               {"duration"}});
  s.push_back({"preprocess",
               "MiniMax-VL-01's any-res preprocessing of one image: plan, token count, crops dump",
               {{"image", "FILE", "a PNG or JPEG image"},
                {"model", "DIR", "read DIR/preprocessor_config.json (default: the released values)"},
                {"dump", "OUT.safetensors", "write pixel_values and crops_uint8 (docs/preprocess-dump.md)"},
                {"resize-order", "pillow-12|pillow-13", "Pillow's pass order to reproduce (default pillow-12, the "
                                                        "release's)"},
                {"max-pixels", "N", "refuse larger images before decoding: 1 .. 2^32 (default 89478485, Pillow's)"}},
               {},
               "MiniMax-VL-01's official any-res preprocessing, bit for bit: prints the original size, the chosen\n"
               "resolution, the tile grid, the crop count and the number of <image> tokens (576 + rows x\n"
               "(cols + 1)). With --model the settings come from DIR/preprocessor_config.json (checked against\n"
               "DIR/config.json's image_grid_pinpoints). The dump holds pixel_values F32 [crops, 3, 336, 336]\n"
               "(thumbnail first, then the tiles row-major) and crops_uint8 U8 [crops, 336, 336, 3] (the RGB\n"
               "crops before normalisation, as Pillow makes them) with the plan in the metadata.\n",
               {"image"}});
  s.push_back({"report",
               "render check/bench/soak reports into a self-contained HTML page",
               {{"out", "PAGE.html", "where the page goes ('-': standard output; default reports/report.html)"}},
               {{"FILE.json", "check, bench or soak reports", true}},
               "One self-contained HTML page (inline SVG charts, no network): per-layer error against tolerance,\n"
               "latency percentiles vs length, throughput vs roof, uptime timeline.\n",
               {}});
  s.push_back({"compare",
               "regression gate between two reports (numerics, or timings with a U test)",
               {{"alpha", "A", "significance of the U test: (0, 1) (default 0.05)"},
                {"threshold", "T", "relative slowdown of the median that counts: [0, 100] (default 0.05)"},
                {"num-factor", "F", "growth of a tensor's rel_fro that counts: [1, 1e6] (default 2)"},
                {"uptime-drop", "P", "soak: uptime points lost that count: [0, 100] (default 1)"},
                {"allow-missing", "", "what the old report has and the new one lacks is a warning, not a regression"},
                {"allow-different-model", "", "compare reports of different models"}},
               {{"OLD.json", "the baseline report"}, {"NEW.json", "the report judged"}},
               "Exit 1 on a regression: check - a tensor pass -> fail or rel_fro grown > factor x; bench - a\n"
               "slowdown of the median > threshold that a two-sided Mann-Whitney U test on the repetitions finds\n"
               "significant (p < alpha, as Google Benchmark's compare.py); soak - uptime lower by > uptime-drop\n"
               "points, more missed faults or unexplained failures. Prints what regressed.\n"
               "Also a regression: anything the old report has and the new one lacks - a backend (missing or\n"
               "now skipped), a tensor, the golden check, a bench series (text or image) - unless\n"
               "--allow-missing. Reports of different models are refused unless --allow-different-model;\n"
               "different machines are a warning.\n"
               "Google Benchmark JSON (the kernel and reference benchmarks, --benchmark_format=json\n"
               "--benchmark_repetitions=9 or more) is a third kind: each benchmark's repetitions go through the\n"
               "same U test.\n",
               {}});
  for (CommandSpec& c : s)
    c.loads_weights = c.name == "forward" || c.name == "generate" || c.name == "check" || c.name == "bench" ||
                      c.name == "soak";
  return s;
}

}  // namespace

const CommandSpec& command_spec(const std::string& name) {
  static const std::vector<CommandSpec> specs = make_specs();
  for (const CommandSpec& s : specs)
    if (s.name == name) return s;
  throw Error("internal error: no declaration for the command '" + name + "'");
}

}  // namespace mm::cli
