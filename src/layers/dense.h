#pragma once
// Fully connected layer: y = x W + b.   x: [B, in]  W: [in, out]  b: [1, out]  y: [B, out]
#include <string>
#include <vector>

#include "core/params.h"
#include "layers/layer_contract.h"
#include "layers/reduced_products.h"

namespace heed {

class Dense {
 public:
  // Weights uniform in +-sqrt(6 / (in + out)) (Glorot), bias zero.
  Dense(ParamSet& params, const std::string& name, Index in, Index out, Rng& rng);

  Index in() const { return in_; }
  Index out() const { return out_; }
  ParamId weight() const { return weight_; }
  ParamId bias() const { return bias_; }

  // The layer contract (layer_contract.h). Dense keeps nothing: backward reads x again.
  using Input = ConstMatrixView;       // x [rows, in]
  using Output = MatrixView;           // y [rows, out]
  using OutputGrad = ConstMatrixView;  // dy [rows, out]
  using InputGrad = MatrixView;        // dx [rows, in]
  using Cache = NoCache;
  Cache make_cache(Index /*max_rows*/) const { return {}; }

  // In reduced precision (params.reduced() holds this layer's weight) the product is
  // lowp::multiply's: a row's result then depends on that row alone.
  void forward(const ParamSet& params, const ConstMatrixView& x, Index rows, MatrixView y, Cache& cache,
               Pass pass) const;
  // Adds W's packed form for scoring in reduced's precision.
  void pack_products(const ParamSet& params, ReducedProducts& reduced) const;
  // Mixed-precision training: lists the packs of W and W^T in bf16 into `packed`
  // (run_training_packs runs them). While params.training_products() holds them, forward and
  // backward run their three products (y = x W, dW += x^T dy, dx = dy W^T) in bf16 with fp32
  // sums (core/lowp.h).
  void list_training_packs(const ParamSet& params, ReducedProducts& packed, TrainingPacks& packs) const;

  // Buffers of forward_live_inputs, kept between calls so that nothing is allocated per batch.
  struct LiveInputs {
    Eigen::RowVectorXf magnitude;  // per input column, the sum of its magnitudes over the rows
    std::vector<Index> columns;    // the input columns some row needs
    Matrix x, weight;              // without AVX-512F: those columns of x, and the rows of W they multiply
  };
  // forward's y = x W + b, multiplying only the input columns that are non-zero in some row: a
  // column zero in every row (a ReLU unit that no row switched on) adds nothing to any output.
  // The same numbers to float rounding (the sum skips zero terms). With AVX-512F,
  // gemm_avx512 sums the live columns in place; otherwise it multiplies as forward does unless
  // enough columns are dead to pay for gathering the live ones. Always as forward does in
  // reduced precision (so that both scoring schedules compute the same bits).
  void forward_live_inputs(const ParamSet& params, const ConstMatrixView& x, MatrixView y,
                           LiveInputs& scratch) const;
  void backward(const ParamSet& params, const ConstMatrixView& x, Index rows, const ConstMatrixView& dy,
                MatrixView* dx, Cache& cache, Gradients& grads) const;

 private:
  // forward's product on whole views: the layer's own building block.
  void multiply(const ParamSet& params, const ConstMatrixView& x, MatrixView y) const;

  Index in_, out_;
  ParamId weight_, bias_;
};
static_assert(Layer<Dense>);

}  // namespace heed
