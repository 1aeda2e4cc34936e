// Dice: finite differences in training mode (through the batch statistics) and in evaluation
// mode, a plain-loop reference of the formula, batch independence in evaluation, and the
// running-statistics update. Also checks that Adam leaves non-trainable parameters alone.
#include "layers/dice.h"

#include <gtest/gtest.h>

#include <cmath>

#include "config/config.h"
#include "config/options.h"
#include "core/error.h"
#include "gradient_check.h"
#include "optim/adam.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::random_matrix;

// y = p s + (1 - p) alpha s with p = sigmoid((s - mean) / sqrt(var + eps)), statistics in double.
Matrix reference_dice(const Matrix& s, const Eigen::RowVectorXf& alpha, bool training,
                      const Eigen::RowVectorXf& rm, const Eigen::RowVectorXf& rv) {
  Matrix y(s.rows(), s.cols());
  for (Index c = 0; c < s.cols(); ++c) {
    double mean = rm(c), var = rv(c);
    if (training) {
      mean = 0;
      for (Index r = 0; r < s.rows(); ++r) mean += s(r, c);
      mean /= static_cast<double>(s.rows());
      var = 0;
      for (Index r = 0; r < s.rows(); ++r) var += (s(r, c) - mean) * (s(r, c) - mean);
      var /= static_cast<double>(s.rows());
    }
    for (Index r = 0; r < s.rows(); ++r) {
      const double p = 1.0 / (1.0 + std::exp(-(s(r, c) - mean) / std::sqrt(var + Dice::kEpsilon)));
      y(r, c) = static_cast<float>(p * s(r, c) + (1.0 - p) * alpha(c) * s(r, c));
    }
  }
  return y;
}

struct DiceFixture {
  ParamSet params;
  Dice dice{params, "dice", 4};
  Rng rng{11};
  DiceFixture() {
    params[dice.alpha()] = random_matrix(1, 4, rng, 0.3f);
    params[dice.running_mean()] = random_matrix(1, 4, rng, 0.5f);
    params[dice.running_var()] = random_matrix(1, 4, rng).array().abs() + 0.5f;
  }
};

TEST(Dice, StartsWithZeroAlphaAndUnitRunningVariance) {
  ParamSet params;
  Dice dice(params, "d", 3);
  EXPECT_TRUE(params[dice.alpha()].isZero());
  EXPECT_TRUE(params[dice.running_mean()].isZero());
  EXPECT_TRUE(params[dice.running_var()].isOnes());
  EXPECT_TRUE(params.param(dice.alpha()).trainable);
  EXPECT_FALSE(params.param(dice.running_mean()).trainable);
  EXPECT_FALSE(params.param(dice.running_var()).trainable);
}

class DiceModes : public ::testing::TestWithParam<bool> {};

TEST_P(DiceModes, MatchesPlainLoopReference) {
  const bool training = GetParam();
  DiceFixture f;
  Matrix s = random_matrix(7, 4, f.rng, 1.5f), y(7, 4);
  Dice::Cache cache = f.dice.make_cache(10);
  f.dice.forward(f.params, s, y, cache, training);
  const Matrix expected =
      reference_dice(s, f.params[f.dice.alpha()].row(0), training,
                     f.params[f.dice.running_mean()].row(0), f.params[f.dice.running_var()].row(0));
  EXPECT_LT((y - expected).cwiseAbs().maxCoeff(), 1e-5f);
}

TEST(Dice, InPlaceEvaluationEqualsTheEvaluationForward) {
  DiceFixture f;
  const Matrix s = random_matrix(9, 4, f.rng, 1.5f);
  Matrix y(9, 4), in_place = s;
  Dice::Cache cache = f.dice.make_cache(9);
  f.dice.forward(f.params, s, y, cache, /*training=*/false);
  f.dice.forward_eval_in_place(f.params, in_place);
  EXPECT_LT((y - in_place).cwiseAbs().maxCoeff(), 1e-6f);
  Matrix wrong(2, 3);
  EXPECT_THROW(f.dice.forward_eval_in_place(f.params, wrong), Error);
}

TEST_P(DiceModes, GradientMatchesFiniteDifferences) {
  const bool training = GetParam();
  DiceFixture f;
  const Index B = 6;
  Matrix s = random_matrix(B, 4, f.rng, 1.5f), R = random_matrix(B, 4, f.rng), y(B, 4), ds(B, 4);
  Dice::Cache cache = f.dice.make_cache(B);
  auto loss = [&] {
    f.dice.forward(f.params, s, y, cache, training);
    return dot(y, R);
  };
  Gradients grads(f.params);
  loss();
  f.dice.backward(f.params, s, R, ds, cache, grads);
  testing::GradientCheckOptions o;
  o.step = 1e-3f;
  expect_gradient_matches("s", s, ds, loss, o);
  expect_gradient_matches("alpha", f.params[f.dice.alpha()], grads[f.dice.alpha()], loss, o);
  EXPECT_TRUE(grads[f.dice.running_mean()].isZero());
  EXPECT_TRUE(grads[f.dice.running_var()].isZero());
}

INSTANTIATE_TEST_SUITE_P(TrainingAndEvaluation, DiceModes, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Training" : "Evaluation"; });

// Rows as wide as DIN's (several vector registers and a remainder: 21 = 2 x 8 + 5 floats), and
// inputs far past the vectorized logistic's cut-offs (below -9 it switches to exp, above about
// 15.7 it reads 1): the row-by-row kernels against the reference, their gradient against finite
// differences, and the in-place evaluation against the evaluation forward.
TEST_P(DiceModes, WideRowsMatchReferenceAndFiniteDifferences) {
  const bool training = GetParam();
  constexpr Index D = 21, B = 9;
  ParamSet params;
  Dice dice(params, "wide", D);
  Rng rng(12);
  params[dice.alpha()] = random_matrix(1, D, rng, 0.3f);
  params[dice.running_mean()] = random_matrix(1, D, rng, 0.5f);
  params[dice.running_var()] = random_matrix(1, D, rng).array().abs() + 0.5f;
  Matrix s = random_matrix(B, D, rng, 1.5f), R = random_matrix(B, D, rng), y(B, D), ds(B, D);
  s(0, 3) = -40.0f;  // saturated far below and far above, in the last (partial) register too
  s(1, 3) = 40.0f;
  s(2, D - 1) = -60.0f;
  s(3, D - 1) = 60.0f;
  Dice::Cache cache = dice.make_cache(B);
  dice.forward(params, s, y, cache, training);
  const Matrix expected = reference_dice(s, params[dice.alpha()].row(0), training,
                                         params[dice.running_mean()].row(0),
                                         params[dice.running_var()].row(0));
  EXPECT_LT((y - expected).cwiseAbs().maxCoeff(), 2e-5f * (1.0f + expected.cwiseAbs().maxCoeff()));
  if (!training) {
    Matrix in_place = s;
    dice.forward_eval_in_place(params, in_place);
    EXPECT_LT((in_place - y).cwiseAbs().maxCoeff(), 1e-6f * (1.0f + y.cwiseAbs().maxCoeff()));
  }
  auto loss = [&] {
    dice.forward(params, s, y, cache, training);
    return dot(y, R);
  };
  Gradients grads(params);
  loss();
  dice.backward(params, s, R, ds, cache, grads);
  EXPECT_TRUE(ds.allFinite());
  testing::GradientCheckOptions o;
  o.step = 1e-2f;  // the saturated entries make the loss large, so float rounding needs a wider step
  o.max_entries = B * D;
  expect_gradient_matches("s", s, ds, loss, o);
  expect_gradient_matches("alpha", params[dice.alpha()], grads[dice.alpha()], loss, o);
}

TEST(Dice, SingleRowTrainingGradientIsFinite) {
  DiceFixture f;
  Matrix s = random_matrix(1, 4, f.rng), y(1, 4), ds(1, 4), dy = Matrix::Ones(1, 4);
  Dice::Cache cache = f.dice.make_cache(1);
  Gradients grads(f.params);
  f.dice.forward(f.params, s, y, cache, true);
  f.dice.backward(f.params, s, dy, ds, cache, grads);
  EXPECT_TRUE(ds.allFinite());
  EXPECT_TRUE(y.allFinite());
}

TEST(Dice, EvaluationScoresARowAloneAsInABatch) {
  DiceFixture f;
  Matrix s = random_matrix(5, 4, f.rng), y(5, 4), alone(1, 4);
  Dice::Cache cache = f.dice.make_cache(5);
  f.dice.forward(f.params, s, y, cache, false);
  for (Index r = 0; r < 5; ++r) {
    f.dice.forward(f.params, s.row(r), alone, cache, false);
    // Equal up to rounding: vectorized exp may take another code path for a lone row, while
    // batch statistics (the bug this guards against) would move the output by far more.
    EXPECT_LT((alone - y.row(r)).cwiseAbs().maxCoeff(), 1e-6f) << "row " << r;
  }
}

TEST(Dice, TrainingOutputDependsOnTheBatch) {
  DiceFixture f;
  Matrix s = random_matrix(5, 4, f.rng), y(5, 4), y2(5, 4);
  Dice::Cache cache = f.dice.make_cache(5);
  f.dice.forward(f.params, s, y, cache, true);
  Matrix changed = s;
  changed.row(4).array() += 3.0f;  // another row moves: the statistics, hence row 0's output, move
  f.dice.forward(f.params, changed, y2, cache, true);
  EXPECT_GT((y.row(0) - y2.row(0)).cwiseAbs().maxCoeff(), 1e-3f);
}

TEST(Dice, RunningStatisticsMoveTowardTheBatchStatisticsWithMomentum) {
  DiceFixture f;
  const Matrix mean0 = f.params[f.dice.running_mean()], var0 = f.params[f.dice.running_var()];
  Matrix a = random_matrix(6, 4, f.rng, 2.0f), b = random_matrix(3, 4, f.rng).array() + 1.0f,
         y(6, 4);
  Dice::Cache ca = f.dice.make_cache(6), cb = f.dice.make_cache(6), empty = f.dice.make_cache(6),
              eval = f.dice.make_cache(6);
  f.dice.forward(f.params, a, y, ca, true);
  f.dice.forward(f.params, b, y.topRows(3), cb, true);
  f.dice.forward(f.params, a.topRows(0), y.topRows(0), empty, true);  // saw no rows: ignored
  f.dice.forward(f.params, a, y, eval, false);                        // evaluation pass: ignored
  auto stats = [](const Matrix& m, Index c) {
    double mean = m.col(c).cast<double>().mean(), var = 0;
    for (Index r = 0; r < m.rows(); ++r) var += (m(r, c) - mean) * (m(r, c) - mean);
    return std::pair{mean, var / static_cast<double>(m.rows())};
  };
  f.dice.update_running_statistics(f.params, {&ca, &cb, &empty, &eval, nullptr});
  for (Index c = 0; c < 4; ++c) {
    const auto [ma, va] = stats(a, c);
    const auto [mb, vb] = stats(b, c);
    // Equal weight per cache, whatever its rows.
    EXPECT_NEAR(f.params[f.dice.running_mean()](0, c), 0.99 * mean0(0, c) + 0.01 * (ma + mb) / 2,
                1e-5);
    EXPECT_NEAR(f.params[f.dice.running_var()](0, c), 0.99 * var0(0, c) + 0.01 * (va + vb) / 2,
                1e-5);
  }
  // Repeated steps converge to the batch statistics.
  for (int step = 0; step < 2000; ++step) f.dice.update_running_statistics(f.params, {&ca});
  for (Index c = 0; c < 4; ++c) {
    const auto [ma, va] = stats(a, c);
    EXPECT_NEAR(f.params[f.dice.running_mean()](0, c), ma, 1e-4);
    EXPECT_NEAR(f.params[f.dice.running_var()](0, c), va, 1e-4);
  }
  // No cache that saw rows: nothing moves.
  const Matrix before = f.params[f.dice.running_mean()];
  f.dice.update_running_statistics(f.params, {&empty, &eval});
  EXPECT_EQ(before, f.params[f.dice.running_mean()]);
}

TEST(Adam, SkipsNonTrainableParameters) {
  ParamSet params;
  const ParamId w = params.add("w", 1, 3);
  const ParamId stats = params.add("stats", 1, 3, false);
  params[w].setOnes();
  params[stats].setOnes();
  OptimizerConfig config = default_config().optimizer;
  config.l2_dense = 0.1;
  Adam adam(params, config);
  Gradients grads(params);
  grads[w].setConstant(0.5f);
  grads[stats].setConstant(0.5f);
  adam.step(params, grads);
  EXPECT_TRUE(params[stats].isOnes());
  EXPECT_LT(params[w](0, 0), 1.0f);
}

}  // namespace
}  // namespace heed
