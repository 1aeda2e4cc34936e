#pragma once
// Fully connected layer: y = x W + b.   x: [B, in]  W: [in, out]  b: [1, out]  y: [B, out]
#include <string>

#include "layers/layer_contract.h"
#include "layers/params.h"

namespace heed {

class Dense {
 public:
  // Weights uniform in +-sqrt(6 / (in + out)) (Glorot), bias zero.
  Dense(ParamSet& params, const std::string& name, Index in, Index out, Rng& rng);

  Index in() const { return in_; }
  Index out() const { return out_; }
  ParamId weight() const { return weight_; }
  ParamId bias() const { return bias_; }

  void forward(const ParamSet& params, const ConstMatrixView& x, MatrixView y) const;
  // dx may be null (the input needs no gradient).
  void backward(const ParamSet& params, const ConstMatrixView& x, const ConstMatrixView& dy, MatrixView* dx,
                Gradients& grads) const;

 private:
  Index in_, out_;
  ParamId weight_, bias_;
};

}  // namespace heed
