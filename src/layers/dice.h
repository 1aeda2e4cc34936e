#pragma once
// Dice, the data-adaptive activation of DIN (Zhou et al. 2018), per neuron d:
//   y = p(s) * s + (1 - p(s)) * alpha_d * s,   p(s) = sigmoid((s - mean_d) / sqrt(var_d + eps))
// s: [B, D] -> y: [B, D]. alpha_d is learned ([1, D], starts at 0, as in the DIN authors' code).
//
// Training: mean and var are the (biased) statistics of the B rows of this chunk, whatever their
// labels, and the gradient flows through them (batch norm without an affine step feeding a
// sigmoid gate). Evaluation and serving: the running statistics, so a row's output does not
// depend on the other rows. Running statistics start at mean 0, var 1; after a training step
// update_running_statistics folds the chunks' batch statistics in with momentum 0.99:
//   running = 0.99 * running + 0.01 * (average over the caches that saw rows of their batch stat)
// They are stored in the ParamSet as non-trainable parameters ("<name>.running_mean",
// "<name>.running_var", [1, D]) so checkpoints carry them and optimizers skip them.
#include <string>
#include <vector>

#include "core/params.h"
#include "layers/layer_contract.h"

namespace heed {

class Dice {
 public:
  static constexpr float kMomentum = 0.99f;
  static constexpr float kEpsilon = 1e-8f;

  Dice(ParamSet& params, const std::string& name, Index width);

  Index width() const { return width_; }
  ParamId alpha() const { return alpha_; }
  ParamId running_mean() const { return running_mean_; }
  ParamId running_var() const { return running_var_; }

  // Per-thread buffers for up to max_rows rows.
  struct Cache {
    Matrix p;                    // [B, D] sigmoid((s - mean) * inv_std)
    Eigen::RowVectorXf mean;     // [D] statistics the last forward used (batch or running)
    Eigen::RowVectorXf var;      // [D]
    Eigen::RowVectorXf inv_std;  // [D] 1 / sqrt(var + eps)
    Eigen::RowVectorXf sum_d;    // [D] backward scratch
    Eigen::RowVectorXf sum_dx;   // [D] backward scratch
    Index rows = 0;              // rows of the last forward
    bool training = false;       // whether the last forward used batch statistics
  };
  Cache make_cache(Index max_rows) const;

  // The layer contract (layer_contract.h).
  using Input = ConstMatrixView;       // s [rows, D]
  using Output = MatrixView;           // y [rows, D]
  using OutputGrad = ConstMatrixView;  // dy [rows, D]
  using InputGrad = MatrixView;        // ds [rows, D]

  // pass.training: batch statistics of these rows; otherwise the running ones.
  void forward(const ParamSet& params, const ConstMatrixView& s, Index rows, MatrixView y, Cache& cache,
               Pass pass) const;
  // Writes ds (must not alias s or dy) unless null, accumulates alpha's gradient; after a
  // training pass the gradient includes the batch statistics.
  void backward(const ParamSet& params, const ConstMatrixView& s, Index rows, const ConstMatrixView& dy,
                MatrixView* ds, Cache& cache, Gradients& grads) const;
  // Evaluation in place, from the running statistics: s [n, D] becomes y. What an evaluation
  // forward() computes, without a cache: the serving path's fused kernels call it on
  // blocks that are still in cache.
  void forward_eval_in_place(const ParamSet& params, MatrixView s) const;
  // Caches whose last forward was a training pass over at least one row count equally; when
  // there are none the running statistics stay as they are.
  void update_running_statistics(ParamSet& params, const std::vector<const Cache*>& caches) const;

 private:
  Index width_;
  ParamId alpha_, running_mean_, running_var_;
};
static_assert(Layer<Dice>);

}  // namespace heed
