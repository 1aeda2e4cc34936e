// Finite-difference checks of the dense layer, the activations and the MLP (with dropout
// off and with gates on some layers), against their backward passes.
#include <gtest/gtest.h>

#include "gradient_check.h"
#include "layers/activation.h"
#include "layers/dense.h"
#include "layers/logloss.h"
#include "layers/mlp.h"
#include "layers/reduced_products.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::random_matrix;

TEST(DenseGradient, MatchesFiniteDifferences) {
  Rng rng(1);
  ParamSet params;
  Dense dense(params, "d", 5, 3, rng);
  Matrix x = random_matrix(4, 5, rng), R = random_matrix(4, 3, rng), y(4, 3), dx(4, 5);
  auto loss = [&] {
    dense.forward(params, x, y);
    return dot(y, R);
  };
  Gradients grads(params);
  loss();
  MatrixView dx_view(dx);
  dense.backward(params, x, R, &dx_view, grads);
  expect_gradient_matches("x", x, dx, loss);
  expect_gradient_matches("weight", params[dense.weight()], grads[dense.weight()], loss);
  expect_gradient_matches("bias", params[dense.bias()], grads[dense.bias()], loss);
}

class ActivationGradient : public ::testing::TestWithParam<ActivationKind> {};

TEST_P(ActivationGradient, MatchesFiniteDifferences) {
  Rng rng(2);
  ParamSet params;
  Activation act(params, "a", GetParam(), 6);
  // Keep inputs away from the kink at 0, where the derivative is undefined.
  Matrix z = random_matrix(5, 6, rng);
  for (Index i = 0; i < z.size(); ++i) z.data()[i] += z.data()[i] > 0 ? 0.1f : -0.1f;
  Matrix R = random_matrix(5, 6, rng), a(5, 6), dz(5, 6);
  auto loss = [&] {
    act.forward(params, z, a);
    return dot(a, R);
  };
  Gradients grads(params);
  loss();
  act.backward(params, z, R, dz, grads);
  testing::GradientCheckOptions o;
  o.step = 1e-3f;
  expect_gradient_matches("z", z, dz, loss, o);
  if (GetParam() == ActivationKind::kPrelu) expect_gradient_matches("alpha", params[0], grads[0], loss, o);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ActivationGradient, ::testing::Values(ActivationKind::kRelu, ActivationKind::kPrelu));

class MlpGradient : public ::testing::TestWithParam<bool> {};

TEST_P(MlpGradient, MatchesFiniteDifferences) {
  const bool gated = GetParam();
  Rng rng(3);
  ParamSet params;
  Mlp mlp(params, "mlp", 7, {6, 4}, ActivationKind::kPrelu, 0.0f, rng);
  const Index B = 5;
  Matrix x = random_matrix(B, 7, rng), R = random_matrix(B, 1, rng), dx(B, 7);
  Matrix gate0 = random_matrix(B, 6, rng).array().abs() + 0.5f;
  std::vector<const Matrix*> gates;
  if (gated) gates = {&gate0, nullptr};
  Mlp::Cache cache = mlp.make_cache(B);
  auto loss = [&] {
    mlp.forward(params, x, B, cache, false, nullptr, gates);
    return dot(cache.logit.topRows(B), R);
  };
  Gradients grads(params);
  loss();
  Matrix d_gate0 = Matrix::Zero(B, 6);
  std::vector<Matrix*> d_gates;
  if (gated) d_gates = {&d_gate0, nullptr};
  MatrixView dx_view(dx);
  mlp.backward(params, x, B, R, cache, &dx_view, grads, gates, d_gates);
  testing::GradientCheckOptions o;
  o.step = 2e-4f;
  o.absolute_tolerance = 5e-3;
  expect_gradient_matches("x", x, dx, loss, o);
  for (ParamId p = 0; p < params.size(); ++p) expect_gradient_matches(params.param(p).name, params[p], grads[p], loss, o);
  if (gated) expect_gradient_matches("gate", gate0, d_gate0, loss, o);
}

INSTANTIATE_TEST_SUITE_P(Gates, MlpGradient, ::testing::Values(false, true));

// Mixed-precision training (train.precision = "bf16"): with the weights packed for training, the
// MLP's hidden layers multiply in bf16 forward and backward. Their gradients follow the fp32
// loss's finite differences (the fp32 master weights are what is perturbed) and stay within a
// few bf16 roundings of the fp32 gradients, which they differ from.
TEST(MlpGradient, Bf16ProductsStayWithinBf16RoundingOfFp32Gradients) {
  Rng rng(4);
  ParamSet params;
  Mlp mlp(params, "mlp", 40, {64, 32}, ActivationKind::kPrelu, 0.0f, rng);
  const Index B = 29;
  Matrix x = random_matrix(B, 40, rng), R = random_matrix(B, 1, rng);
  Mlp::Cache cache = mlp.make_cache(B);
  auto gradients = [&](Matrix& dx) {
    Gradients grads(params);
    mlp.forward(params, x, B, cache, true, nullptr, {});
    dx.resize(B, 40);
    MatrixView dx_view(dx);
    mlp.backward(params, x, B, R, cache, &dx_view, grads, {}, {});
    return grads;
  };
  Matrix dx32, dx16;
  const Gradients fp32 = gradients(dx32);
  const Matrix logit32 = cache.logit.topRows(B);
  auto packed = std::make_shared<ReducedProducts>(Precision::kBf16);
  mlp.pack_for_training(params, *packed);
  params.set_training_products(packed);
  const Gradients bf16 = gradients(dx16);
  const Matrix logit16 = cache.logit.topRows(B);
  params.set_training_products(nullptr);

  // bf16 keeps 8 significant bits: each product within 2^-8 of fp32's, and the errors of a sum
  // partly cancel; a relative error of 2^-5 in norm is about 8 roundings' worth.
  auto relative = [](const Matrix& a, const Matrix& b) { return (a - b).norm() / std::max(b.norm(), 1e-30f); };
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
    mlp.forward(params, x, B, cache, false, nullptr, {});
    return dot(cache.logit.topRows(B), R);
  };
  testing::GradientCheckOptions o;
  o.step = 2e-4f;  // small: a larger step crosses PReLU's kink for some entries
  o.relative_tolerance = 3e-2;
  o.absolute_tolerance = 1e-2;
  expect_gradient_matches("x", x, dx16, loss, o);
  for (ParamId p = 0; p < params.size(); ++p) expect_gradient_matches(params.param(p).name, params[p], bf16[p], loss, o);
  // Detached again: the forward is fp32's, bit for bit.
  loss();
  mlp.forward(params, x, B, cache, true, nullptr, {});
  EXPECT_EQ(Matrix(cache.logit.topRows(B)), logit32);
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
