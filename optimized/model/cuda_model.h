// The whole MiniMax-Text-01 model on the optimized kernels (issue 5 item 6), plain types only (bf16 as
// uint16_t bits) so that the nvcc build (cuda_model.cu, make_cuda_model) and the SIMT build on the CPU
// (cuda_model_sim.cpp, make_simt_model) share one interface. Weights live on the device as bf16; the
// caches too (lightning state fp32 [n_h, d, d] per lightning layer, post-RoPE K/V bf16 [capacity, n_kv*d]
// per softmax layer, grown on demand). Batch of one sequence: the first step is the prefill (lightning
// block kernel from a zero state, softmax prefill kernel), later one-token steps are decode steps
// (lightning and softmax decode kernels). A later multi-token step continues with the lightning token
// recurrence (the reference's Continuation::Recurrent) and the softmax prefill kernel from `past`.
// Activations and scratch persist across steps and grow only for a longer step or context (the logits
// only for more logits rows), so a decode step allocates no device memory except when it crosses the KV
// capacity (doubled) or the split-KV scratch must grow (doubled): amortised, tested within a capacity
// through device_allocations(). A step returns the logits of every row, or only of its last row
// (Logits::last_row: the lm_head then runs on that row, and no [S, V] logits are made, on the device or
// the host). sample() picks the next token on the device (optimized/sampling) from the last step's last
// logits row, in either mode.
// The dataflow is reference/model.cpp + reference/decoder_layer.cpp, with bf16 rounding wherever the
// official model stores bf16 (every projection output, logits included).
// Loading from a checkpoint (core/safetensors.h) is in cuda_model_loader.h (host compiler only).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/model_input.h"

namespace mm::cuda_model {

struct Dims {
  // L: the decoder layers this model runs; a slice (docs/slices.md) runs layers first_layer ..
  // first_layer + L - 1 of the whole model, whose constants (type, slopes) the loader gives them.
  int V = 0, H = 0, I = 0, L = 0, nh = 0, nkv = 0, d = 0, rd = 0, E = 0, k = 0, block = 256;
  int first_layer = 0;
  int64_t max_pos = 0;
  double theta = 1e7, rms_eps = 1e-5, lightning_eps = 1e-6;
  bool postnorm = true;
  double alpha_linear = 1, beta_linear = 1, alpha_full = 1, beta_full = 1, alpha_mlp = 1, beta_mlp = 1;
  std::vector<int> softmax;                 // [L] 1 = softmax attention layer, 0 = lightning
  std::vector<std::vector<float>> slopes;   // [L][nh] lightning decay rates s (fp32 values)
  int inner() const { return nh * d; }
};

struct LayerHostWeights {  // bf16 bits, PyTorch Linear layout [out, in]
  std::vector<uint16_t> input_norm, post_norm;
  std::vector<uint16_t> qkv, gate, norm, out;  // lightning: [3*inner, H], [inner, H], [inner], [H, inner]
  std::vector<uint16_t> q, k, v, o;            // softmax:   [inner, H], [kv, H], [kv, H], [H, inner]
  std::vector<uint16_t> router, w1, w3, w2;    // [E, H], [E, I, H], [E, I, H], [E, H, I]
};

// MiniMax-VL-01's vision tower + projector (reference/vision_encoder.h, reference/vl_projector.h), sizes.
// D = 0: a text model (no vision weights).
struct VisionDims {
  int D = 0, I = 0, heads = 0, L = 0, C = 3, image = 336, patch = 14;
  double eps = 1e-5;
  int64_t image_token_id = -1;  // the config's image_token_index
  int side() const { return image / patch; }           // patches per crop side (24)
  int rows_per_crop() const { return side() * side() + 1; }  // 577: CLS + patches
};

struct VisionLayerHostWeights {  // bf16 bits; Linear [out, in] + bias [out], LayerNorm weight + bias [D]
  std::vector<uint16_t> ln1_w, ln1_b, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
};

struct VisionHostWeights {
  VisionDims dims;
  std::vector<uint16_t> patch, cls, pos;  // [D, C p p], [D], [N + 1, D]
  std::vector<uint16_t> pre_w, pre_b;     // pre_layrnorm [D] each
  std::vector<VisionLayerHostWeights> layers;
  std::vector<uint16_t> l1_w, l1_b, l2_w, l2_b;  // projector: [H, D] + [H], [H, H] + [H]
  std::vector<uint16_t> newline;                 // image_newline [H]
};

struct HostWeights {
  Dims dims;
  std::vector<uint16_t> embed, final_norm, lm_head;  // [V, H], [H], [V, H]
  std::vector<LayerHostWeights> layers;
  VisionHostWeights vision;  // MiniMax-VL-01 only (vision.dims.D > 0)
};

struct LayerCapture {                 // one decoder layer, this step's S rows (bf16 values as floats)
  std::vector<float> attn_out;        // [S, H] attention block output before the residual
  std::vector<float> moe_out;         // [S, H] MoE block output before the residual
  std::vector<float> output;          // [S, H] layer output (after the hook, if any)
  std::vector<float> router_logits;   // [S, E] router GEMM output as the router kernel reads it (bf16)
  std::vector<int> router_experts;    // [S, k] top-k expert ids, descending probability
  std::vector<float> lightning_attn;  // [S, n_h*d] lightning layers: attention before the inner norm
};

// Which logits rows a step computes. all_rows: [S, V], what a dump or a comparison per position reads.
// last_row: [1, V], all that choosing the next token reads; the lm_head GEMM then runs on one row
// (m = 1), so a long prompt never makes S x V logits (at V = 200064 an 8K prefill would hold ~10 GB).
enum class Logits { all_rows, last_row };

// The vision side of a step with images (capture only), every crop's rows stacked in order, bf16 values
// as floats; the names are the harness's (harness/tensor_id.h).
struct VisionLayerCapture {
  std::vector<float> attn, mlp, output;  // [crops * 577, D] out_proj / fc2 outputs, layer output (after the hook)
};
struct VisionCapture {
  int64_t crops = 0;
  std::vector<float> embeddings, pre_layrnorm;  // [crops * 577, D]  vision.embeddings, vision.pre_layrnorm
  std::vector<VisionLayerCapture> layers;       // [L_vision]         vision.layers.L.{attn, mlp, output}
  std::vector<float> features;                  // [crops * 576, D]  vision.features (CLS rows dropped)
  std::vector<float> projector;                 // [crops * 576, H]  projector.output
  std::vector<float> image_features;            // [sum N_k, H]     projector.image_features (packed rows)
};

struct StepOutput {
  int64_t S = 0;                      // the step's tokens (rows of the captures)
  std::vector<float> logits;          // [S, V], or [1, V] (row S-1) for Logits::last_row (bf16 values, as
                                      // the official .float() of a bf16 GEMM)
  std::vector<LayerCapture> layers;   // [L] (capture only)
  std::vector<float> final_norm;      // [S, H] (capture only)
  // time_layers only: per decoder layer [L], from device-timeline marks (CUDA events on the GPU, recorded
  // without synchronising; steady_clock in the SIMT build, whose launches are synchronous), read after the
  // step's one synchronisation. A layer's span excludes the download of its captured output.
  std::vector<double> layer_seconds;
  double total_seconds = 0;           // the whole step, same clock (time_layers only)
  double vision_seconds = 0;          // images only: vision tower + projector + splice (inside total_seconds)
  VisionCapture vision;               // capture and images only
};

struct Caches {
  std::vector<std::vector<float>> lightning_state;  // [L]: [n_h, d, d] fp32 for lightning layers, else empty
  std::vector<std::vector<float>> k, v;             // [L]: [position, n_kv*d] post-RoPE for softmax layers
};

// Runs after decoder layer `layer` on its output [rows, cols] (doubles); what it leaves (rounded to
// bf16) is what the next layer reads. Same contract as harness::LayerHook.
using LayerHook = std::function<void(int layer, int64_t rows, int64_t cols, double* hidden)>;
// Runs after vision encoder layer `layer` of crop `crop` (global over the step's images) on that crop's
// [577, D] output, CLS row first; what it leaves (rounded to bf16) is what the next layer reads. Same
// contract as harness::VisionLayerHook. The kernels run every crop through a layer at once, so for one
// layer the hook is called crop by crop in order, before the next layer.
using VisionHook = std::function<void(int layer, int64_t crop, int64_t rows, int64_t cols, double* hidden)>;

class Model {
 public:
  virtual ~Model() = default;
  virtual const Dims& dims() const = 0;
  virtual void reset() = 0;  // empty caches, position 0
  virtual int64_t position() const = 0;
  // Runs `in` at positions position() ...; the caller validates it first (check_model_input; the ids
  // are checked again before the embedding kernel, which would give a zero row for a bad id).
  // `logits` picks the rows of StepOutput::logits (captures have every row either way).
  // With `in.images` (a model loaded with vision weights only): the crops run through the vision tower
  // and projector, and their packed rows replace the embeddings at the image_token_id positions.
  virtual StepOutput step(const ModelInput& in, bool capture, const LayerHook& hook = {},
                          bool time_layers = false, Logits logits = Logits::all_rows,
                          const VisionHook& vision_hook = {}) = 0;
  virtual Caches caches() const = 0;
  // The next token from the last logits row of the last step, whichever its Logits mode (its bf16
  // values, as StepOutput::logits has them), chosen on the device by the fastest optimized/sampling
  // version: greedy when temperature == 0 (u unused), else temperature, top-k and top-p with the uniform
  // u in [0, 1), the same token ref::sample_token picks for those logits and that draw. mm::Error (the
  // reference's messages) on bad parameters or NaN logits, and when no step completed since reset().
  // Host helper drawing u like the reference: cuda_model::sample_next (cuda_model_loader.h).
  virtual int64_t sample(double temperature, int top_k, double top_p, double u) = 0;
  // The kernel versions in use, e.g. "lightning prefill v2_block_simt, ...".
  virtual std::string kernels() const = 0;
  // Device allocations so far by this model's build (mm::gpu::device_allocations: every model and runner
  // of the build together), for tests that assert a step allocates nothing.
  virtual uint64_t device_allocations() const = 0;
  // Bytes those allocations asked for (mm::gpu::device_allocated_bytes, same scope; frees not
  // subtracted), for tests that assert what a step holds (e.g. no [S, V] logits for Logits::last_row).
  virtual uint64_t device_allocated_bytes() const = 0;
  // Layer weight copies issued to the device so far (ModelOptions::stream_weights; 0 when resident): a
  // step over L > 2 layers copies each once, the next step's first layer included, so tests can see
  // that none is skipped or repeated.
  virtual uint64_t weight_copies() const = 0;
};

// mm::Error naming the first layer whose head dim no kernel version of its attention type takes (softmax:
// v1 1..256, tensor cores 32/64/128; lightning: its versions' dims), with the head dims each version
// takes. make_*_model checks this first; open_model (cuda_model_loader.h) before reading the weights.
// Both builds' tables take the same shapes (one source); this asks the SIMT build's.
void check_kernel_head_dims(const Dims& dims);
// The same for MiniMax-VL-01's vision tower: mm::Error naming its head dim (hidden / heads) and the head
// dims each vision_attention version takes (v1 1..256, tensor cores 32/64/128).
void check_kernel_vision_head_dims(const VisionDims& dims);

// Where the decoder layers' large matrices live (docs/memory.md "The kernels").
//   stream_weights false: all on the device, each tensor its own allocation.
//   stream_weights true:  in pinned host memory, one packed block per layer, copied to two device slots
//                         on a copy stream of their own, layer l+1's copy overlapping layer l's compute
//                         (layer_stream.cuh). The device then holds the embedding, the lm_head, the norms,
//                         routers and caches, and two layers' matrices. Same numbers bit for bit.
struct ModelOptions {
  bool stream_weights = false;
};

// SIMT build (the kernels on the CPU); defined in cuda_model_sim.cpp. `w` is consumed tensor by tensor as
// it is uploaded or packed (pass it with std::move to keep one copy of the weights in memory).
std::unique_ptr<Model> make_simt_model(HostWeights w, const ModelOptions& options = {});
// nvcc build; defined in cuda_model.cu (only linked when the GPU build exists). The same.
std::unique_ptr<Model> make_cuda_model(HostWeights w, const ModelOptions& options = {});
// Device memory free now on the `cuda` backend's device (cudaMemGetInfo); 0 without a device.
uint64_t cuda_device_free_bytes();
bool cuda_device_present();
// The device the `cuda` backend runs on, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)"; empty
// without a device. For reports (machine.gpu) and --version.
std::string cuda_device_name();

}  // namespace mm::cuda_model
