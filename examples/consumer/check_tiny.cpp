// check_tiny: what a project using the installed minimax01 package can do in a few lines.
// Writes the seeded synthetic `tiny` checkpoint into <work dir>/tiny, runs a prompt through the ref-f32
// and ref-bf16 backends and through the ref-f64 oracle, and judges the logits with the project's shared
// acceptance constants. Exit 0: both agree with the oracle as the project's own checks require.
//   usage: check_tiny <work dir>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "core/acceptance.h"
#include "core/config.h"
#include "harness/backend.h"
#include "harness/metrics.h"
#include "reference/synthetic.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: check_tiny <work dir>\n");
    return 2;
  }
  try {
    namespace h = mm::harness;
    const std::string dir = (std::filesystem::path(argv[1]) / "tiny").string();
    std::filesystem::create_directories(dir);
    mm::ref::SyntheticOptions opt;
    opt.seed = 7;
    mm::ref::write_synthetic_checkpoint(dir, mm::preset_config("tiny"), opt);
    const h::LoadedModel model = h::load_model(dir);

    const mm::ModelInput prompt{1, 5, 9, 2, 7, 3, 11, 4};
    h::StepRequest req;  // logits of every prompt position
    auto logits = [&](const char* backend) { return h::registry().make(backend, model)->step(prompt, req).logits; };
    const h::Tensor oracle = logits("ref-f64");

    struct Judged { const char* backend; double nmse_ceiling; };
    bool ok = true;
    for (const Judged j : {Judged{"ref-f32", mm::acceptance::kNmseCeilingF32},
                           Judged{"ref-bf16", mm::acceptance::kNmseCeilingModel}}) {
      const h::ErrorStats e = h::error_stats(logits(j.backend), oracle);
      const bool pass = e.shape_ok && e.nonfinite_mismatch == 0 && std::isfinite(e.nmse) && e.nmse <= j.nmse_ceiling;
      std::printf("%-8s logits [%lld x %lld] vs ref-f64: NMSE %.3g (ceiling %.0e), rel_fro %.3g  %s\n", j.backend,
                  static_cast<long long>(oracle.shape[0]), static_cast<long long>(oracle.shape[1]), e.nmse,
                  j.nmse_ceiling, e.rel_fro, pass ? "PASS" : "FAIL");
      ok = ok && pass;
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "check_tiny: error: %s\n", e.what());
    return 3;
  }
}
