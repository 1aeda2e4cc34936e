#include "layers/activation.h"

#include "core/error.h"

namespace heed {

Activation::Activation(ParamSet& params, const std::string& name, ActivationKind kind, Index width) : kind_(kind) {
  if (kind_ == ActivationKind::kPrelu) {
    alpha_ = params.add(name + ".alpha", 1, width);
    params[alpha_].setConstant(0.25f);
  }
}

void Activation::forward(const ParamSet& params, const ConstMatrixView& z, MatrixView a) const {
  if (kind_ == ActivationKind::kRelu) {
    a = z.cwiseMax(0.0f);
    return;
  }
  const auto alpha = params[alpha_].row(0);
  for (Index r = 0; r < z.rows(); ++r)
    for (Index c = 0; c < z.cols(); ++c) {
      const float v = z(r, c);
      a(r, c) = v > 0 ? v : alpha(c) * v;
    }
}

void Activation::backward(const ParamSet& params, const ConstMatrixView& z, const ConstMatrixView& da, MatrixView dz,
                          Gradients& grads) const {
  if (kind_ == ActivationKind::kRelu) {
    dz = (z.array() > 0.0f).select(da, 0.0f);
    return;
  }
  const auto alpha = params[alpha_].row(0);
  auto dalpha = grads[alpha_].row(0);
  for (Index r = 0; r < z.rows(); ++r)
    for (Index c = 0; c < z.cols(); ++c) {
      const float v = z(r, c);
      if (v > 0) {
        dz(r, c) = da(r, c);
      } else {
        dz(r, c) = alpha(c) * da(r, c);
        dalpha(c) += da(r, c) * v;
      }
    }
}

}  // namespace heed
