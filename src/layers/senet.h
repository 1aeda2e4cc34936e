#pragma once
// SENet field gating (squeeze-and-excitation, as in FiBiNET): learns, per example, how much each
// field (or embedding dimension, or element) matters and re-weights the field vectors by it.
// It multiplies, never adds: a field that is all zeros stays all zeros.
//
//   x [B, F*E] (field f of row b is columns [f*E, (f+1)*E))  ->  y [B, F*E]
//
// Only the gated fields G (a subset of the F positions, all of them by default; n = |G|) take
// part; the others are copied from x to y unchanged (bit-exact), and so is their gradient.
//
//   axis field (default), one weight per gated field:
//     squeeze     z [B, n]      mean: z_g = mean_e x_g[e]
//                               dense: z_g = x_g . s_g + c_g     s [n, E] (starts at 1/E), c [1, n]
//     excitation  a [B, n]      z -> Dense(n, h) -> ReLU -> Dense(h, n) -> gate,    h = max(1, n/r)
//     re-weight   y_g = a_g * x_g
//   axis dim, one weight per embedding dimension, shared by all gated fields:
//     squeeze     z [B, E]      mean: z = mean_g x_g
//                               dense: z = sum_g w_g x_g + c     w [1, n] (starts at 1/n), c [1, E]
//     excitation  a [B, E]      z -> Dense(E, h) -> ReLU -> Dense(h, E) -> gate,    h = max(1, E/r)
//     re-weight   y_g = a ⊙ x_g
//   axis element, one weight per element of the gated fields:
//     squeeze     z [B, n]      as for axis field
//     excitation  a [B, n*E]    z -> Dense(n, h) -> ReLU -> Dense(h, n*E) -> gate, h = max(1, n/r)
//     re-weight   y_g[e] = a[g*E + e] * x_g[e]
//
//   gate: sigmoid (weights in (0, 1)), relu (weights >= 0) or none (the raw excitation output).
// Both excitation layers have biases (a bias-free SENet is known to hurt). The dense squeeze
// starts equal to the mean squeeze.
#include <string>
#include <vector>

#include "config/choices.h"  // SenetAxis, SenetSqueeze, SenetGate
#include "core/params.h"
#include "layers/dense.h"
#include "layers/layer_contract.h"

namespace heed {

struct SenetOptions {
  SenetAxis axis = SenetAxis::kField;
  SenetSqueeze squeeze = SenetSqueeze::kMean;
  Index reduction = 3;  // r: the excitation's hidden width is max(1, n / r)
  SenetGate gate = SenetGate::kSigmoid;
  std::vector<Index> fields;  // field positions to gate, in the order of the weights; empty = all F
};

class Senet {
 public:
  // Throws heed::Error on a field position outside [0, num_fields), a repeated one, or r < 1.
  Senet(ParamSet& params, const std::string& name, Index num_fields, Index dim,
        const SenetOptions& options, Rng& rng);

  Index num_fields() const { return num_fields_; }
  Index dim() const { return dim_; }
  const SenetOptions& options() const { return options_; }
  // The gated field positions; column g of the weights belongs to field gated_fields()[g].
  const std::vector<Index>& gated_fields() const { return fields_; }
  Index squeeze_width() const { return squeeze_width_; }  // n (axis field, element) or E (axis dim)
  Index hidden_width() const { return hidden_width_; }    // h
  Index weight_width() const { return weight_width_; }    // n, E or n*E

  // What forward keeps for backward, and backward's scratch; sized once for max_rows.
  struct Cache {
    Matrix z;             // [B, squeeze_width] squeezed fields
    Matrix hidden_pre;    // [B, h] first excitation layer, before ReLU
    Matrix hidden;        // [B, h] after ReLU
    Matrix pre;           // [B, weight_width] second excitation layer, before the gate
    Matrix weights;       // [B, weight_width] the gate's output: what multiplies the fields
    Matrix d_pre;         // [B, weight_width] backward: d weights, then d pre
    Matrix d_hidden;      // [B, h]
    Matrix d_hidden_pre;  // [B, h]
    Matrix d_z;           // [B, squeeze_width]
  };
  Cache make_cache(Index max_rows) const;

  // The layer contract (layer_contract.h).
  using Input = ConstMatrixView;       // x [rows, F*E]
  using Output = MatrixView;           // y [rows, F*E]
  using OutputGrad = ConstMatrixView;  // dy [rows, F*E]
  using InputGrad = MatrixView;        // dx [rows, F*E]

  // y must not alias x. Gated fields are multiplied by their weights; fields outside the subset
  // pass through. pass does not matter (no dropout, no batch statistics).
  void forward(const ParamSet& params, const ConstMatrixView& x, Index rows, MatrixView y, Cache& cache,
               Pass pass) const;
  // Overwrites dx unless null, accumulates param grads. weight_l1 > 0 adds weight_l1 * sum
  // |weight| of every row to the loss being differentiated (pass the L1 coefficient times the
  // row's share of the loss): a weight that the loss does not hold up drifts towards 0, which is
  // what makes the weights readable as field importance. It is the one argument past the
  // contract's, and defaults to no penalty.
  void backward(const ParamSet& params, const ConstMatrixView& x, Index rows, const ConstMatrixView& dy,
                MatrixView* dx, Cache& cache, Gradients& grads, float weight_l1 = 0.0f) const;

  // The excitation's weights packed for scoring in reduced precision (whose gate is then
  // lowp::sigmoid).
  void pack_products(const ParamSet& params, ReducedProducts& reduced) const {
    for (const Dense& d : excitation_) d.pack_products(params, reduced);
  }

  // The weights of the last forward, [rows, weight_width] (for `heed explain`).
  ConstMatrixView weights(const Cache& cache, Index rows) const;

 private:
  Index num_fields_, dim_;
  SenetOptions options_;
  std::vector<Index> fields_;
  Index squeeze_width_, hidden_width_, weight_width_;
  ParamId squeeze_weight_ = 0, squeeze_bias_ = 0;  // dense squeeze only
  std::vector<Dense> excitation_;                  // two layers, ReLU between them
};
static_assert(Layer<Senet>);

}  // namespace heed
