// POSO gates: a naive reference forward, finite-difference checks alone (loss = sum(gate * R))
// and chained with a real Mlp (gates -> Mlp -> logit; Mlp::backward fills d_gates ->
// PosoGates::backward), and the behaviour promised: gates start near 1 and stay in (0, C).
#include "layers/poso_gates.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "gradient_check.h"
#include "layers/mlp.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::random_matrix;

// pc: e.g. a 2-wide user-group embedding and an is-new-user flag, concatenated.
constexpr Index kPc = 3;
constexpr Index kIn = 6;
const std::vector<Index> kWidths = {5, 4, 3};
const std::vector<bool> kGated = {true, false, true};

PosoOptions options(float scale) {
  PosoOptions o;
  o.gate_hidden = 4;
  o.scale = scale;
  return o;
}

const Matrix& param_named(const ParamSet& params, const std::string& name) {
  for (ParamId p = 0; p < params.size(); ++p)
    if (params.param(p).name == name) return params[p];
  throw Error("no parameter named " + name);
}

// Redraws parameters [first, size) at a scale where every path carries a visible gradient
// (a fresh gate network's last layer is deliberately tiny).
void redraw(ParamSet& params, Rng& rng, float scale, ParamId first = 0) {
  for (ParamId p = first; p < params.size(); ++p)
    params[p] = random_matrix(params[p].rows(), params[p].cols(), rng, scale);
}

// The obvious, slow forward, in double: one gate matrix per hidden layer, empty where ungated.
std::vector<Matrix> naive_poso(const ParamSet& params, const std::string& name,
                               const PosoOptions& o, const Matrix& pc) {
  std::vector<Matrix> gates(kWidths.size());
  const Index B = pc.rows(), H = o.gate_hidden;
  for (std::size_t l = 0; l < kWidths.size(); ++l) {
    if (!kGated[l]) continue;
    const std::string prefix = name + "." + std::to_string(l);
    const Matrix& W1 = param_named(params, prefix + ".hidden.weight");
    const Matrix& b1 = param_named(params, prefix + ".hidden.bias");
    const Matrix& W2 = param_named(params, prefix + ".gate.weight");
    const Matrix& b2 = param_named(params, prefix + ".gate.bias");
    gates[l].resize(B, kWidths[l]);
    for (Index b = 0; b < B; ++b) {
      std::vector<double> hidden(static_cast<std::size_t>(H));
      for (Index j = 0; j < H; ++j) {
        double v = b1(0, j);
        for (Index p = 0; p < kPc; ++p) v += pc(b, p) * W1(p, j);
        hidden[j] = std::max(v, 0.0);
      }
      for (Index k = 0; k < kWidths[l]; ++k) {
        double v = b2(0, k);
        for (Index j = 0; j < H; ++j) v += hidden[j] * W2(j, k);
        gates[l](b, k) = static_cast<float>(o.scale / (1.0 + std::exp(-v)));
      }
    }
  }
  return gates;
}

// The smallest |value| fed to a gate network's ReLU.
float kink_distance(const PosoGates::Cache& cache, Index rows) {
  float d = INFINITY;
  for (std::size_t l = 0; l < kWidths.size(); ++l)
    if (kGated[l]) d = std::min(d, cache.hidden_pre[l].topRows(rows).cwiseAbs().minCoeff());
  return d;
}

class PosoScale : public ::testing::TestWithParam<float> {};

TEST_P(PosoScale, MatchesNaiveReference) {
  const PosoOptions o = options(GetParam());
  Rng rng(31);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, o, rng);
  redraw(params, rng, 0.7f);
  const Index max_rows = 7, rows = 5;
  Matrix pc = random_matrix(max_rows, kPc, rng);
  PosoGates::Cache cache = poso.make_cache(max_rows);
  poso.forward(params, pc, rows, cache);
  const Matrix pc_rows = pc.topRows(rows);
  const std::vector<Matrix> ref = naive_poso(params, "poso", o, pc_rows);
  for (std::size_t l = 0; l < kWidths.size(); ++l) {
    if (!kGated[l]) continue;
    EXPECT_LT((cache.gate[l].topRows(rows) - ref[l]).cwiseAbs().maxCoeff(), 1e-5) << "layer " << l;
  }
}

TEST_P(PosoScale, GradientsMatchFiniteDifferencesAlone) {
  const PosoOptions o = options(GetParam());
  const Index B = 5;
  for (std::uint64_t seed = 1; seed < 50; ++seed) {
    Rng rng(seed);
    ParamSet params;
    PosoGates poso(params, "poso", kPc, kWidths, kGated, o, rng);
    redraw(params, rng, 0.7f);
    Matrix pc = random_matrix(B, kPc, rng), d_pc(B, kPc);
    std::vector<Matrix> R(kWidths.size());
    for (std::size_t l = 0; l < kWidths.size(); ++l) R[l] = random_matrix(B, kWidths[l], rng);
    PosoGates::Cache cache = poso.make_cache(B);
    auto loss = [&] {  // sum over gated layers of sum(gate * R)
      poso.forward(params, pc, B, cache);
      double s = 0;
      for (std::size_t l = 0; l < kWidths.size(); ++l)
        if (kGated[l]) s += dot(cache.gate[l], R[l]);
      return s;
    };
    loss();
    if (kink_distance(cache, B) < 0.01f) continue;

    for (std::size_t l = 0; l < kWidths.size(); ++l)
      if (kGated[l]) cache.d_gate[l] = R[l];
    Gradients grads(params);
    MatrixView d_pc_view(d_pc);
    poso.backward(params, pc, B, cache, &d_pc_view, grads);
    testing::GradientCheckOptions check;
    check.step = 1e-3f;
    expect_gradient_matches("pc", pc, d_pc, loss, check);
    ASSERT_EQ(params.size(), 8u) << "two gate networks of two dense layers";
    for (ParamId p = 0; p < params.size(); ++p)
      expect_gradient_matches(params.param(p).name, params[p], grads[p], loss, check);
    return;
  }
  FAIL() << "no seed kept the ReLU inputs away from 0";
}

TEST_P(PosoScale, GradientsMatchFiniteDifferencesChainedWithMlp) {
  const PosoOptions o = options(GetParam());
  const Index B = 5;
  for (std::uint64_t seed = 1; seed < 50; ++seed) {
    Rng rng(seed);
    ParamSet params;
    Mlp mlp(params, "mlp", kIn, kWidths, ActivationKind::kPrelu, 0.0f, rng);
    const ParamId first_poso = params.size();
    PosoGates poso(params, "poso", kPc, kWidths, kGated, o, rng);
    redraw(params, rng, 0.7f, first_poso);
    Matrix x = random_matrix(B, kIn, rng), pc = random_matrix(B, kPc, rng),
           R = random_matrix(B, 1, rng);
    Matrix dx(B, kIn), d_pc(B, kPc);
    PosoGates::Cache pcache = poso.make_cache(B);
    Mlp::Cache mcache = mlp.make_cache(B);
    auto loss = [&] {
      poso.forward(params, pc, B, pcache);
      mlp.forward(params, x, B, mcache, false, nullptr, poso.gates(pcache));
      return dot(mcache.logit.topRows(B), R);
    };
    loss();
    float kink = kink_distance(pcache, B);
    for (const Matrix& pre : mcache.pre)
      kink = std::min(kink, pre.topRows(B).cwiseAbs().minCoeff());
    if (kink < 0.01f) continue;

    Gradients grads(params);
    MatrixView dx_view(dx), d_pc_view(d_pc);
    mlp.backward(params, x, B, R, mcache, &dx_view, grads, poso.gates(pcache),
                 poso.d_gates(pcache));
    poso.backward(params, pc, B, pcache, &d_pc_view, grads);
    testing::GradientCheckOptions check;
    check.step = 1e-3f;
    expect_gradient_matches("x", x, dx, loss, check);
    expect_gradient_matches("pc", pc, d_pc, loss, check);
    for (ParamId p = 0; p < params.size(); ++p)
      expect_gradient_matches(params.param(p).name, params[p], grads[p], loss, check);
    return;
  }
  FAIL() << "no seed kept the ReLU and PReLU inputs away from 0";
}

// A fresh model behaves like the plain MLP: every gate starts near 1, whatever C.
TEST_P(PosoScale, FreshGatesAreNearOne) {
  const PosoOptions o = options(GetParam());
  Rng rng(32);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, {32, o.scale}, rng);
  const Index B = 64;
  Matrix pc = random_matrix(B, kPc, rng);
  PosoGates::Cache cache = poso.make_cache(B);
  poso.forward(params, pc, B, cache);
  for (const Matrix* gate : poso.gates(cache)) {
    if (gate) {
      EXPECT_LT((gate->array() - 1.0f).abs().maxCoeff(), 0.15f);
    }
  }
}

TEST_P(PosoScale, GatesStayInsideZeroToScale) {
  const PosoOptions o = options(GetParam());
  const float C = o.scale;
  Rng rng(33);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, o, rng);
  redraw(params, rng, 0.5f);
  const Index B = 64;
  PosoGates::Cache cache = poso.make_cache(B);
  Matrix pc = random_matrix(B, kPc, rng);
  poso.forward(params, pc, B, cache);
  for (const Matrix* gate : poso.gates(cache)) {
    if (!gate) continue;
    EXPECT_GT(gate->minCoeff(), 0.0f);
    EXPECT_LT(gate->maxCoeff(), C);
  }
  // Extreme inputs saturate the sigmoid: in float the gates may reach 0 or C, never beyond,
  // never NaN.
  pc = random_matrix(B, kPc, rng, 1e4f);
  poso.forward(params, pc, B, cache);
  for (const Matrix* gate : poso.gates(cache)) {
    if (!gate) continue;
    EXPECT_TRUE(gate->allFinite());
    EXPECT_GE(gate->minCoeff(), 0.0f);
    EXPECT_LE(gate->maxCoeff(), C);
  }
}

INSTANTIATE_TEST_SUITE_P(Scales, PosoScale, ::testing::Values(2.0f, 3.0f),
                         [](const ::testing::TestParamInfo<float>& info) {
                           return "C" + std::to_string(static_cast<int>(info.param));
                         });

TEST(PosoGates, FreshGatedMlpScoresLikeThePlainMlp) {
  Rng rng(34);
  ParamSet params;
  Mlp mlp(params, "mlp", kIn, kWidths, ActivationKind::kRelu, 0.0f, rng);
  PosoGates poso(params, "poso", kPc, kWidths, {true, true, true}, PosoOptions{}, rng);
  const Index B = 32;
  Matrix x = random_matrix(B, kIn, rng), pc = random_matrix(B, kPc, rng);
  Mlp::Cache cache = mlp.make_cache(B);
  PosoGates::Cache pcache = poso.make_cache(B);
  mlp.forward(params, x, B, cache, false, nullptr, {});
  const Matrix plain = cache.logit;
  poso.forward(params, pc, B, pcache);
  mlp.forward(params, x, B, cache, false, nullptr, poso.gates(pcache));
  const float spread = plain.cwiseAbs().maxCoeff();
  ASSERT_GT(spread, 0.0f);
  EXPECT_LT((cache.logit - plain).cwiseAbs().maxCoeff(), 0.1f * spread);
}

TEST(PosoGates, GatePointersFollowTheGatedLayers) {
  Rng rng(35);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, options(2.0f), rng);
  PosoGates::Cache cache = poso.make_cache(9);
  const auto gates = poso.gates(cache);
  const auto d_gates = poso.d_gates(cache);
  ASSERT_EQ(gates.size(), kWidths.size());
  ASSERT_EQ(d_gates.size(), kWidths.size());
  for (std::size_t l = 0; l < kWidths.size(); ++l) {
    EXPECT_EQ(gates[l] != nullptr, kGated[l]) << "layer " << l;
    EXPECT_EQ(d_gates[l] != nullptr, kGated[l]) << "layer " << l;
    if (!kGated[l]) continue;
    EXPECT_EQ(gates[l]->rows(), 9);
    EXPECT_EQ(gates[l]->cols(), kWidths[l]);
    EXPECT_EQ(d_gates[l]->cols(), kWidths[l]);
  }
  EXPECT_EQ(param_named(params, "poso.2.gate.weight").cols(), 3);
}

TEST(PosoGates, BackwardOverwritesDpcAndAccumulatesParamGrads) {
  Rng rng(36);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, options(2.0f), rng);
  redraw(params, rng, 0.7f);
  const Index B = 4;
  Matrix pc = random_matrix(B, kPc, rng), d_pc1(B, kPc);
  Matrix d_pc2 = Matrix::Constant(B, kPc, 1e3f);
  PosoGates::Cache cache = poso.make_cache(B);
  poso.forward(params, pc, B, cache);
  for (std::size_t l = 0; l < kWidths.size(); ++l)
    if (kGated[l]) cache.d_gate[l] = random_matrix(B, kWidths[l], rng);
  Gradients once(params), twice(params), no_dpc(params);
  MatrixView v1(d_pc1), v2(d_pc2);
  poso.backward(params, pc, B, cache, &v1, once);
  poso.backward(params, pc, B, cache, &v2, twice);
  poso.backward(params, pc, B, cache, &v2, twice);
  poso.backward(params, pc, B, cache, nullptr, no_dpc);
  EXPECT_TRUE(d_pc1 == d_pc2);
  for (ParamId p = 0; p < params.size(); ++p) {
    EXPECT_LT((twice[p] - 2.0f * once[p]).cwiseAbs().maxCoeff(), 1e-5) << params.param(p).name;
    EXPECT_TRUE(no_dpc[p] == once[p]) << params.param(p).name;
  }
}

TEST(PosoGates, WithoutGatedLayersPcGetsZeroGradient) {
  Rng rng(37);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, {false, false, false}, options(2.0f), rng);
  EXPECT_EQ(params.size(), 0u);
  Matrix pc = random_matrix(2, kPc, rng), d_pc = Matrix::Constant(2, kPc, 5.0f);
  PosoGates::Cache cache = poso.make_cache(2);
  poso.forward(params, pc, 2, cache);
  Gradients grads(params);
  MatrixView v(d_pc);
  poso.backward(params, pc, 2, cache, &v, grads);
  EXPECT_TRUE(d_pc.isZero(0.0f));
}

TEST(PosoGates, RejectsBadOptions) {
  Rng rng(38);
  ParamSet params;
  EXPECT_THROW(PosoGates(params, "p", kPc, kWidths, {true, false}, options(2.0f), rng), Error);
  EXPECT_THROW(PosoGates(params, "p", 0, kWidths, kGated, options(2.0f), rng), Error);
  EXPECT_THROW(PosoGates(params, "p", kPc, kWidths, kGated, options(1.0f), rng), Error);
  PosoOptions o = options(2.0f);
  o.gate_hidden = 0;
  EXPECT_THROW(PosoGates(params, "p", kPc, kWidths, kGated, o, rng), Error);
}

}  // namespace
}  // namespace heed

namespace heed {
namespace {

// The MLP reads the gates through lists the cache holds, so handing them over allocates
// nothing per batch: every call returns the same list, pointing at this cache's own gates (also
// after the cache moved, and in a copy once it ran forward).
TEST(PosoGatesLists, LiveInTheCacheAndPointAtItsGates) {
  Rng rng(35);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, options(2.0f), rng);
  const Index B = 8;
  PosoGates::Cache made = poso.make_cache(B);
  PosoGates::Cache cache = std::move(made);
  auto expect_points_into = [&](PosoGates::Cache& c) {
    const std::vector<const Matrix*>& gates = poso.gates(c);
    const std::vector<Matrix*>& d_gates = poso.d_gates(c);
    EXPECT_EQ(&gates, &poso.gates(c)) << "the same list on every call";
    EXPECT_EQ(&d_gates, &poso.d_gates(c));
    ASSERT_EQ(gates.size(), kWidths.size());
    ASSERT_EQ(d_gates.size(), kWidths.size());
    for (std::size_t l = 0; l < kWidths.size(); ++l) {
      EXPECT_EQ(gates[l], kGated[l] ? &c.gate[l] : nullptr) << "layer " << l;
      EXPECT_EQ(d_gates[l], kGated[l] ? &c.d_gate[l] : nullptr) << "layer " << l;
    }
  };
  expect_points_into(cache);  // moved before any forward
  const Matrix pc = random_matrix(B, kPc, rng);
  poso.forward(params, pc, B, cache);
  expect_points_into(cache);
  PosoGates::Cache copy = cache;
  poso.forward(params, pc, B, copy);
  expect_points_into(copy);
}

}  // namespace
}  // namespace heed
