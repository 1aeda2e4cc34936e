#include "layers/activation.h"

#include "core/error.h"

namespace heed {

Activation::Activation(ParamSet& params, const std::string& name, ActivationKind kind, Index width) : kind_(kind) {
  if (kind_ == ActivationKind::kPrelu) {
    alpha_ = params.add(name + ".alpha", 1, width);
    params[alpha_].setConstant(0.25f);
  }
}

void Activation::forward(const ParamSet& params, const ConstMatrixView& z_all, Index rows, MatrixView a_all,
                         Cache& /*cache*/, Pass /*pass*/) const {
  const auto z = z_all.topRows(rows);
  auto a = a_all.topRows(rows);
  if (kind_ == ActivationKind::kRelu) {
    a = z.cwiseMax(0.0f);
    return;
  }
  const auto alpha = params[alpha_].row(0);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < z.cols(); ++c) {
      const float v = z(r, c);
      a(r, c) = v > 0 ? v : alpha(c) * v;
    }
}

void Activation::backward(const ParamSet& params, const ConstMatrixView& z_all, Index rows,
                          const ConstMatrixView& da_all, MatrixView* dz_all, Cache& /*cache*/,
                          Gradients& grads) const {
  const auto z = z_all.topRows(rows);
  const auto da = da_all.topRows(rows);
  if (kind_ == ActivationKind::kRelu) {
    if (dz_all) dz_all->topRows(rows) = (z.array() > 0.0f).select(da, 0.0f);
    return;
  }
  const auto alpha = params[alpha_].row(0);
  auto dalpha = grads[alpha_].row(0);
  if (!dz_all) {  // alpha's gradient alone
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < z.cols(); ++c)
        if (!(z(r, c) > 0)) dalpha(c) += da(r, c) * z(r, c);
    return;
  }
  auto dz = dz_all->topRows(rows);
  for (Index r = 0; r < rows; ++r)
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
