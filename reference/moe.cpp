#include "reference/moe.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "reference/linear.h"

namespace mm::ref {

template <class P>
RouterChoice<typename P::T> route(const Mat<typename P::T>& logits, int top_k) {
  using T = typename P::T;
  const Eigen::Index n = logits.rows(), E = logits.cols();
  RouterChoice<T> rc;
  rc.logits = logits;
  rc.probs.resize(n, E);
  rc.ids.assign(static_cast<std::size_t>(n), {});
  rc.weights.assign(static_cast<std::size_t>(n), {});
  std::vector<int> order(static_cast<std::size_t>(E));
  for (Eigen::Index t = 0; t < n; ++t) {
    const T mx = logits.row(t).maxCoeff();
    T sum = 0;
    for (Eigen::Index e = 0; e < E; ++e) sum += (rc.probs(t, e) = std::exp(logits(t, e) - mx));
    rc.probs.row(t) /= sum;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return rc.probs(t, a) > rc.probs(t, b); });
    T wsum = 0;
    for (int j = 0; j < top_k; ++j) wsum += rc.probs(t, order[static_cast<std::size_t>(j)]);
    for (int j = 0; j < top_k; ++j) {
      const int e = order[static_cast<std::size_t>(j)];
      rc.ids[static_cast<std::size_t>(t)].push_back(e);
      rc.weights[static_cast<std::size_t>(t)].push_back(P::r(rc.probs(t, e) / wsum));
    }
  }
  return rc;
}

template <class P>
Mat<typename P::T> expert_forward(const Mat<typename P::T>& x, const ExpertWeights<typename P::T>& w) {
  using T = typename P::T;
  Mat<T> g = linear<P>(x, w.w1);
  const Mat<T> u = linear<P>(x, w.w3);
  g = g.unaryExpr([](T a) { return P::r(silu(a)); });  // act_fn(w1 x) is a bf16 tensor
  return linear<P>(stored<P>(g.cwiseProduct(u)), w.w2);
}

template <class P>
Mat<typename P::T> moe(const Mat<typename P::T>& x, const MoEWeights<typename P::T>& w, int top_k,
                       RouterChoice<typename P::T>* choice) {
  using T = typename P::T;
  const Eigen::Index n = x.rows(), E = w.gate.out_features();
  if (w.experts.empty() ? !w.stored_expert : static_cast<Eigen::Index>(w.experts.size()) != E)  // message built only then
    throw Error("moe: " + std::to_string(w.experts.size()) + " experts for a router of " + std::to_string(E) +
                " (and no stored experts)");
  RouterChoice<T> rc = route<P>(linear<P>(x, w.gate), top_k);
  Mat<T> y = Mat<T>::Zero(n, x.cols());
  for (Eigen::Index e = 0; e < E; ++e) {  // ascending expert index, as index_add_ runs
    std::vector<Eigen::Index> rows;
    std::vector<T> wts;
    for (Eigen::Index t = 0; t < n; ++t)
      for (int j = 0; j < top_k; ++j)
        if (rc.ids[static_cast<std::size_t>(t)][static_cast<std::size_t>(j)] == e) {
          rows.push_back(t);
          wts.push_back(rc.weights[static_cast<std::size_t>(t)][static_cast<std::size_t>(j)]);
        }
    if (rows.empty()) continue;
    Mat<T> xe(static_cast<Eigen::Index>(rows.size()), x.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) xe.row(static_cast<Eigen::Index>(i)) = x.row(rows[i]);
    // Resident, or converted now (after the skip above: an expert no token chose is never converted).
    ExpertWeights<T> converted;
    if (w.experts.empty()) converted = w.stored_expert(static_cast<int>(e));
    const Mat<T> ye = expert_forward<P>(xe, w.experts.empty() ? converted : w.experts[static_cast<std::size_t>(e)]);
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (Eigen::Index c = 0; c < x.cols(); ++c)
        y(rows[i], c) = P::r(y(rows[i], c) + P::r(ye(static_cast<Eigen::Index>(i), c) * wts[i]));
  }
  if (choice) *choice = std::move(rc);
  return y;
}

#define MM_INSTANTIATE(P)                                                                              \
  template RouterChoice<P::T> route<P>(const Mat<P::T>&, int);                                        \
  template Mat<P::T> expert_forward<P>(const Mat<P::T>&, const ExpertWeights<P::T>&);                 \
  template Mat<P::T> moe<P>(const Mat<P::T>&, const MoEWeights<P::T>&, int, RouterChoice<P::T>*);
MM_INSTANTIATE(F64)
MM_INSTANTIATE(F32)
MM_INSTANTIATE(BF16)
#undef MM_INSTANTIATE

}  // namespace mm::ref
