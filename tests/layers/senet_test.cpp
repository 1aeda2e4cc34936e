// SENet field gating: a naive reference forward, finite-difference checks of every input and
// parameter gradient (the L1 penalty on the weights included), and the behaviour the layer
// promises (it re-weights, never adds; fields outside the subset pass through bit-exactly), for
// every axis x squeeze x gate, with and
// without a field subset.
#include "layers/senet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "core/error.h"
#include "gradient_check.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::random_matrix;

constexpr Index kFields = 5;
constexpr Index kDim = 4;
// Deliberately out of order: weight column g belongs to field kSubset[g].
const std::vector<Index> kSubset = {4, 1, 2};

const Matrix& param_named(const ParamSet& params, const std::string& name) {
  for (ParamId p = 0; p < params.size(); ++p)
    if (params.param(p).name == name) return params[p];
  throw Error("no parameter named " + name);
}
Matrix& param_named(ParamSet& params, const std::string& name) {
  return const_cast<Matrix&>(param_named(static_cast<const ParamSet&>(params), name));
}

// Bit-exact equality, with the largest difference on failure.
::testing::AssertionResult same(const ConstMatrixView& a, const ConstMatrixView& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    return ::testing::AssertionFailure() << "shapes differ";
  if (a == b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "largest difference " << (a - b).cwiseAbs().maxCoeff();
}

// Redraws every parameter at a scale where each path carries a visible gradient.
void redraw(ParamSet& params, Rng& rng, float scale = 0.5f) {
  for (ParamId p = 0; p < params.size(); ++p)
    params[p] = random_matrix(params[p].rows(), params[p].cols(), rng, scale);
}

// The obvious, slow SENet forward, in double, written from the header's description.
// Returns y [B, F*E]; writes the weights [B, n | E | n*E].
Matrix naive_senet(const ParamSet& params, const std::string& name, Index F, Index E,
                   const SenetOptions& o, const Matrix& x, Matrix& weights) {
  std::vector<Index> fields = o.fields;
  if (fields.empty())
    for (Index f = 0; f < F; ++f) fields.push_back(f);
  const Index B = x.rows();
  const Index n = static_cast<Index>(fields.size());
  const bool dense = o.squeeze == SenetSqueeze::kDense;
  const Index m = o.axis == SenetAxis::kDim ? E : n;    // squeeze width
  const Index h = std::max<Index>(1, m / o.reduction);  // hidden width
  // weight width
  const Index k = o.axis == SenetAxis::kField ? n : o.axis == SenetAxis::kDim ? E : n * E;
  const Matrix& W1 = param_named(params, name + ".excite.0.weight");
  const Matrix& b1 = param_named(params, name + ".excite.0.bias");
  const Matrix& W2 = param_named(params, name + ".excite.1.weight");
  const Matrix& b2 = param_named(params, name + ".excite.1.bias");
  EXPECT_EQ(W1.rows(), m);
  EXPECT_EQ(W1.cols(), h);
  EXPECT_EQ(W2.cols(), k);

  Matrix y = x;
  weights.resize(B, k);
  for (Index b = 0; b < B; ++b) {
    std::vector<double> z(static_cast<std::size_t>(m), 0.0);
    if (o.axis == SenetAxis::kDim) {
      for (Index e = 0; e < E; ++e) {
        for (Index g = 0; g < n; ++g) {
          const double w = dense ? param_named(params, name + ".squeeze.weight")(0, g) : 1.0 / n;
          z[e] += w * x(b, fields[g] * E + e);
        }
        if (dense) z[e] += param_named(params, name + ".squeeze.bias")(0, e);
      }
    } else {
      for (Index g = 0; g < n; ++g) {
        for (Index e = 0; e < E; ++e) {
          const double s = dense ? param_named(params, name + ".squeeze.weight")(g, e) : 1.0 / E;
          z[g] += s * x(b, fields[g] * E + e);
        }
        if (dense) z[g] += param_named(params, name + ".squeeze.bias")(0, g);
      }
    }
    std::vector<double> hidden(static_cast<std::size_t>(h));
    for (Index j = 0; j < h; ++j) {
      double v = b1(0, j);
      for (Index i = 0; i < m; ++i) v += z[i] * W1(i, j);
      hidden[j] = std::max(v, 0.0);
    }
    std::vector<double> a(static_cast<std::size_t>(k));
    for (Index q = 0; q < k; ++q) {
      double v = b2(0, q);
      for (Index j = 0; j < h; ++j) v += hidden[j] * W2(j, q);
      switch (o.gate) {
        case SenetGate::kSigmoid:
          a[q] = 1.0 / (1.0 + std::exp(-v));
          break;
        case SenetGate::kRelu:
          a[q] = std::max(v, 0.0);
          break;
        case SenetGate::kNone:
          a[q] = v;
          break;
      }
      weights(b, q) = static_cast<float>(a[q]);
    }
    for (Index g = 0; g < n; ++g)
      for (Index e = 0; e < E; ++e) {
        const Index q = o.axis == SenetAxis::kField ? g : o.axis == SenetAxis::kDim ? e : g * E + e;
        const Index col = fields[g] * E + e;
        y(b, col) = static_cast<float>(a[q] * x(b, col));
      }
  }
  return y;
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
  return (a - b).cwiseAbs().maxCoeff();
}

// The smallest |value| fed to a ReLU (the excitation's hidden layer, and the gate when it is a
// ReLU): finite differences are only trustworthy when this is well away from the kink at 0.
float kink_distance(const Senet& senet, const Senet::Cache& cache, Index rows) {
  float d = cache.hidden_pre.topRows(rows).cwiseAbs().minCoeff();
  if (senet.options().gate == SenetGate::kRelu)
    d = std::min(d, cache.pre.topRows(rows).cwiseAbs().minCoeff());
  return d;
}

using Config = std::tuple<SenetAxis, SenetSqueeze, SenetGate, bool>;

SenetOptions options_of(const Config& c) {
  SenetOptions o;
  o.axis = std::get<0>(c);
  o.squeeze = std::get<1>(c);
  o.gate = std::get<2>(c);
  if (std::get<3>(c)) o.fields = kSubset;
  o.reduction = 2;
  return o;
}

class SenetConfig : public ::testing::TestWithParam<Config> {};

TEST_P(SenetConfig, MatchesNaiveReference) {
  const SenetOptions o = options_of(GetParam());
  Rng rng(11);
  ParamSet params;
  Senet senet(params, "se", kFields, kDim, o, rng);
  redraw(params, rng);
  const Index B = 6, rows = 4;  // buffers sized for 6, a batch of 4
  Matrix x = random_matrix(B, kFields * kDim, rng);
  Matrix y = Matrix::Constant(B, kFields * kDim, 99.0f);
  Senet::Cache cache = senet.make_cache(B);
  senet.forward(params, x, rows, y, cache, Pass::evaluation());

  Matrix ref_weights;
  const Matrix x_rows = x.topRows(rows);
  const Matrix ref = naive_senet(params, "se", kFields, kDim, o, x_rows, ref_weights);
  EXPECT_LT(max_abs_diff(y.topRows(rows), ref), 1e-5);
  EXPECT_LT(max_abs_diff(senet.weights(cache, rows), ref_weights), 1e-5);
  EXPECT_TRUE(same(y.bottomRows(B - rows), Matrix::Constant(B - rows, kFields * kDim, 99.0f)))
      << "rows past the batch";
}

// The L1 penalty on the weights is part of the loss backward differentiates: checked here.
TEST_P(SenetConfig, GradientsWithTheL1PenaltyMatchFiniteDifferences) {
  SenetOptions o = options_of(GetParam());
  o.reduction = 1;  // a hidden unit per input: no path hangs on a single ReLU
  const Index B = 5, FE = kFields * kDim;
  // Draw inputs until no ReLU input sits near its kink (deterministic: the first seed that works).
  for (std::uint64_t seed = 1; seed < 50; ++seed) {
    Rng rng(seed);
    ParamSet params;
    Senet senet(params, "se", kFields, kDim, o, rng);
    redraw(params, rng);
    Matrix x = random_matrix(B, FE, rng), R = random_matrix(B, FE, rng), y(B, FE), dx(B, FE);
    Senet::Cache cache = senet.make_cache(B);
    // The loss includes the L1 penalty on the weights, so its gradient is checked too.
    const float l1 = 0.3f;
    auto loss = [&] {
      senet.forward(params, x, B, y, cache, Pass::evaluation());
      return dot(y, R) + l1 * static_cast<double>(senet.weights(cache, B).cwiseAbs().sum());
    };
    loss();
    if (kink_distance(senet, cache, B) < 0.01f) continue;
    // |a| has a kink at 0 when the gate lets weights be negative.
    if (o.gate == SenetGate::kNone && cache.pre.topRows(B).cwiseAbs().minCoeff() < 0.01f) continue;

    Gradients grads(params);
    MatrixView dx_view(dx);
    senet.backward(params, x, B, R, &dx_view, cache, grads, l1);
    testing::GradientCheckOptions check;
    // Not smaller: the loss sums 5 x 20 float products, and at h = 1e-3 its rounding (about
    // 1e-6 of |L|) over 2h reached 0.004 in one entry under clang -O1.
    check.step = 3e-3f;
    check.max_entries = 100;
    expect_gradient_matches("x", x, dx, loss, check);
    for (ParamId p = 0; p < params.size(); ++p)
      expect_gradient_matches(params.param(p).name, params[p], grads[p], loss, check);
    EXPECT_EQ(params.size(), o.squeeze == SenetSqueeze::kDense ? 6u : 4u)
        << "squeeze and excitation parameters";
    return;
  }
  FAIL() << "no seed kept the ReLU inputs away from 0";
}

// Every axis, squeeze, gate and field subset through the generic checker (no L1 penalty: the
// test above checks that share), buffers of 7 rows viewed for 5.
TEST_P(SenetConfig, PassesTheGenericGradientCheck) {
  SenetOptions o = options_of(GetParam());
  o.reduction = 1;  // a hidden unit per input: no path hangs on a single ReLU
  const Index B = 7, rows = 5, FE = kFields * kDim;
  for (std::uint64_t seed = 1; seed < 50; ++seed) {
    Rng rng(seed);
    ParamSet params;
    Senet senet(params, "se", kFields, kDim, o, rng);
    redraw(params, rng);
    Matrix x(B, FE), dx(B, FE), y(B, FE), r(B, FE);
    Senet::Cache cache = senet.make_cache(B);
    testing::LayerProbe<Senet> probe;
    probe.inputs = {{"x", &x, &dx}};
    probe.outputs = {&y};
    probe.d_outputs = {&r};
    probe.input = [&] { return ConstMatrixView(x); };
    probe.output = [&] { return MatrixView(y); };
    probe.d_output = [&] { return ConstMatrixView(r); };
    probe.d_input = [&] { return MatrixView(dx); };
    probe.prepare = [&] { dx.setZero(); };  // rows past `rows` must stay untouched
    // Draw again until no ReLU input sits near its kink (deterministic: the first seed that works).
    probe.usable = [&] { return kink_distance(senet, cache, rows) >= 0.01f; };
    testing::GradientCheckOptions check;
    check.step = 3e-3f;  // as above
    check.max_entries = 100;
    check.seed = seed;
    if (testing::check_layer_gradients("senet", senet, params, rows, cache, probe, Pass::evaluation(), check)) return;
  }
  FAIL() << "no seed kept the ReLU inputs away from 0";
}

// Re-weighting, never adding: an all-zero field comes out all zero whatever the parameters
// (biases included), and so does an all-zero input.
TEST_P(SenetConfig, ZeroFieldsStayZero) {
  const SenetOptions o = options_of(GetParam());
  Rng rng(12);
  ParamSet params;
  Senet senet(params, "se", kFields, kDim, o, rng);
  redraw(params, rng);
  for (ParamId p = 0; p < params.size(); ++p)
    if (params.param(p).name.ends_with(".bias")) params[p].array() += 1.0f;
  const Index B = 3, FE = kFields * kDim;
  Matrix x = random_matrix(B, FE, rng), y(B, FE);
  x.row(1).setZero();
  x.row(2).segment(1 * kDim, kDim).setZero();  // field 1, gated in both the subset and the full set
  Senet::Cache cache = senet.make_cache(B);
  senet.forward(params, x, B, y, cache, Pass::evaluation());
  EXPECT_TRUE(y.row(1).isZero(0.0f)) << y.row(1);
  EXPECT_TRUE(y.row(2).segment(1 * kDim, kDim).isZero(0.0f)) << y.row(2);
}

TEST_P(SenetConfig, UngatedFieldsPassThroughBitExactly) {
  const SenetOptions o = options_of(GetParam());
  Rng rng(13);
  ParamSet params;
  Senet senet(params, "se", kFields, kDim, o, rng);
  redraw(params, rng);
  const Index B = 4, FE = kFields * kDim;
  Matrix x = random_matrix(B, FE, rng), dy = random_matrix(B, FE, rng), y(B, FE), dx(B, FE);
  Senet::Cache cache = senet.make_cache(B);
  senet.forward(params, x, B, y, cache, Pass::evaluation());
  Gradients grads(params);
  MatrixView dx_view(dx);
  senet.backward(params, x, B, dy, &dx_view, cache, grads);
  const auto& gated = senet.gated_fields();
  EXPECT_EQ(gated.size(), std::get<3>(GetParam()) ? kSubset.size() : std::size_t(kFields));
  for (Index f = 0; f < kFields; ++f) {
    const bool is_gated = std::find(gated.begin(), gated.end(), f) != gated.end();
    if (is_gated) {
      EXPECT_FALSE(same(y.middleCols(f * kDim, kDim), x.middleCols(f * kDim, kDim)))
          << "field " << f << " is gated";
    } else {
      EXPECT_TRUE(same(y.middleCols(f * kDim, kDim), x.middleCols(f * kDim, kDim)))
          << "field " << f;
      EXPECT_TRUE(same(dx.middleCols(f * kDim, kDim), dy.middleCols(f * kDim, kDim)))
          << "field " << f;
    }
  }
}

std::string config_name(const ::testing::TestParamInfo<Config>& info) {
  const char* axis[] = {"Field", "Dim", "Element"};
  const char* squeeze[] = {"Mean", "Dense"};
  const char* gate[] = {"Sigmoid", "Relu", "None"};
  return std::string(axis[static_cast<int>(std::get<0>(info.param))]) +
         squeeze[static_cast<int>(std::get<1>(info.param))] +
         gate[static_cast<int>(std::get<2>(info.param))] +
         (std::get<3>(info.param) ? "Subset" : "AllFields");
}

INSTANTIATE_TEST_SUITE_P(
    AllConfigs, SenetConfig,
    ::testing::Combine(::testing::Values(SenetAxis::kField, SenetAxis::kDim, SenetAxis::kElement),
                       ::testing::Values(SenetSqueeze::kMean, SenetSqueeze::kDense),
                       ::testing::Values(SenetGate::kSigmoid, SenetGate::kRelu, SenetGate::kNone),
                       ::testing::Bool()),
    config_name);

TEST(Senet, FieldAxisScalesEachFieldByItsWeight) {
  Rng rng(14);
  ParamSet params;
  SenetOptions o;  // axis field, mean squeeze, sigmoid
  Senet senet(params, "se", kFields, kDim, o, rng);
  const Index B = 4, FE = kFields * kDim;
  Matrix x = random_matrix(B, FE, rng), y(B, FE);
  Senet::Cache cache = senet.make_cache(B);
  senet.forward(params, x, B, y, cache, Pass::evaluation());
  const ConstMatrixView w = senet.weights(cache, B);
  ASSERT_EQ(w.cols(), kFields);
  for (Index b = 0; b < B; ++b)
    for (Index f = 0; f < kFields; ++f) {
      EXPECT_GT(w(b, f), 0.0f);
      EXPECT_LT(w(b, f), 1.0f);
      // y_f is parallel to x_f, by exactly the reported weight.
      const Matrix scaled = w(b, f) * x.row(b).segment(f * kDim, kDim);
      EXPECT_TRUE(same(y.row(b).segment(f * kDim, kDim), scaled)) << "row " << b << " field " << f;
    }
}

// With the excitation's last layer zeroed, the weights are its bias: gate none with bias 1 is
// the identity (and its backward passes dy straight through); sigmoid with bias 0 halves.
TEST(Senet, ZeroExcitationGivesConstantWeights) {
  for (SenetAxis axis : {SenetAxis::kField, SenetAxis::kDim, SenetAxis::kElement}) {
    for (SenetSqueeze squeeze : {SenetSqueeze::kMean, SenetSqueeze::kDense}) {
      Rng rng(15);
      const Index B = 3, FE = kFields * kDim;
      Matrix x = random_matrix(B, FE, rng), dy = random_matrix(B, FE, rng), y(B, FE), dx(B, FE);

      SenetOptions o;
      o.axis = axis;
      o.squeeze = squeeze;
      o.gate = SenetGate::kNone;
      ParamSet params;
      Senet identity(params, "se", kFields, kDim, o, rng);
      param_named(params, "se.excite.1.weight").setZero();
      param_named(params, "se.excite.1.bias").setOnes();
      Senet::Cache cache = identity.make_cache(B);
      identity.forward(params, x, B, y, cache, Pass::evaluation());
      EXPECT_TRUE(same(y, x));
      Gradients grads(params);
      MatrixView dx_view(dx);
      identity.backward(params, x, B, dy, &dx_view, cache, grads);
      EXPECT_TRUE(same(dx, dy));

      o.gate = SenetGate::kSigmoid;
      ParamSet params2;
      Senet half(params2, "se", kFields, kDim, o, rng);
      param_named(params2, "se.excite.1.weight").setZero();
      param_named(params2, "se.excite.1.bias").setZero();
      Senet::Cache cache2 = half.make_cache(B);
      half.forward(params2, x, B, y, cache2, Pass::evaluation());
      const Matrix half_x = 0.5f * x;
      EXPECT_TRUE(same(y, half_x));
    }
  }
}

TEST(Senet, GateRangeFollowsTheActivation) {
  for (SenetGate gate : {SenetGate::kSigmoid, SenetGate::kRelu}) {
    Rng rng(16);
    ParamSet params;
    SenetOptions o;
    o.axis = SenetAxis::kElement;
    o.gate = gate;
    Senet senet(params, "se", kFields, kDim, o, rng);
    redraw(params, rng, 2.0f);
    const Index B = 8;
    Matrix x = random_matrix(B, kFields * kDim, rng, 3.0f), y(B, kFields * kDim);
    Senet::Cache cache = senet.make_cache(B);
    senet.forward(params, x, B, y, cache, Pass::evaluation());
    const ConstMatrixView w = senet.weights(cache, B);
    EXPECT_GE(w.minCoeff(), 0.0f);
    if (gate == SenetGate::kSigmoid) {
      EXPECT_LE(w.maxCoeff(), 1.0f);
    } else {
      EXPECT_GT(w.maxCoeff(), 1.0f) << "relu weights are not capped at 1";
    }
  }
}

TEST(Senet, DenseSqueezeStartsAsTheMean) {
  for (SenetAxis axis : {SenetAxis::kField, SenetAxis::kDim, SenetAxis::kElement}) {
    const Index B = 4, FE = kFields * kDim;
    Rng data(17);
    Matrix x = random_matrix(B, FE, data), y_mean(B, FE), y_dense(B, FE);
    SenetOptions o;
    o.axis = axis;
    o.fields = kSubset;
    ParamSet p1, p2;
    Rng r1(18), r2(18);
    Senet mean(p1, "se", kFields, kDim, o, r1);
    o.squeeze = SenetSqueeze::kDense;
    Senet dense(p2, "se", kFields, kDim, o, r2);
    Senet::Cache c1 = mean.make_cache(B), c2 = dense.make_cache(B);
    mean.forward(p1, x, B, y_mean, c1, Pass::evaluation());
    dense.forward(p2, x, B, y_dense, c2, Pass::evaluation());
    EXPECT_LT(max_abs_diff(y_mean, y_dense), 1e-6);
  }
}

TEST(Senet, ShapesAreDerivedFromFieldsDimAndReduction) {
  Rng rng(19);
  ParamSet params;
  SenetOptions o;  // reduction 3
  Senet field(params, "a", 7, 8, o, rng);
  EXPECT_EQ(field.squeeze_width(), 7);
  EXPECT_EQ(field.hidden_width(), 2);
  EXPECT_EQ(field.weight_width(), 7);
  o.fields = {5, 0};
  Senet subset(params, "b", 7, 8, o, rng);
  EXPECT_EQ(subset.hidden_width(), 1) << "max(1, 2 / 3)";
  EXPECT_EQ(subset.weight_width(), 2);
  o.axis = SenetAxis::kDim;
  Senet dim(params, "c", 7, 8, o, rng);
  EXPECT_EQ(dim.squeeze_width(), 8);
  EXPECT_EQ(dim.hidden_width(), 2);
  EXPECT_EQ(dim.weight_width(), 8);
  o.axis = SenetAxis::kElement;
  Senet element(params, "d", 7, 8, o, rng);
  EXPECT_EQ(element.squeeze_width(), 2);
  EXPECT_EQ(element.weight_width(), 16);
  Senet::Cache cache = element.make_cache(5);
  EXPECT_EQ(element.weights(cache, 3).rows(), 3);
  EXPECT_EQ(element.weights(cache, 3).cols(), 16);
}

TEST(Senet, BackwardOverwritesInputGradAndAccumulatesParamGrads) {
  Rng rng(20);
  ParamSet params;
  SenetOptions o;
  o.squeeze = SenetSqueeze::kDense;
  Senet senet(params, "se", kFields, kDim, o, rng);
  const Index B = 3, FE = kFields * kDim;
  Matrix x = random_matrix(B, FE, rng), dy = random_matrix(B, FE, rng), y(B, FE), dx1(B, FE);
  Matrix dx2 = Matrix::Constant(B, FE, 1e3f);
  Senet::Cache cache = senet.make_cache(B);
  senet.forward(params, x, B, y, cache, Pass::evaluation());
  Gradients once(params), twice(params);
  MatrixView dx1_view(dx1), dx2_view(dx2);
  senet.backward(params, x, B, dy, &dx1_view, cache, once);
  senet.backward(params, x, B, dy, &dx2_view, cache, twice);
  senet.backward(params, x, B, dy, &dx2_view, cache, twice);
  EXPECT_TRUE(same(dx1, dx2));
  for (ParamId p = 0; p < params.size(); ++p)
    EXPECT_LT(max_abs_diff(twice[p], 2.0f * once[p]), 1e-5);
}

TEST(Senet, RejectsBadOptions) {
  Rng rng(21);
  ParamSet params;
  SenetOptions o;
  o.fields = {0, 5};
  EXPECT_THROW(Senet(params, "se", 5, 4, o, rng), Error);
  o.fields = {1, 1};
  EXPECT_THROW(Senet(params, "se", 5, 4, o, rng), Error);
  o.fields = {-1};
  EXPECT_THROW(Senet(params, "se", 5, 4, o, rng), Error);
  o.fields = {};
  o.reduction = 0;
  EXPECT_THROW(Senet(params, "se", 5, 4, o, rng), Error);
}

}  // namespace
}  // namespace heed
