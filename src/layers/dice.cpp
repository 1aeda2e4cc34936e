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
  c.p.resize(max_rows, width_);
  c.mean.resize(width_);
  c.var.resize(width_);
  c.inv_std.resize(width_);
  c.sum_d.resize(width_);
  c.sum_dx.resize(width_);
  return c;
}

// Every pass below goes row by row and does all its work on a row while it is in cache: a row
// of the widths DIN uses is a few vector registers, and the matrices (one row per history
// value) are larger than the cache. The gate is Eigen's vectorized logistic (a rational
// approximation within a few ulps of 1 / (1 + exp(-x))).

void Dice::forward(const ParamSet& params, const ConstMatrixView& s, MatrixView y, Cache& cache,
                   bool training) const {
  const Index n = s.rows();
  HEED_CHECK(s.cols() == width_ && y.cols() == width_,
             "dice: width {} expected, got input {} and output {}", width_, s.cols(), y.cols());
  HEED_CHECK(n <= cache.p.rows(), "dice: {} rows but the cache holds {}", n, cache.p.rows());
  cache.rows = n;
  cache.training = training;
  if (n == 0) return;
  if (training) {
    // Two read-only sweeps, row by row (Eigen's column-wise reductions of a row-major matrix
    // took several times the instructions): the variance about the mean, not E[s^2] - mean^2,
    // which loses the digits of a small variance under a large mean.
    const float inv_n = 1.0f / static_cast<float>(n);
    cache.mean.setZero();
    for (Index r = 0; r < n; ++r) cache.mean += s.row(r);
    cache.mean *= inv_n;
    cache.var.setZero();
    for (Index r = 0; r < n; ++r) cache.var.array() += (s.row(r) - cache.mean).array().square();
    cache.var *= inv_n;
  } else {
    cache.mean = params[running_mean_].row(0);
    cache.var = params[running_var_].row(0);
  }
  cache.inv_std = (cache.var.array() + kEpsilon).rsqrt();
  const auto mean = cache.mean.array(), inv_std = cache.inv_std.array();
  const auto alpha = params[alpha_].row(0).array();
  const Eigen::RowVectorXf keep = 1.0f - alpha;
  for (Index r = 0; r < n; ++r) {
    const auto v = s.row(r).array();
    auto p = cache.p.row(r).array();
    p = ((v - mean) * inv_std).logistic();
    y.row(r).array() = v * (p * keep.array() + alpha);
  }
}

void Dice::forward_eval_in_place(const ParamSet& params, MatrixView s) const {
  HEED_CHECK(s.cols() == width_, "dice: width {} expected, got {}", width_, s.cols());
  const auto mean = params[running_mean_].row(0).array();
  const Eigen::RowVectorXf inv_std = (params[running_var_].row(0).array() + kEpsilon).rsqrt();
  const auto alpha = params[alpha_].row(0).array();
  const Eigen::RowVectorXf keep = 1.0f - alpha;
  for (Index r = 0; r < s.rows(); ++r) {
    auto v = s.row(r).array();
    v = v * (((v - mean) * inv_std.array()).logistic() * keep.array() + alpha);
  }
}

void Dice::backward(const ParamSet& params, const ConstMatrixView& s, const ConstMatrixView& dy,
                    MatrixView ds, Cache& cache, Gradients& grads) const {
  const Index n = cache.rows;
  HEED_CHECK(s.rows() == n && dy.rows() == n && ds.rows() == n,
             "dice: backward over {} rows after a forward over {}", s.rows(), n);
  if (n == 0) return;
  const auto alpha = params[alpha_].row(0).array();
  const Eigen::RowVectorXf keep = 1.0f - alpha;
  const auto mean = cache.mean.array(), inv_std = cache.inv_std.array();
  auto d_alpha = grads[alpha_].row(0).array();
  // With p = sigmoid(x), x = (s - mean) inv_std, y = s (alpha + p (1 - alpha)):
  //   d alpha      += dy s (1 - p)
  //   d x           = dy s (1 - alpha) p (1 - p)
  //   ds (direct)   = dy (alpha + p (1 - alpha))          (p held fixed)
  if (!cache.training) {
    // Fixed statistics: ds = d x inv_std + direct, in one sweep.
    for (Index r = 0; r < n; ++r) {
      const auto v = s.row(r).array(), g = dy.row(r).array();
      const auto p = cache.p.row(r).array();
      d_alpha += g * v * (1.0f - p);
      ds.row(r).array() =
          g * v * keep.array() * p * (1.0f - p) * inv_std + g * (p * keep.array() + alpha);
    }
    return;
  }
  // Through the batch statistics: ds = inv_std (dx - mean(dx) - x mean(dx x)) + direct. The
  // first sweep leaves dx in ds and sums what the second needs.
  auto sum_d = cache.sum_d.array(), sum_dx = cache.sum_dx.array();
  sum_d.setZero();
  sum_dx.setZero();
  for (Index r = 0; r < n; ++r) {
    const auto v = s.row(r).array(), g = dy.row(r).array();
    const auto p = cache.p.row(r).array();
    auto dx = ds.row(r).array();
    d_alpha += g * v * (1.0f - p);
    dx = g * v * keep.array() * p * (1.0f - p);
    sum_d += dx;
    sum_dx += dx * ((v - mean) * inv_std);
  }
  const float inv_n = 1.0f / static_cast<float>(n);
  sum_d *= inv_n;
  sum_dx *= inv_n;
  for (Index r = 0; r < n; ++r) {
    const auto v = s.row(r).array(), g = dy.row(r).array();
    const auto p = cache.p.row(r).array();
    auto d = ds.row(r).array();
    d = inv_std * (d - sum_d - (v - mean) * inv_std * sum_dx) + g * (p * keep.array() + alpha);
  }
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
