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

}  // namespace mm::harness
