// `minimax01 info` names the GEMM library and the kernels it runs, and the tool picks OpenBLAS's kernels
// from the CPU's features when the library fell back to its SSE3 ones (reference/blas_cpu.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

std::string run(const std::string& env_and_args) {
  const std::string cmd = env_and_args + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

std::string gemm_line(const std::string& out) {
  const auto at = out.find("reference GEMMs: ");
  if (at == std::string::npos) return {};
  return out.substr(at, out.find('\n', at) - at);
}

TEST(CliInfo, NamesTheGemmKernelsAndNeverKeepsTheSse3FallbackOnAnAvx2Cpu) {
  const std::string line = gemm_line(run("env -u OPENBLAS_CORETYPE " + std::string(MM_CLI) + " info --preset tiny"));
  ASSERT_FALSE(line.empty()) << "info printed no 'reference GEMMs:' line";
  if (line.find("OpenBLAS") == std::string::npos) GTEST_SKIP() << "not linked against OpenBLAS: " << line;
  EXPECT_NE(line.find(", kernels "), std::string::npos) << line;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    EXPECT_EQ(line.find("kernels Prescott"), std::string::npos) << "the SSE3 fallback kept on an AVX2 CPU: " << line;
}

TEST(CliInfo, AUsersOpenblasCoretypeStands) {
  const std::string line =
      gemm_line(run("env OPENBLAS_CORETYPE=Prescott " + std::string(MM_CLI) + " info --preset tiny"));
  ASSERT_FALSE(line.empty());
  if (line.find("OpenBLAS") == std::string::npos) GTEST_SKIP() << "not linked against OpenBLAS: " << line;
  EXPECT_NE(line.find("kernels Prescott (OPENBLAS_CORETYPE)"), std::string::npos) << line;
}

}  // namespace
