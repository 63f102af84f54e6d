// Tests that need a GPU (docs/testing.md#gpu-tests).
//
//   MM_NEEDS_GPU(present);   first statement of every test that needs a GPU
//
// In the nvcc build (the MM_CUDA macro, from mm_optimized_cuda) it evaluates `present` (a device query such
// as backend_cuda::device_present()); in a build without nvcc it never evaluates it (the names need not
// exist there). Without a device, or without the nvcc build, the test is skipped with the reason -- unless
// the environment variable MM_REQUIRE_GPU is "1" (a machine that must have a GPU: CI on a CUDA machine,
// scripts/gpu-kit.sh run), where the test fails with "MM_REQUIRE_GPU=1 but <reason>" instead.
//
// The CTest label `gpu` is given by name (tests/CMakeLists.txt, mm_label_gpu_tests): a test that needs a
// GPU has `Cuda` or `Gpu` in its full name (Suite.Name). MM_NEEDS_GPU checks it, so a test that would
// escape the label fails instead.
#pragma once

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace mm::test {

// MM_REQUIRE_GPU=1: every GPU skip is a failure.
inline bool gpu_required() {
  const char* v = std::getenv("MM_REQUIRE_GPU");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// The naming rule behind the `gpu` label (the regex of mm_label_gpu_tests in tests/CMakeLists.txt).
inline bool named_as_gpu_test(const std::string& full_name) {
  return full_name.find("Cuda") != std::string::npos || full_name.find("Gpu") != std::string::npos;
}

inline void expect_named_as_gpu_test() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return;
  const std::string full = std::string(info->test_suite_name()) + "." + info->name();
  if (!named_as_gpu_test(full))
    ADD_FAILURE() << full << " needs a GPU but its name has neither 'Cuda' nor 'Gpu': it would not get the "
                  << "CTest label gpu (tests/CMakeLists.txt, mm_label_gpu_tests)";
}

}  // namespace mm::test

// A macro: GTEST_SKIP / GTEST_FAIL only leave the function they are written in.
#define MM_GPU_UNAVAILABLE_(reason)                                                     \
  do {                                                                                  \
    if (::mm::test::gpu_required()) GTEST_FAIL() << "MM_REQUIRE_GPU=1 but " << (reason); \
    GTEST_SKIP() << (reason);                                                           \
  } while (0)

#if MM_CUDA
#define MM_NEEDS_GPU(present)                                                                         \
  do {                                                                                                \
    ::mm::test::expect_named_as_gpu_test();                                                           \
    if (!(present)) MM_GPU_UNAVAILABLE_("no CUDA device (cudaGetDeviceCount failed or returned 0)"); \
  } while (0)
#else
#define MM_NEEDS_GPU(present)                                     \
  do {                                                            \
    ::mm::test::expect_named_as_gpu_test();                       \
    MM_GPU_UNAVAILABLE_("built without nvcc (MM_CUDA off)");      \
  } while (0)
#endif
