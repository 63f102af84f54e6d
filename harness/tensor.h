// The harness's common currency: every backend's outputs become name -> Tensor (doubles, row-major),
// named as the goldens name them (golden/README.md), so any two backends, or a backend and a golden
// case, compare tensor by tensor without knowing how either computed them.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mm::harness {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> values;  // row-major, numel() values
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

using TensorMap = std::map<std::string, Tensor>;

// Appends the rows of `rows` ([r, ...]) to `t` (stacking decode steps along dim 0).
void append_rows(Tensor& t, const Tensor& rows);

// argmax over the last row of a [rows, V] tensor (the greedy next token), ties to the lowest index.
int64_t argmax_last_row(const Tensor& logits);

}  // namespace mm::harness
