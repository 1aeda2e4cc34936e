#pragma once
// Pointwise activations of hidden layers. z: [B, D] -> a: [B, D]
//   relu:  a = max(z, 0)
//   prelu: a = z > 0 ? z : alpha * z, one learned alpha per neuron ([1, D], starts at 0.25)
#include <string>

#include "config/choices.h"  // ActivationKind
#include "core/params.h"
#include "layers/layer_contract.h"

namespace heed {

class Activation {
 public:
  Activation(ParamSet& params, const std::string& name, ActivationKind kind, Index width);

  void forward(const ParamSet& params, const ConstMatrixView& z, MatrixView a) const;
  void backward(const ParamSet& params, const ConstMatrixView& z, const ConstMatrixView& da, MatrixView dz,
                Gradients& grads) const;

 private:
  ActivationKind kind_;
  ParamId alpha_ = 0;  // prelu only
};

}  // namespace heed
