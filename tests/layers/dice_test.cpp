// Dice: finite differences (the generic checker) in training mode (through the batch statistics) and in evaluation
// mode, a plain-loop reference of the formula, batch independence in evaluation, and the
// running-statistics update. Also checks that Adam leaves non-trainable parameters alone.
#include "core/lowp.h"
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

using testing::LayerProbe;

Pass pass_of(bool training) { return training ? Pass::train() : Pass::evaluation(); }
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
  f.dice.forward(f.params, s, s.rows(), y, cache, pass_of(training));
  const Matrix expected =
      reference_dice(s, f.params[f.dice.alpha()].row(0), training,
                     f.params[f.dice.running_mean()].row(0), f.params[f.dice.running_var()].row(0));
  EXPECT_LT((y - expected).cwiseAbs().maxCoeff(), 1e-5f);
}

// The two scoring schedules call one or the other: the same bits, with the AVX-512 kernel and
// with the portable one.
TEST(Dice, InPlaceEvaluationEqualsTheEvaluationForward) {
  DiceFixture f;
  const Matrix s = random_matrix(9, 4, f.rng, 1.5f);
  for (const bool portable : {false, true}) {
    lowp::force_portable(portable);
    Matrix y(9, 4), in_place = s;
    Dice::Cache cache = f.dice.make_cache(9);
    f.dice.forward(f.params, s, s.rows(), y, cache, Pass::evaluation());
    f.dice.forward_eval_in_place(f.params, in_place);
    lowp::force_portable(false);
    EXPECT_EQ(y, in_place) << (portable ? "portable" : "native");
  }
  Matrix wrong(2, 3);
  EXPECT_THROW(f.dice.forward_eval_in_place(f.params, wrong), Error);
}

// Dice through the generic checker: in training the gradient flows through the batch
// statistics (every row's output depends on every row), in evaluation it does not.
LayerProbe<Dice> dice_probe(Matrix& s, Matrix& ds, Matrix& y, Matrix& r) {
  LayerProbe<Dice> probe;
  probe.inputs = {{"s", &s, &ds}};
  probe.outputs = {&y};
  probe.d_outputs = {&r};
  probe.input = [&s] { return ConstMatrixView(s); };
  probe.output = [&y] { return MatrixView(y); };
  probe.d_output = [&r] { return ConstMatrixView(r); };
  probe.d_input = [&ds] { return MatrixView(ds); };
  return probe;
}

TEST_P(DiceModes, GradientMatchesFiniteDifferences) {
  const bool training = GetParam();
  DiceFixture f;
  const Index B = 6;
  Matrix s(B, 4), r(B, 4), y(B, 4), ds(B, 4);
  auto probe = dice_probe(s, ds, y, r);
  probe.input_scale = 1.5f;
  Dice::Cache cache = f.dice.make_cache(B);
  testing::GradientCheckOptions o;
  o.step = 1e-3f;
  testing::check_layer_gradients("dice", f.dice, f.params, B, cache, probe, pass_of(training), o);
  Gradients grads(f.params);
  f.dice.backward(f.params, s, B, r, nullptr, cache, grads);
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
  Matrix s = random_matrix(B, D, rng, 1.5f), y(B, D);
  s(0, 3) = -40.0f;  // saturated far below and far above, in the last (partial) register too
  s(1, 3) = 40.0f;
  s(2, D - 1) = -60.0f;
  s(3, D - 1) = 60.0f;
  Dice::Cache cache = dice.make_cache(B);
  dice.forward(params, s, s.rows(), y, cache, pass_of(training));
  const Matrix expected = reference_dice(s, params[dice.alpha()].row(0), training,
                                         params[dice.running_mean()].row(0),
                                         params[dice.running_var()].row(0));
  EXPECT_LT((y - expected).cwiseAbs().maxCoeff(), 2e-5f * (1.0f + expected.cwiseAbs().maxCoeff()));
  if (!training) {
    Matrix in_place = s;
    dice.forward_eval_in_place(params, in_place);
    EXPECT_LT((in_place - y).cwiseAbs().maxCoeff(), 1e-6f * (1.0f + y.cwiseAbs().maxCoeff()));
  }
  // The same extreme inputs through the generic checker (its random inputs, then these).
  const Matrix extreme = s;
  Matrix r(B, D), ds(B, D);
  auto probe = dice_probe(s, ds, y, r);
  probe.prepare = [&] { s = extreme; };
  testing::GradientCheckOptions o;
  o.step = 1e-2f;  // the saturated entries make the loss large, so float rounding needs a wider step
  o.max_entries = B * D;
  testing::check_layer_gradients("wide dice", dice, params, B, cache, probe, pass_of(training), o);
  EXPECT_TRUE(ds.allFinite());
}

TEST(Dice, SingleRowTrainingGradientIsFinite) {
  DiceFixture f;
  Matrix s = random_matrix(1, 4, f.rng), y(1, 4), ds(1, 4), dy = Matrix::Ones(1, 4);
  Dice::Cache cache = f.dice.make_cache(1);
  Gradients grads(f.params);
  f.dice.forward(f.params, s, s.rows(), y, cache, Pass::train());
  MatrixView ds_view(ds);
  f.dice.backward(f.params, s, s.rows(), dy, &ds_view, cache, grads);
  EXPECT_TRUE(ds.allFinite());
  EXPECT_TRUE(y.allFinite());
}

TEST(Dice, EvaluationScoresARowAloneAsInABatch) {
  DiceFixture f;
  Matrix s = random_matrix(5, 4, f.rng), y(5, 4), alone(1, 4);
  Dice::Cache cache = f.dice.make_cache(5);
  f.dice.forward(f.params, s, s.rows(), y, cache, Pass::evaluation());
  for (Index r = 0; r < 5; ++r) {
    f.dice.forward(f.params, s.row(r), 1, alone, cache, Pass::evaluation());
    // Equal up to rounding: vectorized exp may take another code path for a lone row, while
    // batch statistics (the bug this guards against) would move the output by far more.
    EXPECT_LT((alone - y.row(r)).cwiseAbs().maxCoeff(), 1e-6f) << "row " << r;
  }
}

TEST(Dice, TrainingOutputDependsOnTheBatch) {
  DiceFixture f;
  Matrix s = random_matrix(5, 4, f.rng), y(5, 4), y2(5, 4);
  Dice::Cache cache = f.dice.make_cache(5);
  f.dice.forward(f.params, s, s.rows(), y, cache, Pass::train());
  Matrix changed = s;
  changed.row(4).array() += 3.0f;  // another row moves: the statistics, hence row 0's output, move
  f.dice.forward(f.params, changed, changed.rows(), y2, cache, Pass::train());
  EXPECT_GT((y.row(0) - y2.row(0)).cwiseAbs().maxCoeff(), 1e-3f);
}

TEST(Dice, RunningStatisticsMoveTowardTheBatchStatisticsWithMomentum) {
  DiceFixture f;
  const Matrix mean0 = f.params[f.dice.running_mean()], var0 = f.params[f.dice.running_var()];
  Matrix a = random_matrix(6, 4, f.rng, 2.0f), b = random_matrix(3, 4, f.rng).array() + 1.0f,
         y(6, 4);
  Dice::Cache ca = f.dice.make_cache(6), cb = f.dice.make_cache(6), empty = f.dice.make_cache(6),
              eval = f.dice.make_cache(6);
  f.dice.forward(f.params, a, a.rows(), y, ca, Pass::train());
  f.dice.forward(f.params, b, b.rows(), y.topRows(3), cb, Pass::train());
  f.dice.forward(f.params, a.topRows(0), a.topRows(0).rows(), y.topRows(0), empty, Pass::train());  // saw no rows: ignored
  f.dice.forward(f.params, a, a.rows(), y, eval, Pass::evaluation());                        // evaluation pass: ignored
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
