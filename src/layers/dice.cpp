#include "layers/dice.h"

#include <cmath>

#include "core/error.h"

namespace heed {

Dice::Dice(ParamSet& params, const std::string& name, Index width) : width_(width) {
  alpha_ = params.add(name + ".alpha", 1, width);  // zeros
  running_mean_ = params.add(name + ".running_mean", 1, width, false);
  running_var_ = params.add(name + ".running_var", 1, width, false);
  params[running_var_].setOnes();
}

Dice::Cache Dice::make_cache(Index max_rows) const {
  Cache c;
  c.normalized.resize(max_rows, width_);
  c.p.resize(max_rows, width_);
  c.mean.resize(width_);
  c.var.resize(width_);
  c.inv_std.resize(width_);
  c.sum_d.resize(width_);
  c.sum_dx.resize(width_);
  return c;
}

void Dice::forward(const ParamSet& params, const ConstMatrixView& s, MatrixView y, Cache& cache,
                   bool training) const {
  const Index n = s.rows();
  HEED_CHECK(s.cols() == width_ && y.cols() == width_,
             "dice: width {} expected, got input {} and output {}", width_, s.cols(), y.cols());
  HEED_CHECK(n <= cache.normalized.rows(), "dice: {} rows but the cache holds {}", n,
             cache.normalized.rows());
  cache.rows = n;
  cache.training = training;
  if (n == 0) return;
  if (training) {
    cache.mean = s.colwise().mean();
    cache.var = (s.rowwise() - cache.mean).array().square().colwise().mean().matrix();
  } else {
    cache.mean = params[running_mean_].row(0);
    cache.var = params[running_var_].row(0);
  }
  cache.inv_std = (cache.var.array() + kEpsilon).rsqrt();
  const auto alpha = params[alpha_].row(0).array();
  // Whole-matrix array expressions so Eigen vectorizes the exp (a scalar std::exp loop here
  // was the single largest cost of training a DIN model).
  auto x = cache.normalized.topRows(n).array();
  auto p = cache.p.topRows(n).array();
  x = (s.rowwise() - cache.mean).array().rowwise() * cache.inv_std.array();
  p = (1.0f + (-x).exp()).inverse();
  y.array() = s.array() * ((p.rowwise() * (1.0f - alpha)).rowwise() + alpha);
}

void Dice::forward_eval_in_place(const ParamSet& params, MatrixView s) const {
  HEED_CHECK(s.cols() == width_, "dice: width {} expected, got {}", width_, s.cols());
  const auto mean = params[running_mean_].row(0).array();
  const Eigen::RowVectorXf inv_std = (params[running_var_].row(0).array() + kEpsilon).rsqrt();
  const auto alpha = params[alpha_].row(0).array();
  const Eigen::RowVectorXf keep = 1.0f - alpha;
  // Row by row: a row of the widths DIN uses is a few vector registers, so each row is loaded
  // once, transformed, and stored.
  for (Index r = 0; r < s.rows(); ++r) {
    auto v = s.row(r).array();
    const auto p = (1.0f + (-(v - mean) * inv_std.array()).exp()).inverse();
    v = v * (p * keep.array() + alpha);
  }
}

void Dice::backward(const ParamSet& params, const ConstMatrixView& s, const ConstMatrixView& dy,
                    MatrixView ds, Cache& cache, Gradients& grads) const {
  const Index n = cache.rows;
  HEED_CHECK(s.rows() == n && dy.rows() == n && ds.rows() == n,
             "dice: backward over {} rows after a forward over {}", s.rows(), n);
  if (n == 0) return;
  const auto alpha = params[alpha_].row(0);
  auto d_alpha = grads[alpha_].row(0);
  // ds first holds d normalized = dy * s (1 - alpha) p (1 - p).
  for (Index r = 0; r < n; ++r)
    for (Index c = 0; c < width_; ++c) {
      const float p = cache.p(r, c), g = dy(r, c), v = s(r, c);
      d_alpha(c) += g * v * (1.0f - p);
      ds(r, c) = g * v * (1.0f - alpha(c)) * p * (1.0f - p);
    }
  if (cache.training) {
    // Through the batch statistics: ds = inv_std (dx - mean(dx) - x mean(dx x)), x = normalized.
    cache.sum_d.setZero();
    cache.sum_dx.setZero();
    for (Index r = 0; r < n; ++r)
      for (Index c = 0; c < width_; ++c) {
        cache.sum_d(c) += ds(r, c);
        cache.sum_dx(c) += ds(r, c) * cache.normalized(r, c);
      }
    const float inv_n = 1.0f / static_cast<float>(n);
    for (Index r = 0; r < n; ++r)
      for (Index c = 0; c < width_; ++c)
        ds(r, c) = cache.inv_std(c) * (ds(r, c) - cache.sum_d(c) * inv_n -
                                       cache.normalized(r, c) * cache.sum_dx(c) * inv_n);
  } else {
    for (Index r = 0; r < n; ++r) ds.row(r).array() *= cache.inv_std.array();
  }
  // The direct path, p held fixed.
  for (Index r = 0; r < n; ++r)
    for (Index c = 0; c < width_; ++c)
      ds(r, c) += dy(r, c) * (alpha(c) + cache.p(r, c) * (1.0f - alpha(c)));
}

void Dice::update_running_statistics(ParamSet& params,
                                     const std::vector<const Cache*>& caches) const {
  int used = 0;
  Eigen::RowVectorXf mean = Eigen::RowVectorXf::Zero(width_),
                     var = Eigen::RowVectorXf::Zero(width_);
  for (const Cache* c : caches) {
    if (!c || !c->training || c->rows == 0) continue;
    mean += c->mean;
    var += c->var;
    ++used;
  }
  if (used == 0) return;
  const float share = (1.0f - kMomentum) / static_cast<float>(used);
  auto running_mean = params[running_mean_].row(0);
  auto running_var = params[running_var_].row(0);
  running_mean = kMomentum * running_mean + share * mean;
  running_var = kMomentum * running_var + share * var;
}

}  // namespace heed
