// mm::simt::launch: run a kernel over a grid on the CPU. Synchronous; the parameters are copied once
// and every emulated thread receives its own copy, as kernel parameters are per thread on the GPU.
#pragma once
#include <tuple>
#include <type_traits>
#include <utility>

#include "runtime.h"

namespace mm::simt {

template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t dynamic_smem, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel argument count mismatch");
  using Params = std::tuple<std::decay_t<P>...>;
  struct Closure {
    void (*kernel)(P...);
    Params params;
  } closure{kernel, Params(std::forward<A>(args)...)};
  auto invoke = [](const void* c) {
    const Closure& cl = *static_cast<const Closure*>(c);
    std::apply([&](const auto&... p) { cl.kernel(p...); }, cl.params);
  };
  detail::run_grid(grid, block, dynamic_smem, detail::KernelCall{invoke, &closure});
}

}  // namespace mm::simt
