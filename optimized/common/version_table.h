// The one version-table type of every kernel stem (docs/architecture.md, "Kernel stems: one convention").
// Plain types only, so a stem's *_runner.h can declare its tables for both builds (backend_simt and
// backend_cuda) side by side.
//
//   KernelVersion<Args>  name, which shapes it takes (supports), launch (device pointers, asynchronous on
//                        the stream on the GPU, synchronous in the SIMT build)
//   find_version         a version by name (tests, benchmarks, the model's fixed choices)
//   pick                 the preferred version that takes the shape: the last supporting entry of a table
//                        ordered v1 (simple) -> fast; an error naming the stem, the shape and the versions
//                        when none does
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <driver_types.h>  // cudaStream_t (types only)

// Declares stem `stem`'s host API in mm::<stem>::<ns>, ns = backend_simt or backend_cuda (the build that
// defines it), with what every stem has (device_present: whether that build can run here) and the
// stem's own declarations (the variadic part: its tables, run helpers). Each stem's *_runner.h wraps it
// as MM_<STEM>_DECLARE_RUNNERS(ns) and invokes that once per build it declares, so a test or benchmark
// linking both builds sees both side by side.
#define MM_DECLARE_STEM_RUNNERS(stem, ns, ...) \
  namespace mm::stem {                         \
  inline namespace ns {                        \
  bool device_present();                       \
  __VA_ARGS__                                  \
  }                                            \
  }

namespace mm::gpu {

// The one stream type of every stem entry point (nullptr: the default stream; the SIMT build ignores it).
using Stream = cudaStream_t;

template <class A>
struct KernelVersion {
  using Args = A;
  const char* name;
  void (*launch)(const A&, Stream);
  bool (*supports)(const A&);
};

template <class A>
using VersionTable = std::vector<KernelVersion<A>>;

template <class A>
std::string version_names(const VersionTable<A>& t) {
  std::string s;
  for (size_t i = 0; i < t.size(); ++i) s += (i ? ", " : "") + std::string(t[i].name);
  return s;
}

template <class A>
const KernelVersion<A>& find_version(const VersionTable<A>& t, std::string_view name, const char* stem) {
  for (const auto& v : t)
    if (name == v.name) return v;
  throw std::invalid_argument(std::string(stem) + ": no version named '" + std::string(name) + "' (versions: " +
                              version_names(t) + ")");
}

// The preferred version for `a`: the last entry of the table that supports it (tables run v1 -> fast).
// `shape` describes `a` for the error message.
template <class A>
const KernelVersion<A>& pick(const VersionTable<A>& t, const A& a, const char* stem, const std::string& shape) {
  for (size_t i = t.size(); i-- > 0;)
    if (t[i].supports(a)) return t[i];
  throw std::invalid_argument(std::string(stem) + ": no version takes " + shape + " (versions: " + version_names(t) +
                              ")");
}

// Launches `v` after checking that it takes the shape (the entry verb of every stem goes through here).
template <class A>
void launch_checked(const KernelVersion<A>& v, const A& a, Stream stream, const char* stem) {
  if (!v.supports(a)) throw std::invalid_argument(std::string(stem) + ": " + v.name + " does not take this shape");
  v.launch(a, stream);
}

}  // namespace mm::gpu
