#pragma once
// The finite-difference checker every layer test shares, and the model's.
//
// check_layer_gradients drives any heed::Layer through the contract (layers/layer_contract.h):
// it fills the layer's inputs and an upstream gradient R with random values, takes the scalar
// loss L = sum(output * R) (so dL/doutput = R), runs backward once, and compares the analytic
// gradient of every input entry and every trainable parameter entry with the central difference
//   (L(v + h) - L(v - h)) / 2h
// on a sample of entries. It then checks the contract's rule for input gradients: backward
// with a null d_input accumulates the same parameter gradients.
//
// Tolerance: the layers run in float. L sums a few hundred products of O(1) values, so each
// evaluation carries a rounding error of about 1e-7 * sum|terms| ~ 1e-5; divided by 2h (h =
// 1e-2 by default) that is ~1e-3 in the difference, hence the absolute tolerance of 2e-3; the
// truncation error of the central difference is O(h^2 f''') and a few percent of the value at
// most for the smooth layers here, hence the relative 2e-2. Tests whose inputs sit near a kink
// (ReLU at 0) or whose losses are larger set their own, with a comment.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/params.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "layers/layer_contract.h"

namespace heed::testing {

inline Matrix random_matrix(Index rows, Index cols, Rng& rng, float scale = 1.0f) {
  Matrix m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.normal()) * scale;
  return m;
}

// |a - reference| / |reference| in the Frobenius norm: how far reduced-precision results (the
// bf16 training products) sit from fp32's.
inline float relative_difference(const Matrix& a, const Matrix& reference) {
  return (a - reference).norm() / std::max(reference.norm(), 1e-30f);
}

// sum(a * b) in double.
inline double dot(const ConstMatrixView& a, const ConstMatrixView& b) {
  double s = 0;
  for (Index r = 0; r < a.rows(); ++r)
    for (Index c = 0; c < a.cols(); ++c) s += static_cast<double>(a(r, c)) * b(r, c);
  return s;
}

struct GradientCheckOptions {
  float step = 1e-2f;          // h
  double relative_tolerance = 2e-2;
  double absolute_tolerance = 2e-3;
  Index max_entries = 60;      // entries sampled per tensor
  std::uint64_t seed = 7;
};

// `values` is perturbed in place (and restored); `analytic` holds the gradient the layer
// computed for it; `loss` recomputes the scalar loss from scratch.
inline void expect_gradient_matches(const std::string& what, Matrix& values, const Matrix& analytic,
                                    const std::function<double()>& loss, const GradientCheckOptions& o = {}) {
  ASSERT_EQ(values.rows(), analytic.rows()) << what;
  ASSERT_EQ(values.cols(), analytic.cols()) << what;
  Rng rng(o.seed);
  const Index n = values.size();
  const Index checks = std::min(n, o.max_entries);
  int failures = 0;
  for (Index k = 0; k < checks; ++k) {
    const Index i = checks == n ? k : static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
    const float original = values.data()[i];
    values.data()[i] = original + o.step;
    const double up = loss();
    values.data()[i] = original - o.step;
    const double down = loss();
    values.data()[i] = original;
    const double numeric = (up - down) / (2.0 * o.step);
    const double got = analytic.data()[i];
    const double allowed = o.absolute_tolerance + o.relative_tolerance * std::max(std::fabs(numeric), std::fabs(got));
    if (std::fabs(numeric - got) > allowed && failures++ < 5) {
      ADD_FAILURE() << what << "[" << i << "]: analytic " << got << " vs finite difference " << numeric;
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << checks << " entries differ";
}

// One layer under test: the buffers its contract types view. The checker fills `inputs` (then
// calls `prepare`, which may move values off a kink or fix structure) and `d_outputs`; `input`,
// `output`, `d_output` and `d_input` make the layer's views of those buffers.
template <Layer L>
struct LayerProbe {
  struct Tensor {
    std::string name;
    Matrix* values;    // an input the checker perturbs
    Matrix* gradient;  // where backward writes its gradient (same shape)
  };
  std::vector<Tensor> inputs;
  std::vector<Matrix*> outputs;    // what forward writes; L = sum_k outputs[k] . d_outputs[k]
  std::vector<Matrix*> d_outputs;  // the upstream gradient, same shapes
  // A view type comes by value; a buffer type that cannot be copied (POSO's gate gradients), by
  // reference.
  template <class T>
  using Made = std::conditional_t<std::is_copy_constructible_v<T>, T, const T&>;
  std::function<typename L::Input()> input;
  std::function<typename L::Output()> output;
  std::function<Made<typename L::OutputGrad>()> d_output;
  std::function<typename L::InputGrad()> d_input;
  std::function<void()> prepare = [] {};
  // Asked after the first forward: false when the drawn values sit too near a kink of the layer
  // for finite differences (the checker then checks nothing and returns false; a test draws
  // again with another seed).
  std::function<bool()> usable = [] { return true; };
  float input_scale = 1.0f;
};

// Returns whether it checked (probe.usable() held).
template <Layer L>
bool check_layer_gradients(const std::string& what, const L& layer, ParamSet& params, Index rows,
                           typename L::Cache& cache, LayerProbe<L>& probe, Pass pass,
                           const GradientCheckOptions& o = {}) {
  Rng rng(o.seed * 7919 + 1);
  for (auto& t : probe.inputs)
    *t.values = random_matrix(t.values->rows(), t.values->cols(), rng, probe.input_scale);
  probe.prepare();
  for (Matrix* r : probe.d_outputs) *r = random_matrix(r->rows(), r->cols(), rng);
  // A fresh copy of the pass each time: dropout would draw again, so it must be off here.
  auto loss = [&] {
    layer.forward(params, probe.input(), rows, probe.output(), cache, pass);
    double sum = 0;
    for (std::size_t k = 0; k < probe.outputs.size(); ++k)
      sum += dot(probe.outputs[k]->topRows(rows), probe.d_outputs[k]->topRows(rows));
    return sum;
  };
  loss();
  if (!probe.usable()) return false;
  Gradients grads(params);
  typename L::InputGrad d_input = probe.d_input();
  layer.backward(params, probe.input(), rows, probe.d_output(), &d_input, cache, grads);
  std::vector<Matrix> analytic;  // copied: the loss evaluations below overwrite the buffers
  for (auto& t : probe.inputs) analytic.push_back(*t.gradient);

  for (std::size_t k = 0; k < probe.inputs.size(); ++k)
    expect_gradient_matches(what + ": input " + probe.inputs[k].name, *probe.inputs[k].values, analytic[k], loss, o);
  for (ParamId p = 0; p < params.size(); ++p)
    if (params.param(p).trainable)
      expect_gradient_matches(what + ": " + params.param(p).name, params[p], grads[p], loss, o);

  // The one rule for input gradients: null d_input, the same parameter gradients.
  loss();
  Gradients without(params);
  layer.backward(params, probe.input(), rows, probe.d_output(), nullptr, cache, without);
  for (ParamId p = 0; p < params.size(); ++p) {
    const double differ = (without[p] - grads[p]).cwiseAbs().maxCoeff();
    EXPECT_LE(differ, 1e-5 * (1.0 + grads[p].cwiseAbs().maxCoeff()))
        << what << ": " << params.param(p).name << " without an input gradient";
  }
  return true;
}

}  // namespace heed::testing
