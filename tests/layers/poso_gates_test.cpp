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
#include "layers/reduced_products.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::LayerProbe;
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

// The buffers of one POSO pass, sized for max_rows.
struct PosoBuffers {
  PosoGates::Gates gates;
  PosoGates::GateGradients d_gates;
  PosoGates::Cache cache;
  PosoBuffers(const PosoGates& poso, Index max_rows)
      : gates(poso.make_gates(max_rows)), d_gates(poso.make_gate_gradients(max_rows)), cache(poso.make_cache(max_rows)) {}
};

class PosoScale : public ::testing::TestWithParam<float> {};

TEST_P(PosoScale, MatchesNaiveReference) {
  const PosoOptions o = options(GetParam());
  Rng rng(31);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, o, rng);
  redraw(params, rng, 0.7f);
  const Index max_rows = 7, rows = 5;
  Matrix pc = random_matrix(max_rows, kPc, rng);
  PosoBuffers b(poso, max_rows);
  poso.forward(params, pc, rows, b.gates, b.cache, Pass::evaluation());
  const Matrix pc_rows = pc.topRows(rows);
  const std::vector<Matrix> ref = naive_poso(params, "poso", o, pc_rows);
  for (std::size_t l = 0; l < kWidths.size(); ++l) {
    if (!kGated[l]) continue;
    EXPECT_LT((b.gates.value[l].topRows(rows) - ref[l]).cwiseAbs().maxCoeff(), 1e-5) << "layer " << l;
  }
}

// Several hidden layers, one of them ungated, through the generic checker: the loss is
// sum over gated layers of sum(gate * R).
TEST_P(PosoScale, PassesTheGenericGradientCheck) {
  const PosoOptions o = options(GetParam());
  const Index B = 5;
  for (std::uint64_t seed = 1; seed < 50; ++seed) {
    Rng rng(seed);
    ParamSet params;
    PosoGates poso(params, "poso", kPc, kWidths, kGated, o, rng);
    redraw(params, rng, 0.7f);
    ASSERT_EQ(params.size(), 8u) << "two gate networks of two dense layers";
    Matrix pc(B, kPc), d_pc(B, kPc);
    PosoBuffers b(poso, B);
    LayerProbe<PosoGates> probe;
    probe.inputs = {{"pc", &pc, &d_pc}};
    for (std::size_t l = 0; l < kWidths.size(); ++l)
      if (kGated[l]) {
        probe.outputs.push_back(&b.gates.value[l]);
        probe.d_outputs.push_back(&b.d_gates.value[l]);
      }
    probe.input = [&] { return ConstMatrixView(pc); };
    probe.output = [&]() -> PosoGates::Gates& { return b.gates; };
    probe.d_output = [&]() -> const PosoGates::GateGradients& { return b.d_gates; };
    probe.d_input = [&] { return MatrixView(d_pc); };
    probe.usable = [&] { return kink_distance(b.cache, B) >= 0.01f; };
    testing::GradientCheckOptions check;
    check.step = 1e-3f;
    check.seed = seed;
    if (testing::check_layer_gradients("poso", poso, params, B, b.cache, probe, Pass::evaluation(), check)) return;
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
    Matrix dx(B, kIn), d_pc(B, kPc), logit(B, 1);
    PosoBuffers pb(poso, B);
    Mlp::Cache mcache = mlp.make_cache(B);
    auto loss = [&] {
      poso.forward(params, pc, B, pb.gates, pb.cache, Pass::evaluation());
      mlp.forward(params, {x, pb.gates.list}, B, logit, mcache, Pass::evaluation());
      return dot(logit, R);
    };
    loss();
    float kink = kink_distance(pb.cache, B);
    for (const Matrix& pre : mcache.pre)
      kink = std::min(kink, pre.topRows(B).cwiseAbs().minCoeff());
    if (kink < 0.01f) continue;

    Gradients grads(params);
    Mlp::InputGrad d_input{dx, pb.d_gates.list};
    MatrixView d_pc_view(d_pc);
    mlp.backward(params, {x, pb.gates.list}, B, R, &d_input, mcache, grads);
    poso.backward(params, pc, B, pb.d_gates, &d_pc_view, pb.cache, grads);
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

// Mixed-precision training (train.precision = "bf16"): with the gate networks packed for
// training, both of their layers multiply in bf16 forward and backward. The gradients follow
// the fp32 loss's finite differences (the fp32 master weights are what is perturbed) and stay
// within a few bf16 roundings of the fp32 gradients, which they differ from.
TEST(PosoGates, Bf16ProductsStayWithinBf16RoundingOfFp32Gradients) {
  const Index B = 12, pc_width = 16;
  const std::vector<Index> widths = {32, 20};
  PosoOptions o;
  o.gate_hidden = 16;
  // A seed whose gate networks' ReLU inputs all stay clear of 0 by more than bf16 moves them,
  // so both precisions (and the finite differences) see the same units switched on.
  for (std::uint64_t seed = 1; seed < 200; ++seed) {
    Rng rng(seed);
    ParamSet params;
    PosoGates poso(params, "poso", pc_width, widths, {true, true}, o, rng);
    redraw(params, rng, 0.3f);
    Matrix pc = 3.0f * random_matrix(B, pc_width, rng);
    std::vector<Matrix> R = {random_matrix(B, widths[0], rng), random_matrix(B, widths[1], rng)};
    PosoBuffers b(poso, B);
    auto loss = [&] {
      poso.forward(params, pc, B, b.gates, b.cache, Pass::evaluation());
      return dot(b.gates.value[0], R[0]) + dot(b.gates.value[1], R[1]);
    };
    loss();
    if (std::min(b.cache.hidden_pre[0].topRows(B).cwiseAbs().minCoeff(),
                 b.cache.hidden_pre[1].topRows(B).cwiseAbs().minCoeff()) < 0.05f)
      continue;
    Matrix d_pc(B, pc_width);
    auto gradients = [&](Matrix& gates0) {
      Gradients grads(params);
      loss();
      gates0 = b.gates.value[0];
      b.d_gates.value[0] = R[0];
      b.d_gates.value[1] = R[1];
      MatrixView d_pc_view(d_pc);
      poso.backward(params, pc, B, b.d_gates, &d_pc_view, b.cache, grads);
      return grads;
    };
    Matrix gates32, gates16;
    const Gradients fp32 = gradients(gates32);
    const Matrix d_pc32 = d_pc;
    auto packed = std::make_shared<ReducedProducts>(Precision::kBf16);
    TrainingPacks packs;
    poso.list_training_packs(params, *packed, packs);
    run_training_packs(packs, /*threads=*/1);
    params.set_training_products(packed);
    const Gradients bf16 = gradients(gates16);
    const Matrix d_pc16 = d_pc;

    const auto relative = testing::relative_difference;
    EXPECT_GT(relative(gates16, gates32), 0.0f) << "the forward ran in fp32";
    EXPECT_LT(relative(gates16, gates32), 0x1p-5f);
    EXPECT_GT(relative(d_pc16, d_pc32), 0.0f) << "the input gradient ran in fp32";
    EXPECT_LT(relative(d_pc16, d_pc32), 0x1p-5f);
    for (ParamId p = 0; p < params.size(); ++p) {
      EXPECT_LT(relative(bf16[p], fp32[p]), 0x1p-5f) << params.param(p).name;
      if (params[p].rows() > 1) {
        EXPECT_GT(relative(bf16[p], fp32[p]), 0.0f) << params.param(p).name << " ran in fp32";
      }
    }
    // Against the fp32 loss's finite differences (the packed copy detached: what the master
    // weights compute), with the bf16 gradients.
    // The gradients are the bf16 forward's, and a gate's sigmoid and the ReLU layer below it
    // carry each bf16 rounding through two products: an entry can sit a few hundredths off the
    // fp32 loss's slope (a wrong gradient is off by its whole size).
    params.set_training_products(nullptr);
    testing::GradientCheckOptions check;
    check.step = 2e-4f;
    check.relative_tolerance = 1e-1;
    check.absolute_tolerance = 3e-2;
    expect_gradient_matches("pc", pc, d_pc16, loss, check);
    for (ParamId p = 0; p < params.size(); ++p)
      expect_gradient_matches(params.param(p).name, params[p], bf16[p], loss, check);
    return;
  }
  FAIL() << "no seed kept the ReLU inputs away from 0";
}

// A fresh model behaves like the plain MLP: every gate starts near 1, whatever C.
TEST_P(PosoScale, FreshGatesAreNearOne) {
  const PosoOptions o = options(GetParam());
  Rng rng(32);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, {32, o.scale}, rng);
  const Index B = 64;
  Matrix pc = random_matrix(B, kPc, rng);
  PosoBuffers b(poso, B);
  poso.forward(params, pc, B, b.gates, b.cache, Pass::evaluation());
  for (const Matrix* gate : b.gates.list) {
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
  PosoBuffers b(poso, B);
  Matrix pc = random_matrix(B, kPc, rng);
  poso.forward(params, pc, B, b.gates, b.cache, Pass::evaluation());
  for (const Matrix* gate : b.gates.list) {
    if (!gate) continue;
    EXPECT_GT(gate->minCoeff(), 0.0f);
    EXPECT_LT(gate->maxCoeff(), C);
  }
  // Extreme inputs saturate the sigmoid: in float the gates may reach 0 or C, never beyond,
  // never NaN.
  pc = random_matrix(B, kPc, rng, 1e4f);
  poso.forward(params, pc, B, b.gates, b.cache, Pass::evaluation());
  for (const Matrix* gate : b.gates.list) {
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
  Matrix x = random_matrix(B, kIn, rng), pc = random_matrix(B, kPc, rng), logit(B, 1);
  Mlp::Cache cache = mlp.make_cache(B);
  PosoBuffers pb(poso, B);
  mlp.forward(params, {x}, B, logit, cache, Pass::evaluation());
  const Matrix plain = logit;
  poso.forward(params, pc, B, pb.gates, pb.cache, Pass::evaluation());
  mlp.forward(params, {x, pb.gates.list}, B, logit, cache, Pass::evaluation());
  const float spread = plain.cwiseAbs().maxCoeff();
  ASSERT_GT(spread, 0.0f);
  EXPECT_LT((logit - plain).cwiseAbs().maxCoeff(), 0.1f * spread);
}

TEST(PosoGates, GatePointersFollowTheGatedLayers) {
  Rng rng(35);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, options(2.0f), rng);
  PosoBuffers b(poso, 9);
  const auto& gates = b.gates.list;
  const auto& d_gates = b.d_gates.list;
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
  PosoBuffers b(poso, B);
  poso.forward(params, pc, B, b.gates, b.cache, Pass::evaluation());
  for (std::size_t l = 0; l < kWidths.size(); ++l)
    if (kGated[l]) b.d_gates.value[l] = random_matrix(B, kWidths[l], rng);
  Gradients once(params), twice(params), no_dpc(params);
  MatrixView v1(d_pc1), v2(d_pc2);
  poso.backward(params, pc, B, b.d_gates, &v1, b.cache, once);
  poso.backward(params, pc, B, b.d_gates, &v2, b.cache, twice);
  poso.backward(params, pc, B, b.d_gates, &v2, b.cache, twice);
  poso.backward(params, pc, B, b.d_gates, nullptr, b.cache, no_dpc);
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
  PosoBuffers b(poso, 2);
  poso.forward(params, pc, 2, b.gates, b.cache, Pass::evaluation());
  Gradients grads(params);
  MatrixView v(d_pc);
  poso.backward(params, pc, 2, b.d_gates, &v, b.cache, grads);
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

// The MLP reads the gates through lists the caller's Gates holds, so handing them over
// allocates nothing per batch: the lists point at the struct's own matrices, also after it
// moved (and it cannot be copied, which would leave a copy pointing at the original).
TEST(PosoGatesLists, PointAtTheirOwnGatesAfterAMove) {
  static_assert(!std::is_copy_constructible_v<PosoGates::Gates>);
  static_assert(!std::is_copy_constructible_v<PosoGates::GateGradients>);
  Rng rng(35);
  ParamSet params;
  PosoGates poso(params, "poso", kPc, kWidths, kGated, options(2.0f), rng);
  const Index B = 8;
  PosoGates::Gates made = poso.make_gates(B);
  PosoGates::Gates gates = std::move(made);
  PosoGates::GateGradients made_d = poso.make_gate_gradients(B);
  PosoGates::GateGradients d_gates = std::move(made_d);
  ASSERT_EQ(gates.list.size(), kWidths.size());
  ASSERT_EQ(d_gates.list.size(), kWidths.size());
  for (std::size_t l = 0; l < kWidths.size(); ++l) {
    EXPECT_EQ(gates.list[l], kGated[l] ? &gates.value[l] : nullptr) << "layer " << l;
    EXPECT_EQ(d_gates.list[l], kGated[l] ? &d_gates.value[l] : nullptr) << "layer " << l;
  }
  PosoGates::Cache cache = poso.make_cache(B);
  const Matrix pc = random_matrix(B, kPc, rng);
  poso.forward(params, pc, B, gates, cache, Pass::evaluation());
  EXPECT_EQ(cache.gates, &gates) << "backward reads the gates forward wrote";
}

}  // namespace
}  // namespace heed
