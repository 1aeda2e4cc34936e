#pragma once
// Pointwise activations of hidden layers. z: [B, D] -> a: [B, D]
//   relu:  a = max(z, 0)
//   prelu: a = z > 0 ? z : alpha * z, one learned alpha per neuron ([1, D], starts at 0.25);
//          on an AVX-512 kernel where lowp::elementwise_avx512() says so (the same bits)
#include <string>

#include "config/choices.h"  // ActivationKind
#include "core/params.h"
#include "layers/layer_contract.h"

namespace heed {

class Activation {
 public:
  Activation(ParamSet& params, const std::string& name, ActivationKind kind, Index width);

  // The layer contract (layer_contract.h). Nothing is kept: backward reads z again.
  using Input = ConstMatrixView;       // z [rows, D]
  using Output = MatrixView;           // a [rows, D]
  using OutputGrad = ConstMatrixView;  // da [rows, D]
  using InputGrad = MatrixView;        // dz [rows, D]
  using Cache = NoCache;
  Cache make_cache(Index /*max_rows*/) const { return {}; }

  void forward(const ParamSet& params, const ConstMatrixView& z, Index rows, MatrixView a, Cache& cache,
               Pass pass) const;
  void backward(const ParamSet& params, const ConstMatrixView& z, Index rows, const ConstMatrixView& da,
                MatrixView* dz, Cache& cache, Gradients& grads) const;

  ActivationKind kind() const { return kind_; }
  ParamId alpha() const { return alpha_; }  // PReLU's slopes [1, D]

 private:
  ActivationKind kind_;
  ParamId alpha_ = 0;  // prelu only
};
static_assert(Layer<Activation>);

}  // namespace heed
