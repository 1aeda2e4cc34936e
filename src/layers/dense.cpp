#include "layers/dense.h"

#include <cmath>

#include "core/gemm.h"
#include "core/gemm_avx512.h"
#include "layers/reduced_products.h"

namespace heed {
namespace {

// W^T's packed form in ReducedProducts, beside W's (term 0).
constexpr int kTransposedTerm = -1;

}  // namespace

Dense::Dense(ParamSet& params, const std::string& name, Index in, Index out, Rng& rng)
    : in_(in), out_(out) {
  weight_ = params.add(name + ".weight", in, out);
  bias_ = params.add(name + ".bias", 1, out);
  params.init_uniform(weight_, static_cast<float>(std::sqrt(6.0 / static_cast<double>(in + out))), rng);
}

void Dense::forward(const ParamSet& params, const ConstMatrixView& x, Index rows, MatrixView y, Cache& /*cache*/,
                    Pass /*pass*/) const {
  multiply(params, x.topRows(rows), y.topRows(rows));
}

void Dense::multiply(const ParamSet& params, const ConstMatrixView& x, MatrixView y) const {
  // The product accumulates onto the bias: an assigned product would first zero y and then
  // take another pass to add the bias.
  y.rowwise() = params[bias_].row(0);
  const ReducedProducts* reduced = params.training_products() ? params.training_products() : params.reduced();
  if (reduced) {
    if (const lowp::PackedWeight* packed = reduced->find(weight_)) {
      lowp::multiply(x, *packed, y, /*accumulate=*/true);
      return;
    }
  }
  gemm(x, params[weight_], y);
}

void Dense::pack_products(const ParamSet& params, ReducedProducts& reduced) const {
  reduced.add(weight_, lowp::pack(params[weight_], reduced.precision()));
}

void Dense::list_training_packs(const ParamSet& params, ReducedProducts& packed, TrainingPacks& packs) const {
  packs.push_back({&params[weight_], &packed.slot(weight_), /*transposed=*/false});
  packs.push_back({&params[weight_], &packed.slot(weight_, kTransposedTerm), /*transposed=*/true});
}

void Dense::forward_live_inputs(const ParamSet& params, const ConstMatrixView& x, MatrixView y,
                                LiveInputs& scratch) const {
  if (params.reduced()) {
    multiply(params, x, y);
    return;
  }
  const Index rows = x.rows();
  // A column is live when the sum of its magnitudes is not zero (a NaN keeps it live).
  scratch.magnitude.setZero(in_);
  float* magnitude = scratch.magnitude.data();
  for (Index i = 0; i < rows; ++i) {
    const float* row = x.row(i).data();
    for (Index j = 0; j < in_; ++j) magnitude[j] += std::abs(row[j]);
  }
  scratch.columns.clear();
  for (Index j = 0; j < in_; ++j)
    if (magnitude[j] != 0.0f) scratch.columns.push_back(j);
  if (gemm_avx512_available()) {  // sums over the live columns in place: nothing to gather
    y.rowwise() = params[bias_].row(0);
    gemm_avx512(x, params[weight_], y, scratch.columns);
    return;
  }
  const Index live = static_cast<Index>(scratch.columns.size()), dead = in_ - live;
  // Gathering copies the live rows of W ([live, out] values) and saves [rows, dead, out]
  // multiply-adds: worth it when the saving is several times the copy, and not for a few columns.
  if (dead * rows < 4 * live || dead < in_ / 16) {
    multiply(params, x, y);
    return;
  }
  if (scratch.x.rows() < rows || scratch.x.cols() != in_) scratch.x.resize(rows, in_);
  if (scratch.weight.rows() != in_ || scratch.weight.cols() != out_) scratch.weight.resize(in_, out_);
  auto x_live = scratch.x.topLeftCorner(rows, live);
  auto w_live = scratch.weight.topRows(live);
  const Matrix& weight = params[weight_];
  for (Index c = 0; c < live; ++c) w_live.row(c) = weight.row(scratch.columns[c]);  // whole rows
  const Index* columns = scratch.columns.data();
  for (Index i = 0; i < rows; ++i) {
    const float* from = x.row(i).data();
    float* to = x_live.row(i).data();
    for (Index c = 0; c < live; ++c) to[c] = from[columns[c]];
  }
  y.rowwise() = params[bias_].row(0);
  gemm(x_live, w_live, y);
}

void Dense::backward(const ParamSet& params, const ConstMatrixView& x, Index rows, const ConstMatrixView& dy,
                     MatrixView* dx, Cache& /*cache*/, Gradients& grads) const {
  const auto x_rows = x.topRows(rows);
  const auto dy_rows = dy.topRows(rows);
  if (const ReducedProducts* packed = params.training_products()) {
    if (const lowp::PackedWeight* transposed = packed->find(weight_, kTransposedTerm)) {
      lowp::multiply_transposed_a_bf16(x_rows, dy_rows, grads[weight_], /*accumulate=*/true);
      grads[bias_] += dy_rows.colwise().sum();
      if (dx) lowp::multiply(dy_rows, *transposed, dx->topRows(rows), /*accumulate=*/false);
      return;
    }
  }
  gemm(x_rows, dy_rows, grads[weight_], {.transpose_a = true});
  grads[bias_] += dy_rows.colwise().sum();
  if (dx) gemm(dy_rows, params[weight_], dx->topRows(rows), {.transpose_b = true, .beta = 0.0f});
}

}  // namespace heed
