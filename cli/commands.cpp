#include "cli/commands.h"

namespace mm::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"init",
       "usage: minimax01 init --preset NAME --out DIR [--seed S] [--dtype bf16|f16|f32] [--spelling official|hf]\n"
       "                      [--max-shard-mb N]\n"
       "Writes DIR/config.json and DIR/model.safetensors (or shards + model.safetensors.index.json)\n"
       "with seeded synthetic weights. Presets: tiny, small (minimax-text-01 is refused: 912 GB).\n"
       "MiniMax-VL-01 presets vl-tiny, vl-small (minimax-vl-01 is refused: 913 GB) also write\n"
       "DIR/preprocessor_config.json and the vision tower, projector and image_newline tensors beside the text\n"
       "model; --spelling hf then writes the HF native port's tensor names (model.vision_tower.*,\n"
       "model.language_model.*) and the HF text spelling in text_config.\n"
       "--seed: 0 .. 2^64-1 (default 0); --max-shard-mb: 1 .. 1048576 (default 2048).\n",
       cmd_init},
      {"info",
       "usage: minimax01 info (--model DIR | --preset NAME)\n"
       "Prints the layer pattern, parameter counts and the memory plan without loading weights.\n"
       "Presets: tiny, small, minimax-text-01, vl-tiny, vl-small, minimax-vl-01. For a MiniMax-VL-01 model\n"
       "(model_type minimax_vl_01, or a vl-* preset) also the vision config, image_token_index, the vision\n"
       "parameter counts (vision tower, projector, image_newline) and the vision weights' memory (bf16).\n",
       cmd_info},
      {"forward",
       "usage: minimax01 forward --model DIR (--tokens 1,2,3 | --tokens-file PATH)\n"
       "                         [--decode-tokens 4,5 | --decode-tokens-file PATH]\n"
       "                         [--backend ref-f64|ref-f32|ref-bf16|cuda|cuda-sim] [--dump OUT.safetensors]\n"
       "                         [--images A.png[,B.jpg...]]\n"
       "Runs the prompt as one prefill, then feeds each decode token through the decode path.\n"
       "MiniMax-VL-01 (--images): each occurrence of the config's image_token_index in the prompt is one image,\n"
       "in order; it is expanded to that image's token count (576 + rows x (cols + 1)) before the prefill, and\n"
       "the image's features are spliced there. The dump then adds pixel_values [crops, 3, 336, 336] and\n"
       "image_features [image tokens, H], and covers the expanded sequence (docs/forward-dump.md#images).\n"
       "Token files (PATH '-' = standard input; at most 128 MiB): decimal token ids separated by whitespace\n"
       "and/or commas, nothing else (\"1 2 3\", \"1,2,3\", one per line); an empty element (\",,\", a leading\n"
       "or trailing comma), a non-integer or an id outside [0, vocab_size) is an error naming the file and\n"
       "the element's 1-based index (bytes that are not printable are shown escaped, e.g. \\x00).\n"
       "An inline list and a file for the same tokens cannot both be given.\n"
       "The dump holds F32 tensors: logits [S, V] (every prompt position), hidden_states [L, S, H]\n"
       "(the tensor leaving each decoder layer) and decode_logits [N, V]. Default backend: ref-f32.\n",
       cmd_forward},
      {"generate",
       "usage: minimax01 generate --model DIR (--prompt-tokens 1,2,3 | --prompt-tokens-file PATH)\n"
       "                          [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
       "                          [--backend ref-f64|ref-f32|ref-bf16|cuda|cuda-sim] [--images A.png[,B.jpg...]]\n"
       "--images: as forward's (MiniMax-VL-01; one image_token_index placeholder per image in the prompt).\n"
       "Greedy when the temperature is 0 (default). Prints the new token ids and tokens/s. On cuda /\n"
       "cuda-sim (the optimized kernels on the GPU / on the CPU) the tokens are sampled on the device,\n"
       "drawing from the seed as the reference does, and the kernels used are printed. Default: ref-f32.\n"
       "Ranges: --max-new-tokens 0 .. 100000000 (default 16), --temperature 0 .. 1000, --top-k 0 .. 2^31-1\n"
       "(0 = off), --top-p (0, 1] (1 = off), --seed 0 .. 2^64-1. --prompt-tokens-file: as forward's\n"
       "--tokens-file (PATH '-' = standard input). A step that fails part-way (e.g. the prompt plus the new\n"
       "tokens reach max_position_embeddings) prints the tokens generated so far, then the error (exit 3).\n",
       cmd_generate},
      {"check",
       "usage: minimax01 check [--model DIR | --preset tiny|small|vl-tiny|vl-small] [--golden CASE_DIR]\n"
       "                       [--backends a,b] [--prompt-len N] [--decode-steps M] [--seed S]\n"
       "                       [--weight-seed S] [--k K] [--floor F] [--perturb [vision.]LAYER:REL]\n"
       "                       [--report OUT.json]\n"
       "Runs a prefill of N tokens (default 300: crosses the 256-token lightning block) and M decode\n"
       "steps (default 4) through every backend (default: all registered; unavailable ones are skipped\n"
       "with the reason), twice, against ref-f64 or the golden case's expected tensors (--golden; its own\n"
       "checkpoint unless --model/--preset, whose config must match):\n"
       "  teacher-forced: every layer runs on the reference's input; each sub-output passes when\n"
       "    err <= K * err(ref-bf16) + floor for rel_fro, and for max_abs on tensors of >= 1024 values\n"
       "    (defaults K = 2, floor 1e-6 relative; docs/testing.md), NMSE is under the precision's\n"
       "    ceiling and no NaN appears;\n"
       "    router choices must agree where the margin is above rounding; rows rerouted by such flips\n"
       "    are left out of the values they swamp. Names the first diverging layer.\n"
       "  end to end (e2e.*, free running): the same numbers reported; fails only on NaN/Inf or a\n"
       "    cosine below 0.95 (MoE routing makes two correct bf16 runs diverge chaotically).\n"
       "MiniMax-VL-01 models (a minimax_vl_01 checkpoint, presets vl-tiny / vl-small): the prompt also\n"
       "holds two seeded images (300x200 and 120x500 RGB noise; N counts the text tokens, the images'\n"
       "placeholders come on top); the vision tower is teacher-forced and judged layer by layer by the same\n"
       "rule (vision.*, projector.*), a failure there named as \"vision layer L\" (the kernels' backends\n"
       "run the images through the vision kernels). With --golden on a MiniMax-VL-01 case (golden/vl_cases)\n"
       "the ref-f64 oracle is first compared with the case's stored tensors, then every backend with it.\n"
       "Details: docs/harness.md. Default model: preset tiny. --perturb adds noise after one layer (to\n"
       "show a failure; LAYER:REL = text decoder layer LAYER, vision.LAYER:REL = vision encoder layer LAYER\n"
       "of a VL model; LAYER (decimal) must exist in the model, REL a finite decimal number >= 0). Exit 1\n"
       "on failure.\n"
       "Ranges: --prompt-len 1 .. 100000000, --decode-steps 0 .. 100000000 (prompt + decode must also fit\n"
       "max_position_embeddings), --k (0, 1e6], --floor [0, 1], seeds 0 .. 2^64-1.\n"
       "Report: reports/check.json unless --report.\n",
       cmd_check},
      {"bench",
       "usage: minimax01 bench [--model DIR | --preset tiny|small] [--backends a,b] [--prompt-lens 64,256,512]\n"
       "                       [--context-lens 256,1024] [--decode-steps 8] [--reps 9] [--warmup 1] [--seed S]\n"
       "                       [--image-sizes WxH[,WxH]] [--report OUT.json]\n"
       "Per backend: TTFT (prefill call latency) per prompt length and TPOT = (E2E - TTFT) / (N_out - 1) per\n"
       "context length, p50/p90/p99 over the repetitions after warm-up (monotonic clock), tokens/s, per layer\n"
       "type (lightning, softmax, head) and end to end; analytic FLOP and bytes (harness/flops.h) give GFLOP/s,\n"
       "GB/s and the fraction of the roof measured in the same run (memcpy, sgemm/dgemm).\n"
       "MiniMax-VL-01 models: also an image request per --image-sizes entry (default 300x200: 32 text tokens\n"
       "+ one seeded noise image) - its TTFT and the vision tower's time per crop; backends that cannot run\n"
       "images are listed in image_skipped. --image-sizes on a text model is an error; sides 1 .. 4096, at\n"
       "most 16 sizes.\n"
       "Ranges: lengths 1 .. 100000000 (no empty element, at most 64 per list), --decode-steps 1 .. 1000000,\n"
       "--reps 1 .. 1000000, --warmup 0 .. 1000000, seeds 0 .. 2^64-1; (--warmup + --reps) x (number of\n"
       "prompt + context lengths) at most 1000000 series runs per backend.\n"
       "Report: reports/bench.json unless --report.\n",
       cmd_bench},
      {"soak",
       "usage: minimax01 soak --duration D [--model DIR | --preset NAME] [--backend ref-f32] [--window W]\n"
       "                      [--min-prompt 8 --max-prompt 300 --min-decode 1 --max-decode 16] [--check-rate 0.25]\n"
       "                      [--min-requests N]\n"
       "                      [--slo-ttft-ms T --slo-tpot-ms T] [--inject KIND:RATE[,KIND:RATE]] [--seed S]\n"
       "                      [--image-rate R] [--report OUT.json]\n"
       "Serves a seeded request stream for D (500ms, 30s, 2m, 1h) and classifies each request: success,\n"
       "numerical failure (non-finite logits, or a sampled check against ref-f64), error (exception),\n"
       "SLO breach. Reports uptime = successful / (successful + errored) (OpenRouter; numerical failures\n"
       "are errored, SLO breaches successful), errors by class, latency percentiles and goodput per window.\n"
       "--inject plants faults: nan, bitflip, alloc, slow; every one must be caught (exit 1 otherwise).\n"
       "MiniMax-VL-01 models: a request carries one seeded image (sides 32 .. 384) with probability\n"
       "--image-rate (default 0.25; [0, 1]; a text model accepts only 0), checked and counted like the rest\n"
       "and reported apart (images).\n"
       "Ranges: --duration / --window up to 30 days, 1 <= --min-prompt <= --max-prompt <= 100000000,\n"
       "0 <= --min-decode <= --max-decode <= 100000000, --check-rate [0, 1], --min-requests 0 .. 1e9,\n"
       "--slo-ttft-ms / --slo-tpot-ms 0 .. 3600000 (0 = 10x the calibration request), seeds 0 .. 2^64-1.\n",
       cmd_soak},
      {"preprocess",
       "usage: minimax01 preprocess --image FILE [--model DIR] [--dump OUT.safetensors]\n"
       "                            [--resize-order pillow-12|pillow-13] [--max-pixels N]\n"
       "MiniMax-VL-01's official any-res preprocessing of one PNG or JPEG image, bit for bit: prints the\n"
       "original size, the chosen resolution, the tile grid, the crop count and the number of <image> tokens\n"
       "(576 + rows x (cols + 1)). Settings come from DIR/preprocessor_config.json (checked against\n"
       "DIR/config.json's image_grid_pinpoints), or the released values without --model or that file.\n"
       "--dump writes pixel_values F32 [crops, 3, 336, 336] (thumbnail first, then the tiles row-major) and\n"
       "crops_uint8 U8 [crops, 336, 336, 3] (the RGB crops before normalisation, as Pillow makes them)\n"
       "with the plan in the metadata (docs/preprocess-dump.md).\n"
       "--resize-order: Pillow's pass order to reproduce, pillow-12 (Pillow <= 12.2, the default: the Pillow\n"
       "of MiniMax-VL-01's release) or pillow-13 (Pillow 13.0). --max-pixels: images with more pixels are\n"
       "refused before decoding (1 .. 2^32, default 89478485, Pillow's MAX_IMAGE_PIXELS).\n",
       cmd_preprocess},
      {"report",
       "usage: minimax01 report FILE.json... [--out page.html]\n"
       "Renders check/bench/soak reports into one self-contained HTML page (inline SVG charts: per-layer\n"
       "error against tolerance, latency percentiles vs length, throughput vs roof, uptime timeline).\n",
       cmd_report},
      {"compare",
       "usage: minimax01 compare OLD.json NEW.json [--alpha 0.05] [--threshold 0.05] [--num-factor 2]\n"
       "                         [--uptime-drop 1] [--allow-missing] [--allow-different-model]\n"
       "Exit 1 on a regression: check - a tensor pass -> fail or rel_fro grown > factor x; bench - a slowdown\n"
       "of the median > threshold that a two-sided Mann-Whitney U test on the repetitions finds\n"
       "significant (p < alpha, as Google Benchmark's compare.py); soak - uptime lower by > uptime-drop\n"
       "points, more missed faults or unexplained failures. Prints what regressed.\n"
       "Also a regression: anything the old report has and the new one lacks - a backend (missing or now\n"
       "skipped), a tensor, the golden check, a bench series (text or image) - unless --allow-missing (then\n"
       "a warning). Reports of different models are refused unless --allow-different-model; different\n"
       "machines are a warning.\n"
       "Google Benchmark JSON (the kernel and reference benchmarks, --benchmark_format=json\n"
       "--benchmark_repetitions=9 or more) is a third kind: each benchmark's repetitions go through the same\n"
       "U test.\n"
       "Ranges: --alpha (0, 1), --threshold [0, 100], --num-factor [1, 1e6], --uptime-drop [0, 100].\n",
       cmd_compare},
  };
  return table;
}

}  // namespace mm::cli
