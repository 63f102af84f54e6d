// minimax01 --version: what this binary is and what it can run.
#pragma once
#include <string>

namespace mm::cli {

// The commit the binary was built from ("+modified" when the tree had local changes); generated at build
// time (cmake/build_commit.cmake).
const char* build_commit();

// The lines --version prints: version, commit, build type and compiler, the kernels built (SIMT layer,
// nvcc architectures) and whether each kernel backend can run here, and the reference's GEMM library.
std::string version_text();

}  // namespace mm::cli
