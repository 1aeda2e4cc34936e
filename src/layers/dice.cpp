#include "layers/dice.h"

#include <cmath>

#include "core/error.h"
#include "core/lowp.h"

namespace heed {

namespace {

// Backward's sweeps work a row in pieces of one vector register (Width = kPiece) and a remainder
// (Width = Eigen::Dynamic, at most kPiece - 1 columns): fixed-size pieces keep every
// intermediate in registers, where whole-row Eigen statements would each sweep the row again.
constexpr int kPiece = 8;
template <int Width>
using Piece = Eigen::Array<float, 1, Width, Eigen::RowMajor, 1, kPiece>;
template <int Width>
using In = Eigen::Map<const Piece<Width>>;
template <int Width>
using Out = Eigen::Map<Piece<Width>>;

// The values of one piece of columns [c, c + w) of a row.
struct Columns {
  const float *s, *dy, *p, *keep, *alpha, *mean, *inv_std;
  float *ds, *d_alpha;
};

// Fixed statistics: ds = dx inv_std + direct.
template <int Width>
void evaluation_piece(const Columns& c, Index w) {
  const In<Width> v(c.s, w), g(c.dy, w), p(c.p, w), keep(c.keep, w);
  const Piece<Width> gv = g * v, q = 1.0f - p;
  Out<Width>(c.d_alpha, w) += gv * q;
  Out<Width>(c.ds, w) = gv * keep * p * q * In<Width>(c.inv_std, w) +
                        g * (p * keep + In<Width>(c.alpha, w));
}

// Batch statistics, first sweep: dx into ds, its sums (sum_d, sum_dx) for the second.
template <int Width>
void training_piece(const Columns& c, float* sum_d, float* sum_dx, Index w) {
  const In<Width> v(c.s, w), g(c.dy, w), p(c.p, w);
  const Piece<Width> gv = g * v, q = 1.0f - p;
  Out<Width>(c.d_alpha, w) += gv * q;
  const Piece<Width> dx = gv * In<Width>(c.keep, w) * p * q;
  Out<Width>(c.ds, w) = dx;
  Out<Width>(sum_d, w) += dx;
  Out<Width>(sum_dx, w) += dx * (v - In<Width>(c.mean, w)) * In<Width>(c.inv_std, w);
}

// Second sweep: ds = inv_std (dx - mean(dx) - x mean(dx x)) + direct (the means in sum_d,
// sum_dx).
template <int Width>
void statistics_piece(const Columns& c, const float* mean_d, const float* mean_dx, Index w) {
  const In<Width> v(c.s, w), g(c.dy, w), p(c.p, w), inv_std(c.inv_std, w);
  Out<Width> d(c.ds, w);
  d = inv_std * (d - In<Width>(mean_d, w) -
                 (v - In<Width>(c.mean, w)) * inv_std * In<Width>(mean_dx, w)) +
      g * (p * In<Width>(c.keep, w) + In<Width>(c.alpha, w));
}

// Along a row: piece.operator()<kPiece>(columns, first column, kPiece) per whole piece, then
// piece.operator()<Eigen::Dynamic>(columns, first column, width) on the remaining columns.
template <typename Piece>
void along_row(Columns row, Index width, Piece piece) {
  auto at = [&row](Index offset) {
    Columns p = row;
    p.s += offset, p.dy += offset, p.p += offset, p.keep += offset, p.alpha += offset;
    p.mean += offset, p.inv_std += offset, p.ds += offset, p.d_alpha += offset;
    return p;
  };
  Index c = 0;
  for (; c + kPiece <= width; c += kPiece) piece.template operator()<kPiece>(at(c), c, kPiece);
  if (c < width) piece.template operator()<Eigen::Dynamic>(at(c), c, width - c);
}

}  // namespace

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
// value) are larger than the cache. In training the gate is Eigen's vectorized logistic (a
// rational approximation within a few ulps of 1 / (1 + exp(-x))); evaluation, in every
// precision, runs lowp::dice_eval, one pass per row.

void Dice::forward(const ParamSet& params, const ConstMatrixView& s_all, Index rows, MatrixView y_all,
                   Cache& cache, Pass pass) const {
  const Index n = rows;
  const bool training = pass.training;
  HEED_CHECK(s_all.cols() == width_ && y_all.cols() == width_,
             "dice: width {} expected, got input {} and output {}", width_, s_all.cols(), y_all.cols());
  HEED_CHECK(n <= cache.p.rows() && n <= s_all.rows() && n <= y_all.rows(),
             "dice: {} rows but the cache holds {}, the input {}, the output {}", n, cache.p.rows(),
             s_all.rows(), y_all.rows());
  const auto s = s_all.topRows(n);
  auto y = y_all.topRows(n);
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
  const auto alpha = params[alpha_].row(0).array();
  const Eigen::RowVectorXf keep = 1.0f - alpha;
  if (!training) {  // the kernel forward_eval_in_place runs, so both schedules compute the same bits
    auto p = cache.p.topRows(n);
    MatrixView gate(p);
    lowp::dice_eval(s, y, &gate, {cache.mean.data(), cache.inv_std.data(), params[alpha_].data(), keep.data()});
    return;
  }
  const auto mean = cache.mean.array(), inv_std = cache.inv_std.array();
  for (Index r = 0; r < n; ++r) {
    const auto v = s.row(r).array();
    auto p = cache.p.row(r).array();
    p = ((v - mean) * inv_std).logistic();
    y.row(r).array() = v * (p * keep.array() + alpha);
  }
}

void Dice::forward_eval_in_place(const ParamSet& params, MatrixView s) const {
  HEED_CHECK(s.cols() == width_, "dice: width {} expected, got {}", width_, s.cols());
  thread_local Eigen::RowVectorXf inv_std, keep;
  inv_std = (params[running_var_].row(0).array() + kEpsilon).rsqrt();
  keep = 1.0f - params[alpha_].row(0).array();
  lowp::dice_eval(s, s, nullptr, {params[running_mean_].data(), inv_std.data(), params[alpha_].data(), keep.data()});
}

void Dice::backward(const ParamSet& params, const ConstMatrixView& s_all, Index rows,
                    const ConstMatrixView& dy_all, MatrixView* ds_all, Cache& cache, Gradients& grads) const {
  const Index n = cache.rows, D = width_;
  HEED_CHECK(rows == n && s_all.rows() >= n && dy_all.rows() >= n && (!ds_all || ds_all->rows() >= n),
             "dice: backward over {} rows after a forward over {}", rows, n);
  if (n == 0) return;
  const auto s = s_all.topRows(n);
  const auto dy = dy_all.topRows(n);
  if (!ds_all) {  // alpha's gradient alone: d alpha += dy s (1 - p)
    auto d_alpha = grads[alpha_].row(0).array();
    for (Index r = 0; r < n; ++r)
      d_alpha += dy.row(r).array() * s.row(r).array() * (1.0f - cache.p.row(r).array());
    return;
  }
  auto ds = ds_all->topRows(n);
  // With p = sigmoid(x), x = (s - mean) inv_std, y = s (alpha + p (1 - alpha)):
  //   d alpha      += dy s (1 - p)
  //   d x           = dy s (1 - alpha) p (1 - p)
  //   ds (direct)   = dy (alpha + p (1 - alpha))          (p held fixed)
  const Eigen::RowVectorXf keep = 1.0f - params[alpha_].row(0).array();
  auto row = [&](Index r) {
    return Columns{s.row(r).data(),      dy.row(r).data(),      cache.p.row(r).data(),
                   keep.data(),          params[alpha_].data(), cache.mean.data(),
                   cache.inv_std.data(), ds.row(r).data(),      grads[alpha_].data()};
  };
  if (!cache.training) {  // fixed statistics: one sweep
    for (Index r = 0; r < n; ++r)
      along_row(row(r), D, []<int W>(const Columns& c, Index, Index w) { evaluation_piece<W>(c, w); });
    return;
  }
  // Through the batch statistics: ds = inv_std (dx - mean(dx) - x mean(dx x)) + direct. The
  // first sweep leaves dx in ds and sums what the second needs.
  float* sum_d = cache.sum_d.data();
  float* sum_dx = cache.sum_dx.data();
  cache.sum_d.setZero();
  cache.sum_dx.setZero();
  for (Index r = 0; r < n; ++r)
    along_row(row(r), D, [&]<int W>(const Columns& c, Index at, Index w) {
      training_piece<W>(c, sum_d + at, sum_dx + at, w);
    });
  const float inv_n = 1.0f / static_cast<float>(n);
  cache.sum_d *= inv_n;
  cache.sum_dx *= inv_n;
  for (Index r = 0; r < n; ++r)
    along_row(row(r), D, [&]<int W>(const Columns& c, Index at, Index w) {
      statistics_piece<W>(c, sum_d + at, sum_dx + at, w);
    });
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
