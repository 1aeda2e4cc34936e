// DIN target attention: the fast path (first layer split into query, key and product terms)
// against a plain-loop reference that builds [q, k, q-k, q*k] per key; finite differences of
// every input and parameter with PReLU and Dice, each normalization (raw, softmax, mean, sqrtn); masking (junk keys past
// the offsets, padded input, rows without keys); the serving split; Dice running statistics.
#include "layers/din_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/lowp.h"
#include "gradient_check.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::LayerProbe;

Pass pass_of(bool training) { return training ? Pass::train() : Pass::evaluation(); }

// backward with both input gradients wanted.
void backward_into(const DinAttention& din, const ParamSet& params, const DinAttention::Input& input, Index rows,
                   const ConstMatrixView& d_pooled, MatrixView d_queries, MatrixView d_keys,
                   DinAttention::Cache& cache, Gradients& grads) {
  DinAttention::InputGrad d_input{d_queries, d_keys};
  din.backward(params, input, rows, d_pooled, &d_input, cache, grads);
}
using testing::random_matrix;

constexpr Index kWidth = 6;  // Q: E = 3 times two query features (item, category)

// One chunk in the flattened layout; `junk` extra key rows past offsets[rows].
struct Chunk {
  std::vector<std::uint32_t> offsets;
  Matrix queries, keys;
  Index rows() const { return static_cast<Index>(offsets.size()) - 1; }
  Index total() const { return offsets.back(); }
};

Chunk make_chunk(Rng& rng, const std::vector<std::uint32_t>& lengths, Index junk = 0) {
  Chunk c;
  c.offsets.assign(1, 0);
  for (std::uint32_t n : lengths) c.offsets.push_back(c.offsets.back() + n);
  c.queries = random_matrix(c.rows(), kWidth, rng, 0.8f);
  c.keys = random_matrix(c.total() + junk, kWidth, rng, 0.8f);
  return c;
}

const Matrix& find_param(const ParamSet& params, const std::string& name) {
  for (ParamId i = 0; i < params.size(); ++i)
    if (params.param(i).name == name) return params[i];
  ADD_FAILURE() << "no parameter " << name;
  static const Matrix none;
  return none;
}

// Random biases and alphas (they start at constants); weights keep their Glorot initialization.
void randomize(ParamSet& params, Rng& rng) {
  for (ParamId i = 0; i < params.size(); ++i) {
    const std::string& name = params.param(i).name;
    if (name.ends_with(".bias") || name.ends_with(".alpha"))
      params[i] = random_matrix(params[i].rows(), params[i].cols(), rng, 0.3f);
  }
}

// ---- Naive reference: plain loops in double, the 4Q concatenation per key, layer by layer
// over all keys (Dice's training statistics need every key of the chunk). ----
struct Reference {
  Eigen::MatrixXd pooled;       // [R, Q]
  std::vector<double> weights;  // [N]
};

Reference naive_din(const ParamSet& params, const std::string& name, const DinOptions& options,
                    const Chunk& c, bool training) {
  const Index Q = kWidth, R = c.rows(), N = c.total();
  std::vector<std::vector<double>> h(static_cast<std::size_t>(N));
  for (Index i = 0; i < R; ++i)
    for (Index j = c.offsets[i]; j < c.offsets[i + 1]; ++j) {
      auto& x = h[static_cast<std::size_t>(j)];
      for (Index d = 0; d < Q; ++d) x.push_back(c.queries(i, d));
      for (Index d = 0; d < Q; ++d) x.push_back(c.keys(j, d));
      for (Index d = 0; d < Q; ++d)
        x.push_back(static_cast<double>(c.queries(i, d)) - c.keys(j, d));
      for (Index d = 0; d < Q; ++d)
        x.push_back(static_cast<double>(c.queries(i, d)) * c.keys(j, d));
    }
  auto dense = [&](const std::string& layer) {
    const Matrix& W = find_param(params, layer + ".weight");
    const Matrix& b = find_param(params, layer + ".bias");
    for (auto& x : h) {
      std::vector<double> y(static_cast<std::size_t>(W.cols()));
      for (Index o = 0; o < W.cols(); ++o) {
        double s = b(0, o);
        for (Index k = 0; k < W.rows(); ++k) s += x[static_cast<std::size_t>(k)] * W(k, o);
        y[static_cast<std::size_t>(o)] = s;
      }
      x = y;
    }
  };
  for (std::size_t l = 0; l < options.hidden.size(); ++l) {
    const std::string layer = name + "." + std::to_string(l);
    dense(layer);
    const auto width = static_cast<std::size_t>(options.hidden[l]);
    if (options.activation == DinActivation::kPrelu) {
      const Matrix& alpha = find_param(params, layer + ".act.alpha");
      for (auto& x : h)
        for (std::size_t o = 0; o < width; ++o)
          x[o] = x[o] > 0 ? x[o] : alpha(0, static_cast<Index>(o)) * x[o];
      continue;
    }
    const Matrix& alpha = find_param(params, layer + ".dice.alpha");
    const Matrix& running_mean = find_param(params, layer + ".dice.running_mean");
    const Matrix& running_var = find_param(params, layer + ".dice.running_var");
    for (std::size_t o = 0; o < width && N > 0; ++o) {
      double mean = running_mean(0, static_cast<Index>(o)),
             var = running_var(0, static_cast<Index>(o));
      if (training) {
        mean = 0;
        for (const auto& x : h) mean += x[o] / static_cast<double>(N);
        var = 0;
        for (const auto& x : h) var += (x[o] - mean) * (x[o] - mean) / static_cast<double>(N);
      }
      const double a = alpha(0, static_cast<Index>(o));
      for (auto& x : h) {
        const double p = 1.0 / (1.0 + std::exp(-(x[o] - mean) / std::sqrt(var + Dice::kEpsilon)));
        x[o] = p * x[o] + (1.0 - p) * a * x[o];
      }
    }
  }
  dense(name + ".output");
  Reference ref;
  ref.pooled = Eigen::MatrixXd::Zero(R, Q);
  ref.weights.resize(static_cast<std::size_t>(N));
  for (Index i = 0; i < R; ++i) {
    const Index begin = c.offsets[i], end = c.offsets[i + 1];
    double top = -INFINITY, total = 0;
    for (Index j = begin; j < end; ++j) top = std::max(top, h[static_cast<std::size_t>(j)][0]);
    for (Index j = begin; j < end; ++j) total += std::exp(h[static_cast<std::size_t>(j)][0] - top);
    for (Index j = begin; j < end; ++j) {
      const double score = h[static_cast<std::size_t>(j)][0];
      const double m = static_cast<double>(end - begin);
      double w = score;  // raw
      if (options.normalize == DinNormalize::kSoftmax) w = std::exp(score - top) / total;
      if (options.normalize == DinNormalize::kMean) w = score / m;
      if (options.normalize == DinNormalize::kSqrtN) w = score / std::sqrt(m);
      ref.weights[static_cast<std::size_t>(j)] = w;
      for (Index d = 0; d < Q; ++d) ref.pooled(i, d) += w * c.keys(j, d);
    }
  }
  return ref;
}

DinOptions make_options(DinActivation activation, DinNormalize normalize,
                        std::vector<Index> hidden = {5, 3}) {
  DinOptions o;
  o.hidden = std::move(hidden);
  o.activation = activation;
  o.normalize = normalize;
  return o;
}

const char* normalize_name(DinNormalize n) {
  switch (n) {
    case DinNormalize::kRaw:
      return "RawScores";
    case DinNormalize::kSoftmax:
      return "Softmax";
    case DinNormalize::kMean:
      return "Mean";
    case DinNormalize::kSqrtN:
      return "SqrtN";
  }
  return "";
}

// Random running statistics, so evaluation mode is not the identity normalization.
void randomize_running_statistics(ParamSet& params, Rng& rng) {
  for (ParamId i = 0; i < params.size(); ++i) {
    if (params.param(i).trainable) continue;
    const bool var = params.param(i).name.ends_with(".running_var");
    params[i] = random_matrix(1, params[i].cols(), rng, 0.5f);
    if (var) params[i] = params[i].array().abs() + 0.5f;
  }
}

// ---- Fast path against the reference, and gradients ----

struct Case {
  DinActivation activation;
  DinNormalize normalize;
  bool training;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(info.param.activation == DinActivation::kDice ? "Dice" : "Prelu") +
         normalize_name(info.param.normalize) +
         (info.param.training ? "Training" : "Evaluation");
}

class DinCases : public ::testing::TestWithParam<Case> {};

TEST_P(DinCases, FastPathMatchesNaiveReference) {
  const Case p = GetParam();
  Rng rng(21);
  ParamSet params;
  const DinOptions options = make_options(p.activation, p.normalize);
  DinAttention din(params, "din", kWidth, options, rng);
  randomize(params, rng);
  randomize_running_statistics(params, rng);
  const Chunk c = make_chunk(rng, {0, 1, 4, 2, 3, 0, 5});
  DinAttention::Cache cache = din.make_cache(c.rows(), c.total());
  Matrix pooled(c.rows(), kWidth);
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, pass_of(p.training));
  const Reference ref = naive_din(params, "din", options, c, p.training);
  for (Index i = 0; i < c.rows(); ++i)
    for (Index d = 0; d < kWidth; ++d)
      EXPECT_NEAR(pooled(i, d), ref.pooled(i, d), 1e-5 * std::max(1.0, std::fabs(ref.pooled(i, d))))
          << "pooled " << i << "," << d;
  const float* weights = din.weights(cache);
  for (Index j = 0; j < c.total(); ++j)
    EXPECT_NEAR(weights[j], ref.weights[static_cast<std::size_t>(j)],
                1e-5 * std::max(1.0, std::fabs(ref.weights[static_cast<std::size_t>(j)])))
        << "weight " << j;
}

// Finite differences of every input and trainable parameter. Not `naive`: the generic checker
// drives the layer (a row without keys among the rows). `naive`: the loss is computed by the
// reference, so the fast backward is checked against the naive forward.
void check_gradients(const DinOptions& options, bool training, bool naive, std::uint64_t seed,
                     const std::vector<std::uint32_t>& keys_per_row = {0, 1, 4, 2, 3}) {
  Rng rng(seed);
  ParamSet params;
  DinAttention din(params, "din", kWidth, options, rng);
  randomize(params, rng);
  randomize_running_statistics(params, rng);
  Chunk c = make_chunk(rng, keys_per_row);
  Matrix R = random_matrix(c.rows(), kWidth, rng);
  DinAttention::Cache cache = din.make_cache(c.rows(), c.total());
  Matrix pooled(c.rows(), kWidth), d_queries(c.rows(), kWidth), d_keys(c.total(), kWidth);
  testing::GradientCheckOptions o;  // as for the MLP: PReLU's kink makes large steps unreliable
  o.step = 2e-4f;
  o.absolute_tolerance = 5e-3;
  o.seed = seed;
  if (!naive) {
    // The loss is now the float layer's: about 30 float terms of O(1) carry a rounding of
    // ~1e-7 * 30 each evaluation, ~7.5e-3 once divided by 2h = 4e-4 (the naive check below
    // differentiates the double reference instead, and keeps 5e-3).
    o.absolute_tolerance = 8e-3;
    LayerProbe<DinAttention> probe;
    probe.inputs = {{"queries", &c.queries, &d_queries}, {"keys", &c.keys, &d_keys}};
    probe.outputs = {&pooled};
    probe.d_outputs = {&R};
    probe.input_scale = 0.8f;
    probe.input = [&] { return DinAttention::Input{c.queries, c.keys, c.offsets.data()}; };
    probe.output = [&] { return MatrixView(pooled); };
    probe.d_output = [&] { return ConstMatrixView(R); };
    probe.d_input = [&] { return DinAttention::InputGrad{d_queries, d_keys}; };
    testing::check_layer_gradients("din", din, params, c.rows(), cache, probe, pass_of(training), o);
    EXPECT_TRUE(d_queries.row(0).isZero()) << "a row without keys has no query gradient";
    Gradients grads(params);
    din.backward(params, probe.input(), c.rows(), R, nullptr, cache, grads);
    for (ParamId i = 0; i < params.size(); ++i) {
      if (!params.param(i).trainable) {
        EXPECT_TRUE(grads[i].isZero()) << params.param(i).name;
      }
    }
    return;
  }
  auto loss = [&] {
    const Reference ref = naive_din(params, "din", options, c, training);
    double s = 0;
    for (Index i = 0; i < R.rows(); ++i)
      for (Index d = 0; d < R.cols(); ++d) s += ref.pooled(i, d) * R(i, d);
    return s;
  };
  Gradients grads(params);
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, pass_of(training));
  backward_into(din, params, {c.queries, c.keys, c.offsets.data()}, c.rows(), R, d_queries, d_keys, cache, grads);
  expect_gradient_matches("queries", c.queries, d_queries, loss, o);
  expect_gradient_matches("keys", c.keys, d_keys, loss, o);
  EXPECT_TRUE(d_queries.row(0).isZero()) << "a row without keys has no query gradient";
  for (ParamId i = 0; i < params.size(); ++i) {
    if (params.param(i).trainable) {
      expect_gradient_matches(params.param(i).name, params[i], grads[i], loss, o);
    } else {
      EXPECT_TRUE(grads[i].isZero()) << params.param(i).name;
    }
  }
}

TEST_P(DinCases, GradientMatchesFiniteDifferences) {
  const Case p = GetParam();
  check_gradients(make_options(p.activation, p.normalize), p.training, false, 31);
}

TEST_P(DinCases, BackwardMatchesFiniteDifferencesOfNaiveReference) {
  const Case p = GetParam();
  check_gradients(make_options(p.activation, p.normalize), p.training, true, 41);
}

INSTANTIATE_TEST_SUITE_P(Variants, DinCases,
                         ::testing::Values(Case{DinActivation::kPrelu, DinNormalize::kRaw, true},
                                           Case{DinActivation::kPrelu, DinNormalize::kSoftmax, true},
                                           Case{DinActivation::kPrelu, DinNormalize::kMean, true},
                                           Case{DinActivation::kPrelu, DinNormalize::kSqrtN, true},
                                           Case{DinActivation::kDice, DinNormalize::kRaw, true},
                                           Case{DinActivation::kDice, DinNormalize::kSoftmax, true},
                                           Case{DinActivation::kDice, DinNormalize::kMean, true},
                                           Case{DinActivation::kDice, DinNormalize::kRaw, false},
                                           Case{DinActivation::kDice, DinNormalize::kSoftmax, false},
                                           Case{DinActivation::kDice, DinNormalize::kSqrtN, false}),
                         case_name);

// Training runs the unit over a batch's keys in tiles of whole rows (a few hundred keys each,
// a longer row alone): a batch of many tiles, one row longer than a tile, rows without keys.
TEST(DinAttention, ManyKeysGoThroughTheUnitInTiles) {
  const std::vector<std::uint32_t> keys_per_row = {0, 300, 1, 120, 200, 37, 0, 260, 90, 5};
  const DinOptions options = make_options(DinActivation::kPrelu, DinNormalize::kSoftmax);
  Rng rng(23);
  ParamSet params;
  DinAttention din(params, "din", kWidth, options, rng);
  randomize(params, rng);
  const Chunk c = make_chunk(rng, keys_per_row);
  DinAttention::Cache cache = din.make_cache(c.rows(), c.total());
  Matrix pooled(c.rows(), kWidth);
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, Pass::train());
  const Reference ref = naive_din(params, "din", options, c, true);
  for (Index i = 0; i < c.rows(); ++i)
    for (Index d = 0; d < kWidth; ++d)
      EXPECT_NEAR(pooled(i, d), ref.pooled(i, d), 1e-5 * std::max(1.0, std::fabs(ref.pooled(i, d)))) << i << "," << d;
  for (Index j = 0; j < c.total(); ++j)
    EXPECT_NEAR(din.weights(cache)[j], ref.weights[static_cast<std::size_t>(j)], 1e-6) << "weight " << j;
  check_gradients(options, /*training=*/true, /*naive=*/true, 43, keys_per_row);
  check_gradients(make_options(DinActivation::kPrelu, DinNormalize::kMean), true, false, 47, keys_per_row);
}

TEST(DinAttention, GradientsWithoutHiddenLayersAndWithDefaultWidths) {
  // Against the double-precision reference: with 80 and 40 units the float loss is too noisy
  // for a 2e-4 step.
  check_gradients(make_options(DinActivation::kPrelu, DinNormalize::kSoftmax, {}), true, true, 51);
  check_gradients(DinOptions{}, true, true, 52);  // {80, 40}, Dice, raw scores
}

TEST(DinAttention, DefaultOptionsMatchNaiveReference) {
  Rng rng(5);
  ParamSet params;
  const DinOptions options;
  DinAttention din(params, "din", kWidth, options, rng);
  randomize(params, rng);
  const Chunk c = make_chunk(rng, {3, 0, 2});
  DinAttention::Cache cache = din.make_cache(4, 10);  // larger than needed: views of the first rows
  Matrix pooled(c.rows(), kWidth);
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, Pass::train());
  const Reference ref = naive_din(params, "din", options, c, true);
  EXPECT_LT((pooled.cast<double>() - ref.pooled).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(DinAttention, BackwardOverwritesInputGradientsAndAccumulatesParameterGradients) {
  Rng rng(6);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kDice, DinNormalize::kSoftmax), rng);
  randomize(params, rng);
  const Chunk c = make_chunk(rng, {2, 3});
  DinAttention::Cache cache = din.make_cache(c.rows(), c.total());
  const Matrix R = random_matrix(c.rows(), kWidth, rng);
  Matrix pooled(c.rows(), kWidth), dq1(c.rows(), kWidth), dk1(c.total(), kWidth), dq2 = dq1,
                                                                                  dk2 = dk1;
  Gradients once(params), twice(params);
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, Pass::train());
  backward_into(din, params, {c.queries, c.keys, c.offsets.data()}, c.rows(), R, dq1, dk1, cache, once);
  backward_into(din, params, {c.queries, c.keys, c.offsets.data()}, c.rows(), R, dq2, dk2, cache, twice);
  backward_into(din, params, {c.queries, c.keys, c.offsets.data()}, c.rows(), R, dq2, dk2, cache, twice);
  EXPECT_EQ(dq1, dq2);
  EXPECT_EQ(dk1, dk2);
  for (ParamId i = 0; i < params.size(); ++i)
    EXPECT_LT((twice[i] - 2 * once[i]).cwiseAbs().maxCoeff(), 1e-5f) << params.param(i).name;
}

TEST(DinAttention, FirstLayerIsOneParameterOverTheConcatenation) {
  Rng rng(7);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kPrelu, DinNormalize::kRaw, {8, 4}), rng);
  EXPECT_EQ(params.param(din.first_weight()).name, "din.0.weight");
  EXPECT_EQ(params[din.first_weight()].rows(), 4 * kWidth);
  EXPECT_EQ(params[din.first_weight()].cols(), 8);
  EXPECT_EQ(din.first_width(), 8);
}

// ---- Masking ----

TEST(DinAttention, JunkKeysPastTheOffsetsGetNoWeightAndNoGradient) {
  Rng rng(8);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kDice, DinNormalize::kSoftmax), rng);
  randomize(params, rng);
  Chunk c = make_chunk(rng, {2, 0, 3}, /*junk=*/4);
  DinAttention::Cache cache = din.make_cache(c.rows(), c.keys.rows());
  const Matrix R = random_matrix(c.rows(), kWidth, rng);
  Matrix pooled(c.rows(), kWidth), again(c.rows(), kWidth), d_queries(c.rows(), kWidth);
  Matrix d_keys =
      Matrix::Constant(c.keys.rows(), kWidth, 7.0f);  // stale values must be overwritten
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, Pass::train());
  Gradients grads(params);
  backward_into(din, params, {c.queries, c.keys, c.offsets.data()}, c.rows(), R, d_queries, d_keys, cache, grads);
  EXPECT_TRUE(d_keys.bottomRows(4).isZero());
  EXPECT_FALSE(d_keys.topRows(c.total()).isZero());
  EXPECT_TRUE(pooled.row(1).isZero());
  EXPECT_TRUE(d_queries.row(1).isZero());
  // Junk never influences the output (nor, in training, the Dice statistics).
  c.keys.bottomRows(4) = random_matrix(4, kWidth, rng, 100.0f);
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), again, cache, Pass::train());
  EXPECT_EQ(pooled, again);
  // The exact-size input gives the same result.
  const Matrix exact = c.keys.topRows(c.total());
  din.forward(params, {c.queries, exact, c.offsets.data()}, c.rows(), again, cache, Pass::train());
  EXPECT_EQ(pooled, again);
}

// Runs the layer on fixed-length padded input [R, T*Q] with per-row lengths by packing the
// valid positions into the flattened layout. weights [R, T] and d_padded [R, T*Q] are zero
// at padded positions by construction; the tests check the layer never makes them otherwise.
struct PaddedRun {
  Matrix pooled, weights, d_queries, d_padded;
};

PaddedRun run_padded(const DinAttention& din, const ParamSet& params, Gradients* grads,
                     const Matrix& queries, const Matrix& padded, Index T,
                     const std::vector<std::uint32_t>& lengths, const Matrix& d_pooled,
                     bool training) {
  const Index R = queries.rows(), Q = queries.cols();
  std::vector<std::uint32_t> offsets(1, 0);
  for (std::uint32_t n : lengths) offsets.push_back(offsets.back() + n);
  Matrix keys(offsets.back(), Q);
  for (Index i = 0; i < R; ++i)
    for (Index t = 0; t < lengths[static_cast<std::size_t>(i)]; ++t)
      keys.row(offsets[i] + t) = padded.block(i, t * Q, 1, Q);
  DinAttention::Cache cache = din.make_cache(R, keys.rows());
  PaddedRun run{Matrix(R, Q), Matrix::Zero(R, T), Matrix(R, Q), Matrix::Zero(R, T * Q)};
  din.forward(params, {queries, keys, offsets.data()}, R, run.pooled, cache, pass_of(training));
  for (Index i = 0; i < R; ++i)
    for (Index t = 0; t < lengths[static_cast<std::size_t>(i)]; ++t)
      run.weights(i, t) = din.weights(cache)[offsets[i] + t];
  if (grads) {
    Matrix d_keys(keys.rows(), Q);
    backward_into(din, params, {queries, keys, offsets.data()}, R, d_pooled, run.d_queries, d_keys, cache, *grads);
    for (Index i = 0; i < R; ++i)
      for (Index t = 0; t < lengths[static_cast<std::size_t>(i)]; ++t)
        run.d_padded.block(i, t * Q, 1, Q) = d_keys.row(offsets[i] + t);
  }
  return run;
}

TEST(DinAttention, PaddedPositionsGetZeroWeightAndZeroGradient) {
  Rng rng(9);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kPrelu, DinNormalize::kSoftmax), rng);
  randomize(params, rng);
  const Index T = 4;
  const std::vector<std::uint32_t> lengths = {4, 1, 0, 2};
  const Index R = 4;
  Matrix queries = random_matrix(R, kWidth, rng, 0.8f),
         padded = random_matrix(R, T * kWidth, rng, 0.8f);
  const Matrix d_pooled = random_matrix(R, kWidth, rng);
  Gradients grads(params);
  const PaddedRun run =
      run_padded(din, params, &grads, queries, padded, T, lengths, d_pooled, true);
  for (Index i = 0; i < R; ++i) {
    const Index n = lengths[static_cast<std::size_t>(i)];
    for (Index t = n; t < T; ++t) {
      EXPECT_EQ(run.weights(i, t), 0.0f);
      EXPECT_TRUE(run.d_padded.block(i, t * kWidth, 1, kWidth).isZero());
    }
    if (n > 0) {
      EXPECT_NEAR(run.weights.row(i).sum(), 1.0f, 1e-5f) << "softmax over the valid keys only";
    }
  }
  EXPECT_TRUE(run.pooled.row(2).isZero());
  // Finite differences over the whole padded tensor: zero at padding, the layer's gradient
  // elsewhere.
  auto loss = [&] {
    return dot(run_padded(din, params, nullptr, queries, padded, T, lengths, d_pooled, true).pooled,
               d_pooled);
  };
  testing::GradientCheckOptions o;
  o.step = 2e-4f;
  o.absolute_tolerance = 5e-3;
  o.max_entries = padded.size();
  Matrix d_padded = run.d_padded;
  expect_gradient_matches("padded keys", padded, d_padded, loss, o);
}

TEST(DinAttention, ChunkWithoutKeysPoolsToZero) {
  Rng rng(10);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kDice, DinNormalize::kRaw), rng);
  randomize(params, rng);
  const Chunk c = make_chunk(rng, {0, 0, 0});
  DinAttention::Cache cache = din.make_cache(3, 4);
  Matrix pooled = Matrix::Constant(3, kWidth, 5.0f), d_queries = pooled, d_keys(0, kWidth);
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, 3, pooled, cache, Pass::train());
  EXPECT_TRUE(pooled.isZero());
  Gradients grads(params);
  backward_into(din, params, {c.queries, c.keys, c.offsets.data()}, 3, Matrix::Ones(3, kWidth), d_queries, d_keys, cache, grads);
  EXPECT_TRUE(d_queries.isZero());
  for (ParamId i = 0; i < params.size(); ++i)
    EXPECT_TRUE(grads[i].isZero()) << params.param(i).name;
  din.update_running_statistics(params, {&cache});  // saw no keys: running statistics stay
  EXPECT_TRUE(find_param(params, "din.0.dice.running_var").isOnes());
}

// ---- Serving split and evaluation ----

TEST(DinAttention, PrecomputedKeyTermsGiveTheSameOutput) {
  Rng rng(12);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kDice, DinNormalize::kSoftmax), rng);
  randomize(params, rng);
  randomize_running_statistics(params, rng);
  const Chunk c = make_chunk(rng, {3, 1, 0, 2});
  DinAttention::Cache cache = din.make_cache(c.rows(), c.total());
  Matrix pooled(c.rows(), kWidth), served(c.rows(), kWidth), terms(c.total(), din.first_width());
  din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, Pass::evaluation());
  const std::vector<float> weights(din.weights(cache), din.weights(cache) + c.total());
  din.key_terms(params, c.keys, terms);
  din.forward_with_key_terms(params, c.queries, c.keys, terms, c.offsets.data(), c.rows(), served,
                             cache);
  EXPECT_LT((pooled - served).cwiseAbs().maxCoeff(), 1e-5f);
  for (Index j = 0; j < c.total(); ++j)
    EXPECT_NEAR(weights[static_cast<std::size_t>(j)], din.weights(cache)[j], 1e-5f);
}

// One sequence with repeated keys, shared by every row: its distinct keys with their counts
// pool as the whole sequence laid out per row does, and equal keys weigh the same. Histories of
// 5 to 97 distinct keys (one to three passes of the key-lane schedule, partial registers),
// units of 1 to 15 per layer (partial blocks of 8), no hidden layer, and both schedules: the
// key lanes (AVX-512F) and the pair-major blocks (what runs without it).
TEST(DinAttention, SharedDistinctKeysPoolAsTheSequencePerRow) {
  struct Shape {
    Index distinct;
    std::vector<Index> hidden;
  };
  const std::vector<Shape> shapes = {{5, {5, 3}}, {16, {9, 1}}, {33, {15, 7, 2}}, {47, {80, 40}}, {50, {8}}, {97, {}}};
  for (const bool portable : {false, true}) {
    lowp::force_portable(portable);
    for (const Shape& shape : shapes) {
      for (const DinNormalize normalize :
           {DinNormalize::kRaw, DinNormalize::kSoftmax, DinNormalize::kMean, DinNormalize::kSqrtN}) {
        for (const DinActivation activation : {DinActivation::kDice, DinActivation::kPrelu}) {
          SCOPED_TRACE(::testing::Message()
                       << "normalize " << normalize_name(normalize) << ", " << shape.distinct << " keys, "
                       << shape.hidden.size() << " hidden layers" << (portable ? ", portable" : ""));
          Rng rng(13);
          ParamSet params;
          DinAttention din(params, "din", kWidth, make_options(activation, normalize, shape.hidden), rng);
          randomize(params, rng);
          randomize_running_statistics(params, rng);
          const Index R = 120, T = shape.distinct;  // 120 rows: several blocks of the pair-major schedule
          std::vector<Index> sequence;  // every key once, some twice or three times
          for (Index j = 0; j < T; ++j)
            for (Index n = 0; n <= j % 3 && static_cast<Index>(sequence.size()) < T + 8; ++n) sequence.push_back(j);
          std::shuffle(sequence.begin(), sequence.end(), std::mt19937(static_cast<unsigned>(T)));
          const auto S = static_cast<Index>(sequence.size());
          Matrix distinct = Matrix::Random(T, kWidth), queries = Matrix::Random(R, kWidth);
          distinct.row(T - 1).setZero();  // an unseen value's zero key
          Matrix keys(R * S, kWidth);
          std::vector<std::uint32_t> offsets(static_cast<std::size_t>(R) + 1);
          for (Index i = 0; i < R; ++i) {
            offsets[static_cast<std::size_t>(i) + 1] = static_cast<std::uint32_t>((i + 1) * S);
            for (Index j = 0; j < S; ++j) keys.row(i * S + j) = distinct.row(sequence[static_cast<std::size_t>(j)]);
          }
          DinAttention::Cache cache = din.make_cache(R, R * S);
          Matrix expected(R, kWidth), pooled(R, kWidth);
          din.forward(params, {queries, keys, offsets.data()}, R, expected, cache, Pass::evaluation());

          DinAttention::SharedKeys shared;
          shared.keys = distinct;
          shared.counts.setZero(T);
          for (Index j : sequence) shared.counts(j) += 1.0f;
          din.prepare_shared_keys(params, shared);
          EXPECT_EQ(shared.lane_keys.size() > 0, !portable && lowp::elementwise_avx512());
          DinAttention::SharedScratch scratch;
          Matrix weights(R, T);
          din.forward_shared(params, shared, queries, R, pooled, scratch, weights.data());
          EXPECT_LT((pooled - expected).cwiseAbs().maxCoeff(), 1e-5f * std::max(1.0f, expected.cwiseAbs().maxCoeff()));
          for (Index i = 0; i < R; ++i)
            for (Index j = 0; j < S; ++j)
              EXPECT_NEAR(weights(i, sequence[static_cast<std::size_t>(j)]), din.weights(cache)[i * S + j], 1e-5f);
        }
      }
    }
  }
  lowp::force_portable(false);
}

TEST(DinAttention, EvaluationScoresARowAloneAsInABatchTrainingDoesNot) {
  Rng rng(13);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kDice, DinNormalize::kRaw), rng);
  randomize(params, rng);
  randomize_running_statistics(params, rng);
  const Chunk c = make_chunk(rng, {2, 3, 4});
  DinAttention::Cache cache = din.make_cache(c.rows(), c.total());
  Matrix pooled(c.rows(), kWidth), alone(1, kWidth);
  for (const bool training : {false, true}) {
    din.forward(params, {c.queries, c.keys, c.offsets.data()}, c.rows(), pooled, cache, pass_of(training));
    const std::uint32_t offsets[] = {0, 3};
    const Matrix q = c.queries.row(1), k = c.keys.middleRows(2, 3);
    din.forward(params, {q, k, offsets}, 1, alone, cache, pass_of(training));
    if (training) {
      EXPECT_GT((alone - pooled.row(1)).cwiseAbs().maxCoeff(), 1e-4f)
          << "batch statistics depend on the chunk";
    } else {
      EXPECT_LT((alone - pooled.row(1)).cwiseAbs().maxCoeff(), 1e-6f);
    }
  }
}

TEST(DinAttention, RunningStatisticsFoldInEachThreadsBatchStatistics) {
  Rng rng(14);
  ParamSet params;
  DinAttention din(params, "din", kWidth, make_options(DinActivation::kDice, DinNormalize::kRaw, {5, 3}), rng);
  randomize(params, rng);
  const Chunk a = make_chunk(rng, {2, 3}), b = make_chunk(rng, {1, 0, 4});
  DinAttention::Cache ca = din.make_cache(3, 8), cb = din.make_cache(3, 8),
                      idle = din.make_cache(3, 8);
  Matrix pooled(3, kWidth);
  din.forward(params, {a.queries, a.keys, a.offsets.data()}, a.rows(), pooled, ca, Pass::train());
  din.forward(params, {b.queries, b.keys, b.offsets.data()}, b.rows(), pooled, cb, Pass::train());
  // Expected: per layer, 0.99 * (0, 1) + 0.01 * average of the two chunks' key statistics.
  std::vector<Eigen::RowVectorXd> mean(2), var(2);
  for (std::size_t l = 0; l < 2; ++l) {
    mean[l] = Eigen::RowVectorXd::Zero(ca.pre[l].cols());
    var[l] = mean[l];
    for (const DinAttention::Cache* c : {&ca, &cb}) {
      const Eigen::MatrixXd pre = c->pre[l].topRows(c->keys).cast<double>();
      const Eigen::RowVectorXd m = pre.colwise().mean();
      mean[l] += m / 2;
      var[l] += (pre.rowwise() - m).array().square().matrix().colwise().mean() / 2;
    }
  }
  din.update_running_statistics(params, {&ca, &cb, &idle});
  for (std::size_t l = 0; l < 2; ++l) {
    const std::string layer = "din." + std::to_string(l) + ".dice.";
    const Matrix& rm = find_param(params, layer + "running_mean");
    const Matrix& rv = find_param(params, layer + "running_var");
    for (Index d = 0; d < rm.cols(); ++d) {
      EXPECT_NEAR(rm(0, d), 0.01 * mean[l](d), 1e-6);
      EXPECT_NEAR(rv(0, d), 0.99 + 0.01 * var[l](d), 1e-6);
    }
  }
}

}  // namespace
}  // namespace heed
