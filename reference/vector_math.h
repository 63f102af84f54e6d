// erf and exp over whole arrays, vectorised: the vision tower's GELU (2.4 M erf per layer of a crop) and
// softmax (5.3 M exp) spent more time in glibc's scalar erff / expf than in their GEMMs (45 + 26 ms of a
// ~130 ms layer on one core, docs/perf/vl-vision-cpu.md).
//
// The functions are SLEEF's "u10" ones (Debian's libsleef): at most 1.0 ulp from the exact value, as
// glibc's are, but a different approximation, so an output may differ from std::erf / std::exp in its
// last bit. On a CPU with AVX2 + FMA (every x86-64 server CPU since 2013) they are SLEEF's FMA builds,
// which give the same bits at 8 and 16 lanes, so AVX2 and AVX-512 machines agree. A CPU without FMA
// takes SLEEF's no-FMA SSE2 code, which is also within 1 ulp but may differ in the last bit (SLEEF's
// FMA and no-FMA code round differently; SLEEF's no-FMA builds everywhere would cost ~1.7x on erf).
// tests/reference/vector_math_test.cpp runs every path this CPU has (SSE2 always) and checks both.
#pragma once
#include <cstddef>
#include <span>

namespace mm::ref::vmath {

// x[i] <- erf(x[i]), in place.
void erf_inplace(std::span<float> x);
void erf_inplace(std::span<double> x);
// x[i] <- exp(x[i]), in place.
void exp_inplace(std::span<float> x);
void exp_inplace(std::span<double> x);

// The vector paths, for tests: each available one (the CPU has its instructions) processes x in place.
enum class Isa { Sse2, Avx2, Avx512 };
const char* to_string(Isa isa);
bool available(Isa isa);
Isa selected_isa();  // the widest available; what the functions above use
void erf_inplace(Isa isa, std::span<float> x);
void erf_inplace(Isa isa, std::span<double> x);
void exp_inplace(Isa isa, std::span<float> x);
void exp_inplace(Isa isa, std::span<double> x);

}  // namespace mm::ref::vmath
