#include "layers/dense.h"

#include <cmath>

#include "core/gemm.h"

namespace heed {

Dense::Dense(ParamSet& params, const std::string& name, Index in, Index out, Rng& rng)
    : in_(in), out_(out) {
  weight_ = params.add(name + ".weight", in, out);
  bias_ = params.add(name + ".bias", 1, out);
  params.init_uniform(weight_, static_cast<float>(std::sqrt(6.0 / static_cast<double>(in + out))), rng);
}

void Dense::forward(const ParamSet& params, const ConstMatrixView& x, MatrixView y) const {
  // The product accumulates onto the bias: an assigned product would first zero y and then
  // take another pass to add the bias.
  y.rowwise() = params[bias_].row(0);
  gemm(x, params[weight_], y);
}

void Dense::backward(const ParamSet& params, const ConstMatrixView& x, const ConstMatrixView& dy, MatrixView* dx,
                     Gradients& grads) const {
  gemm(x, dy, grads[weight_], {.transpose_a = true});
  grads[bias_] += dy.colwise().sum();
  if (dx) gemm(dy, params[weight_], *dx, {.transpose_b = true, .beta = 0.0f});
}

}  // namespace heed
