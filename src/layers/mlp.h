#pragma once
// The tower on top of the concatenated fields:
//   x [B, in] -> (Dense -> activation -> gate? -> dropout) per hidden layer -> Dense -> logit [B, 1]
// A hidden layer may be gated: its activations are multiplied elementwise by a caller-given
// [B, width] matrix (POSO's personalized gates); backward then returns the gate's gradient.
#include <span>
#include <string>
#include <vector>

#include "layers/activation.h"
#include "layers/dense.h"

namespace heed {

class Mlp {
 public:
  Mlp(ParamSet& params, const std::string& name, Index in, const std::vector<Index>& hidden,
      ActivationKind activation, float dropout, Rng& rng);

  Index in() const { return in_; }
  const std::vector<Index>& hidden() const { return hidden_; }

  // The layer contract (layer_contract.h). gates: empty, or one per hidden layer (nullptr: that
  // layer is not gated), each [rows, width] (POSO's, PosoGates::Gates::list).
  struct Input {
    ConstMatrixView x;  // [rows, in]
    std::span<const Matrix* const> gates = {};
  };
  using Output = MatrixView;           // logit [rows, 1]
  using OutputGrad = ConstMatrixView;  // d_logit [rows, 1]
  // d_gates: empty, or per gated layer a [rows, width] output (nullptr: not wanted).
  struct InputGrad {
    MatrixView dx;  // [rows, in]
    std::span<Matrix* const> d_gates = {};
  };
  // Per-thread buffers for one pass, sized for up to max_rows rows.
  struct Cache {
    std::vector<Matrix> pre;     // [B, width] dense outputs
    std::vector<Matrix> act;     // [B, width] activations (before gate and dropout)
    std::vector<Matrix> out;     // [B, width] what the next layer reads
    std::vector<Matrix> mask;    // [B, width] dropout multipliers (0 or 1/(1-p)); training only
    std::vector<Matrix> d_out;   // [B, width] gradient w.r.t. out
    std::vector<Matrix> d_pre;   // [B, width]
    std::vector<Dense::LiveInputs> live;  // per hidden layer: forward_after_first's gathers
  };
  Cache make_cache(Index max_rows) const;

  // Dropout (training passes with dropout > 0) draws from pass.rng.
  void forward(const ParamSet& params, const Input& input, Index rows, MatrixView logit, Cache& cache,
               Pass pass) const;
  // Evaluation from the first hidden layer's pre-activation, which the caller wrote into
  // cache.pre[0] (the request scorer sums it from per-user and per-candidate parts). gates as
  // forward's, except that a gate of one row is shared by all rows (POSO on the user's
  // features). Needs at least one hidden layer. The hidden layers after the first multiply only
  // the inputs some row switched on (Dense::forward_live_inputs): of one user's candidates, many
  // ReLU units are off for every row.
  void forward_after_first(const ParamSet& params, Index rows, Cache& cache, std::span<const Matrix* const> gates,
                           MatrixView logit) const;
  // Null d_input: neither dx nor the gates' gradients.
  void backward(const ParamSet& params, const Input& input, Index rows, const ConstMatrixView& d_logit,
                InputGrad* d_input, Cache& cache, Gradients& grads) const;

  const Dense& layer(std::size_t l) const { return layers_[l]; }  // hidden layers, then output
  // Every layer's weight packed for scoring in reduced precision.
  void pack_products(const ParamSet& params, ReducedProducts& reduced) const {
    for (const Dense& d : layers_) d.pack_products(params, reduced);
  }

  // Mixed-precision training: the packs of the hidden layers' weights for their bf16 products
  // (the output layer, one column wide, is a matrix-vector product and stays in fp32).
  void list_training_packs(const ParamSet& params, ReducedProducts& packed, TrainingPacks& packs) const {
    for (std::size_t l = 0; l < hidden_.size(); ++l) layers_[l].list_training_packs(params, packed, packs);
  }

 private:
  Index in_;
  std::vector<Index> hidden_;
  float dropout_;
  std::vector<Dense> layers_;  // hidden layers, then the output layer
  std::vector<Activation> activations_;
};
static_assert(Layer<Mlp>);

}  // namespace heed
