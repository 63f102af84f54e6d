#include "harness/tensor.h"

#include "core/error.h"

namespace mm::harness {

void append_rows(Tensor& t, const Tensor& rows) {
  if (t.shape.empty()) {
    t = rows;
    return;
  }
  require(t.shape.size() == rows.shape.size() &&
              std::equal(t.shape.begin() + 1, t.shape.end(), rows.shape.begin() + 1),
          "append_rows: row shapes differ");
  t.shape[0] += rows.shape[0];
  t.values.insert(t.values.end(), rows.values.begin(), rows.values.end());
}

int64_t argmax_last_row(const Tensor& logits) {
  require(logits.shape.size() == 2 && logits.shape[0] > 0 && logits.shape[1] > 0,
          "argmax_last_row: expected a non-empty [rows, V] tensor");
  const int64_t V = logits.shape[1], r = logits.shape[0] - 1;
  int64_t best = 0;
  for (int64_t j = 1; j < V; ++j)
    if (logits.values[r * V + j] > logits.values[r * V + best]) best = j;
  return best;
}

}  // namespace mm::harness
