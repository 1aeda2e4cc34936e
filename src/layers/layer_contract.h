#pragma once
// The one calling convention of every layer in src/layers, checked by the compiler: each layer
// states `static_assert(Layer<ThatLayer>)` beside its class.
//
//  * Setup: the constructor receives the input shape, registers its parameters in a ParamSet
//    and fixes its output shape. Dimensions are derived, never configured by hand. A layer object
//    holds only parameter ids and sizes; the values live in the shared ParamSet, read-only
//    during forward and backward.
//  * Types: L::Input (what forward reads: a matrix view, or a small struct of views),
//    L::Output (where forward writes), L::OutputGrad (dL/d output), L::InputGrad (where backward
//    writes dL/d input) and L::Cache (what forward keeps for backward, and scratch: empty for a
//    layer that keeps nothing). Every buffer is the caller's: the cache comes from the layer's
//    make_cache(max rows, ...), sized once for the largest batch; the caller's output and
//    gradient buffers are sized the same way. Nothing in forward or backward allocates.
//  * forward(params, input, rows, output, cache, pass): reads the first `rows` rows of the
//    input views (they may hold more) and writes the first `rows` rows of the output. `pass`
//    says training (batch statistics, dropout from pass.rng) or evaluation.
//  * backward(params, input, rows, d_output, d_input, cache, grads): follows the forward that
//    filled `cache`, on the same input and parameters. It *accumulates* (+=) parameter
//    gradients into the thread's Gradients and overwrites the input gradient. d_input is a
//    pointer, and null means the caller needs no input gradient (the layer then still computes
//    its parameter gradients). That is the one rule for input gradients.
//  * A layer may add evaluation-only entry points that a serving schedule needs (a fused kernel,
//    a shared key side, the MLP from its first layer's output); each computes the same numbers
//    as forward, and a test says so.
//  * Every layer is checked by the generic finite-difference checker (tests/layers/
//    gradient_check.h) through this concept, and keeps a naive reference implementation beside
//    any fused or optimized one.
#include <concepts>

#include "core/params.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace heed {

// Which pass a forward runs.
struct Pass {
  bool training = false;
  Rng* rng = nullptr;  // training only, for the layers that draw (dropout)

  static Pass evaluation() { return {}; }
  static Pass train(Rng* rng = nullptr) { return {true, rng}; }
};

// The cache of a layer that keeps nothing between forward and backward (backward reads the
// forward's input again).
struct NoCache {};

template <class L>
concept Layer = requires(const L& layer, const ParamSet& params, Gradients& grads, Index rows, Pass pass,
                         typename L::Cache& cache, const typename L::Input& input, typename L::Output output,
                         const typename L::OutputGrad& d_output, typename L::InputGrad* d_input) {
  { layer.forward(params, input, rows, output, cache, pass) } -> std::same_as<void>;
  { layer.backward(params, input, rows, d_output, d_input, cache, grads) } -> std::same_as<void>;
};

}  // namespace heed
