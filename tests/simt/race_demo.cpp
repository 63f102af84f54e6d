// Runs the neighbour proof kernel under the TSan build. With argument "barrier" it must run clean;
// with "missing" ThreadSanitizer must report a data race in missing_barrier.cuh (CTest checks the
// report text). The race is between emulated threads (fibers) of one block.
#include <cstdio>
#include <cstring>

#include "optimized/proof/runners.cuh"

int main(int argc, char** argv) {
  const bool with_barrier = argc > 1 && std::strcmp(argv[1], "barrier") == 0;
  std::vector<float> in(2 * 64);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  const std::vector<float> out = mm::proof::run_neighbour(in, 64, with_barrier);
  std::printf("neighbour kernel %s barrier: out[0] = %g\n", with_barrier ? "with" : "WITHOUT", out[0]);
  return 0;
}
