// Finite-difference checks of the dense layer, the activations and the MLP (with dropout off
// and on, with gates on some layers) through the generic layer checker.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/lowp.h"
#include "gradient_check.h"
#include "layers/activation.h"
#include "layers/dense.h"
#include "layers/logloss.h"
#include "layers/mlp.h"
#include "layers/reduced_products.h"
#include "../support/uniform_matrix.h"

namespace heed {
namespace {

using testing::LayerProbe;
using testing::uniform_matrix;

// Layers whose contract views are single matrices: one input x, one output y.
template <Layer L>
LayerProbe<L> matrix_probe(Matrix& x, Matrix& dx, Matrix& y, Matrix& r) {
  LayerProbe<L> probe;
  probe.inputs = {{"x", &x, &dx}};
  probe.outputs = {&y};
  probe.d_outputs = {&r};
  probe.input = [&x] { return ConstMatrixView(x); };
  probe.output = [&y] { return MatrixView(y); };
  probe.d_output = [&r] { return ConstMatrixView(r); };
  probe.d_input = [&dx] { return MatrixView(dx); };
  return probe;
}

TEST(DenseGradient, MatchesFiniteDifferences) {
  Rng rng(1);
  ParamSet params;
  Dense dense(params, "d", 5, 3, rng);
  // Buffers of 6 rows viewed for 4: the layer reads and writes only its `rows`.
  Matrix x(6, 5), dx(6, 5), y(6, 3), r(6, 3);
  auto probe = matrix_probe<Dense>(x, dx, y, r);
  probe.prepare = [&] { dx.setZero(); };
  Dense::Cache cache = dense.make_cache(6);
  testing::check_layer_gradients("dense", dense, params, 4, cache, probe, Pass::evaluation());
}

class ActivationGradient : public ::testing::TestWithParam<ActivationKind> {};

TEST_P(ActivationGradient, MatchesFiniteDifferences) {
  Rng rng(2);
  ParamSet params;
  Activation act(params, "a", GetParam(), 6);
  Matrix z(5, 6), dz(5, 6), a(5, 6), r(5, 6);
  auto probe = matrix_probe<Activation>(z, dz, a, r);
  // Keep inputs away from the kink at 0, where the derivative is undefined.
  probe.prepare = [&] {
    for (Index i = 0; i < z.size(); ++i) z.data()[i] += z.data()[i] > 0 ? 0.1f : -0.1f;
  };
  Activation::Cache cache = act.make_cache(5);
  testing::GradientCheckOptions o;
  o.step = 1e-3f;  // below the 0.1 margin from the kink
  testing::check_layer_gradients("activation", act, params, 5, cache, probe, Pass::evaluation(), o);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ActivationGradient, ::testing::Values(ActivationKind::kRelu, ActivationKind::kPrelu));

// PReLU's kernels (AVX-512 where the CPU has it, and the portable loops) against the definition,
// bit for bit: widths around registers of 16 and panels of 128, views into larger matrices, zeros,
// -0, NaN and infinities, alpha's gradient added onto what it held, and alone (no dz).
TEST(Prelu, EveryKernelComputesTheDefinitionBitForBit) {
  Rng rng(12);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const bool portable : {false, true}) {
    lowp::force_portable(portable);
    for (const Index width : {1, 15, 16, 17, 40, 64, 65, 80, 128, 130, 300})
      for (const Index rows : {1, 7}) {
        SCOPED_TRACE(::testing::Message() << (portable ? "portable" : "default") << ", " << rows << " x " << width);
        ParamSet params;
        Activation act(params, "p", ActivationKind::kPrelu, width);
        params[act.alpha()] = uniform_matrix(1, width, rng);
        Matrix z_big = uniform_matrix(rows + 2, width + 5, rng), da_big = uniform_matrix(rows + 1, width + 3, rng);
        const float specials[] = {0.0f, -0.0f, nan, inf, -inf};
        for (std::size_t s = 0; s < std::size(specials); ++s)
          z_big(1 + static_cast<Index>(s) % rows, 2 + static_cast<Index>(s) % width) = specials[s];
        const auto z = z_big.block(1, 2, rows, width);
        const auto da = da_big.block(1, 0, rows, width);
        Matrix a_big = Matrix::Constant(rows, width + 4, -7.0f);
        auto a = a_big.leftCols(width);
        NoCache cache;
        act.forward(params, z, rows, a, cache, Pass::evaluation());
        Gradients grads(params), alone(params);
        const Matrix before = uniform_matrix(1, width, rng);
        grads[act.alpha()] = before;
        alone[act.alpha()] = before;
        Matrix dz_big = Matrix::Constant(rows, width + 2, -7.0f);
        MatrixView dz = dz_big.leftCols(width);
        act.backward(params, z, rows, da, &dz, cache, grads);
        act.backward(params, z, rows, da, nullptr, cache, alone);

        const auto alpha = params[act.alpha()].row(0);
        Matrix want_dalpha = before;
        const auto same_bits = [](float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; };
        for (Index r = 0; r < rows; ++r)
          for (Index c = 0; c < width; ++c) {
            const float v = z(r, c);
            EXPECT_TRUE(same_bits(a(r, c), v > 0 ? v : alpha(c) * v)) << r << ", " << c << ": " << a(r, c);
            EXPECT_TRUE(same_bits(dz(r, c), v > 0 ? da(r, c) : alpha(c) * da(r, c))) << r << ", " << c;
            if (!(v > 0)) want_dalpha(0, c) = std::fma(da(r, c), v, want_dalpha(0, c));
          }
        for (Index c = 0; c < width; ++c) {
          EXPECT_TRUE(same_bits(grads[act.alpha()](0, c), want_dalpha(0, c))) << c;
          EXPECT_TRUE(same_bits(alone[act.alpha()](0, c), want_dalpha(0, c))) << c;
        }
        EXPECT_EQ(a_big.rightCols(4), Matrix::Constant(rows, 4, -7.0f)) << "written past the view";
        EXPECT_EQ(dz_big.rightCols(2), Matrix::Constant(rows, 2, -7.0f)) << "written past the view";
      }
  }
  lowp::force_portable(false);
}

class MlpGradient : public ::testing::TestWithParam<bool> {};

TEST_P(MlpGradient, MatchesFiniteDifferences) {
  const bool gated = GetParam();
  Rng rng(3);
  ParamSet params;
  Mlp mlp(params, "mlp", 7, {6, 4}, ActivationKind::kPrelu, 0.0f, rng);
  const Index B = 5;
  Matrix x(B, 7), dx(B, 7), logit(B, 1), r(B, 1), gate0(B, 6), d_gate0(B, 6);
  std::vector<const Matrix*> gates;
  std::vector<Matrix*> d_gates;
  if (gated) gates = {&gate0, nullptr}, d_gates = {&d_gate0, nullptr};
  LayerProbe<Mlp> probe;
  probe.inputs = {{"x", &x, &dx}};
  if (gated) probe.inputs.push_back({"gate", &gate0, &d_gate0});
  probe.outputs = {&logit};
  probe.d_outputs = {&r};
  probe.input = [&] { return Mlp::Input{x, gates}; };
  probe.output = [&] { return MatrixView(logit); };
  probe.d_output = [&] { return ConstMatrixView(r); };
  probe.d_input = [&] { return Mlp::InputGrad{dx, d_gates}; };
  probe.prepare = [&] { gate0 = gate0.array().abs() + 0.5f; };  // POSO's gates are positive
  Mlp::Cache cache = mlp.make_cache(B);
  testing::GradientCheckOptions o;
  o.step = 2e-4f;  // ReLU-like kinks of PReLU inside: a small step rarely crosses one
  o.absolute_tolerance = 5e-3;
  testing::check_layer_gradients("mlp", mlp, params, B, cache, probe, Pass::evaluation(), o);
}

INSTANTIATE_TEST_SUITE_P(Gates, MlpGradient, ::testing::Values(false, true));

// Dropout: a training pass draws a mask per row and unit; with the mask fixed (the same seed
// each forward) the pass is a fixed linear masking, and its gradient checks out too.
TEST(MlpGradient, WithDropoutMaskFixedBySeed) {
  Rng init(4);
  ParamSet params;
  Mlp mlp(params, "mlp", 6, {8}, ActivationKind::kRelu, 0.3f, init);
  const Index B = 6;
  Matrix x(B, 6), dx(B, 6), logit(B, 1), r(B, 1);
  Rng dropout(9);
  LayerProbe<Mlp> probe;
  probe.inputs = {{"x", &x, &dx}};
  probe.outputs = {&logit};
  probe.d_outputs = {&r};
  probe.input = [&] {
    dropout.reseed(9);  // every forward draws the same mask
    return Mlp::Input{x};
  };
  probe.output = [&] { return MatrixView(logit); };
  probe.d_output = [&] { return ConstMatrixView(r); };
  probe.d_input = [&] { return Mlp::InputGrad{dx}; };
  Mlp::Cache cache = mlp.make_cache(B);
  testing::GradientCheckOptions o;
  o.step = 2e-4f;
  o.absolute_tolerance = 5e-3;
  testing::check_layer_gradients("mlp with dropout", mlp, params, B, cache, probe, Pass::train(&dropout), o);
  EXPECT_GT((cache.mask[0].array() == 0.0f).count(), 0) << "some unit dropped";
}

// The checker itself must be able to fail: a layer y = x * a (a: one learned factor per column)
// whose backward is wrong in one chosen way.
struct FaultyScale {
  enum class Fault { kNone, kInputGradient, kParameterGradient, kNullInputChangesParameters };
  Fault fault;
  ParamId a;
  using Input = ConstMatrixView;
  using Output = MatrixView;
  using OutputGrad = ConstMatrixView;
  using InputGrad = MatrixView;
  using Cache = NoCache;
  void forward(const ParamSet& params, const ConstMatrixView& x, Index rows, MatrixView y, Cache&, Pass) const {
    y.topRows(rows) = x.topRows(rows).array().rowwise() * params[a].row(0).array();
  }
  void backward(const ParamSet& params, const ConstMatrixView& x, Index rows, const ConstMatrixView& dy,
                MatrixView* dx, Cache&, Gradients& grads) const {
    const float wrong = 1.5f;
    if (!(fault == Fault::kNullInputChangesParameters && !dx))
      grads[a] += (dy.topRows(rows).cwiseProduct(x.topRows(rows))).colwise().sum() *
                  (fault == Fault::kParameterGradient ? wrong : 1.0f);
    if (dx)
      dx->topRows(rows) = (dy.topRows(rows).array().rowwise() * params[a].row(0).array()) *
                          (fault == Fault::kInputGradient ? wrong : 1.0f);
  }
};
static_assert(Layer<FaultyScale>);

void check_faulty(FaultyScale::Fault fault) {
  ParamSet params;
  const ParamId a = params.add("a", 1, 3);
  params[a] << 0.5f, -1.0f, 2.0f;
  const FaultyScale layer{fault, a};
  Matrix x(4, 3), dx(4, 3), y(4, 3), r(4, 3);
  auto probe = matrix_probe<FaultyScale>(x, dx, y, r);
  NoCache cache;
  testing::check_layer_gradients("scale", layer, params, 4, cache, probe, Pass::evaluation());
}

// The messages of the failures `check` reports (intercepted: they do not fail this test).
std::string failures_of(FaultyScale::Fault fault) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    check_faulty(fault);
  }
  std::string messages;
  for (int i = 0; i < results.size(); ++i) messages += std::string(results.GetTestPartResult(i).message()) + "\n";
  return messages;
}

TEST(GradientChecker, PassesACorrectLayerAndCatchesEachFault) {
  using ::testing::HasSubstr;
  using Fault = FaultyScale::Fault;
  EXPECT_EQ(failures_of(Fault::kNone), "");
  const std::string input = failures_of(Fault::kInputGradient);
  EXPECT_THAT(input, HasSubstr("scale: input x"));
  EXPECT_THAT(input, ::testing::Not(HasSubstr("scale: a")));
  const std::string parameter = failures_of(Fault::kParameterGradient);
  EXPECT_THAT(parameter, HasSubstr("scale: a"));
  EXPECT_THAT(parameter, ::testing::Not(HasSubstr("input x")));
  EXPECT_THAT(failures_of(Fault::kNullInputChangesParameters), HasSubstr("a without an input gradient"));
}

// Mixed-precision training (train.precision = "bf16"): with the weights packed for training, the
// MLP's hidden layers multiply in bf16 forward and backward. Their gradients follow the fp32
// loss's finite differences (the fp32 master weights are what is perturbed) and stay within a
// few bf16 roundings of the fp32 gradients, which they differ from.
TEST(MlpGradient, Bf16ProductsStayWithinBf16RoundingOfFp32Gradients) {
  Rng rng(4);
  ParamSet params;
  Mlp mlp(params, "mlp", 40, {64, 32}, ActivationKind::kPrelu, 0.0f, rng);
  const Index B = 29;
  Matrix x = testing::random_matrix(B, 40, rng), R = testing::random_matrix(B, 1, rng);
  Mlp::Cache cache = mlp.make_cache(B);
  Matrix logit(B, 1);
  auto gradients = [&](Matrix& dx) {
    Gradients grads(params);
    mlp.forward(params, Mlp::Input{x}, B, logit, cache, Pass::train());
    dx.resize(B, 40);
    Mlp::InputGrad d_input{dx};
    mlp.backward(params, Mlp::Input{x}, B, R, &d_input, cache, grads);
    return grads;
  };
  Matrix dx32, dx16;
  const Gradients fp32 = gradients(dx32);
  const Matrix logit32 = logit;
  auto packed = std::make_shared<ReducedProducts>(Precision::kBf16);
  TrainingPacks packs;
  mlp.list_training_packs(params, *packed, packs);
  run_training_packs(packs, /*threads=*/3);
  // Packed on three threads, each buffer holds what one thread packs.
  for (const TrainingPack& pack : packs) {
    lowp::PackedWeight alone;
    (pack.transposed ? lowp::pack_transposed_bf16 : lowp::pack_bf16)(*pack.weight, alone);
    EXPECT_EQ(pack.into->bf16, alone.bf16);
    EXPECT_EQ(pack.into->n_padded, alone.n_padded);
  }
  params.set_training_products(packed);
  const Gradients bf16 = gradients(dx16);
  const Matrix logit16 = logit;
  params.set_training_products(nullptr);

  // bf16 keeps 8 significant bits: each product within 2^-8 of fp32's, and the errors of a sum
  // partly cancel; a relative error of 2^-5 in norm is about 8 roundings' worth.
  const auto relative = testing::relative_difference;
  EXPECT_GT(relative(logit16, logit32), 0.0f) << "the forward ran in fp32";
  EXPECT_LT(relative(logit16, logit32), 0x1p-5f);
  EXPECT_GT(relative(dx16, dx32), 0.0f) << "the input gradient ran in fp32";
  EXPECT_LT(relative(dx16, dx32), 0x1p-5f);
  for (ParamId p = 0; p < params.size(); ++p) {
    EXPECT_LT(relative(bf16[p], fp32[p]), 0x1p-5f) << params.param(p).name;
    if (params.param(p).name == "mlp.0.weight" || params.param(p).name == "mlp.1.weight") {
      EXPECT_GT(relative(bf16[p], fp32[p]), 0.0f) << params.param(p).name << " ran in fp32";
    }
  }
  // Against the fp32 loss's finite differences, with the bf16 gradients.
  auto loss = [&] {
    mlp.forward(params, Mlp::Input{x}, B, logit, cache, Pass::evaluation());
    return testing::dot(logit, R);
  };
  testing::GradientCheckOptions o;
  o.step = 2e-4f;  // small: a larger step crosses PReLU's kink for some entries
  o.relative_tolerance = 3e-2;
  o.absolute_tolerance = 1e-2;
  expect_gradient_matches("x", x, dx16, loss, o);
  for (ParamId p = 0; p < params.size(); ++p) expect_gradient_matches(params.param(p).name, params[p], bf16[p], loss, o);
  // Detached again: the forward is fp32's, bit for bit.
  loss();
  mlp.forward(params, Mlp::Input{x}, B, logit, cache, Pass::train());
  EXPECT_EQ(logit, logit32);
}

TEST(LogLoss, GradientMatchesFiniteDifferencesAndNeverOverflows) {
  const float y[] = {1, 0, 1, 0};
  float z[] = {0.3f, -1.2f, 80.0f, 90.0f};
  float dz[4];
  const double total = logloss_with_logits(z, y, 4, dz, 1.0f);
  EXPECT_TRUE(std::isfinite(total));
  EXPECT_NEAR(total, std::log1p(std::exp(-0.3)) + std::log1p(std::exp(-1.2)) + 0.0 + 90.0, 1e-4);
  for (int i = 0; i < 2; ++i) {
    const float h = 1e-3f;
    float up[4], down[4];
    std::copy(z, z + 4, up);
    std::copy(z, z + 4, down);
    up[i] += h;
    down[i] -= h;
    const double numeric = (logloss_with_logits(up, y, 4, nullptr, 1) - logloss_with_logits(down, y, 4, nullptr, 1)) / (2 * h);
    EXPECT_NEAR(dz[i], numeric, 1e-3);
  }
}

}  // namespace
}  // namespace heed
