// Dense::forward_live_inputs skips the input columns that are zero in every row; whether it
// gathers or falls back to the plain product, its outputs must be forward's.
#include <gtest/gtest.h>

#include <cmath>

#include "gradient_check.h"
#include "layers/dense.h"

namespace heed {
namespace {

using testing::random_matrix;

// x [rows, in] with the given columns zero in every row.
Matrix with_dead_columns(Index rows, Index in, const std::vector<Index>& dead, Rng& rng) {
  Matrix x = random_matrix(rows, in, rng);
  for (Index j : dead) x.col(j).setZero();
  return x;
}

void expect_same_as_forward(const Dense& dense, const ParamSet& params, const Matrix& x,
                            Dense::LiveInputs& scratch) {
  Matrix plain(x.rows(), dense.out()), live(x.rows(), dense.out());
  Dense::Cache none;
  dense.forward(params, x, x.rows(), plain, none, Pass::evaluation());
  live.setConstant(123.0f);  // whatever was there before must not leak into the result
  dense.forward_live_inputs(params, x, live, scratch);
  for (Index i = 0; i < plain.size(); ++i)
    EXPECT_NEAR(live.data()[i], plain.data()[i], 1e-5f * (1.0f + std::abs(plain.data()[i]))) << i;
}

TEST(DenseLiveInputs, SkipsDeadColumnsWithTheSameOutputs) {
  Rng rng(7);
  ParamSet params;
  Dense dense(params, "d", 64, 24, rng);
  Dense::LiveInputs scratch;
  std::vector<Index> dead;
  for (Index j = 0; j < 64; j += 2) dead.push_back(j);  // half the columns
  expect_same_as_forward(dense, params, with_dead_columns(40, 64, dead, rng), scratch);
  EXPECT_EQ(scratch.columns.size(), 32u);
  for (std::size_t c = 0; c < scratch.columns.size(); ++c) EXPECT_EQ(scratch.columns[c], Index(2 * c + 1));
}

TEST(DenseLiveInputs, OneScratchServesBatchesOfEveryShapeInTurn) {
  Rng rng(8);
  ParamSet params;
  Dense dense(params, "d", 32, 10, rng);
  Dense::LiveInputs scratch;
  expect_same_as_forward(dense, params, with_dead_columns(50, 32, {0, 1, 2, 3, 4, 5, 6, 7, 30, 31}, rng), scratch);
  expect_same_as_forward(dense, params, with_dead_columns(3, 32, {9}, rng), scratch);  // falls back
  expect_same_as_forward(dense, params, with_dead_columns(90, 32, {5, 6, 7, 8, 9, 10}, rng), scratch);
  expect_same_as_forward(dense, params, with_dead_columns(1, 32, {}, rng), scratch);
}

TEST(DenseLiveInputs, AnAllZeroInputGivesTheBias) {
  Rng rng(9);
  ParamSet params;
  Dense dense(params, "d", 16, 5, rng);
  params[dense.bias()].setConstant(0.25f);
  Dense::LiveInputs scratch;
  Matrix x = Matrix::Zero(12, 16), y(12, 5);
  dense.forward_live_inputs(params, x, y, scratch);
  EXPECT_TRUE(scratch.columns.empty());
  EXPECT_TRUE((y.array() == 0.25f).all());
}

TEST(DenseLiveInputs, ANonFiniteColumnStaysLive) {
  Rng rng(10);
  ParamSet params;
  Dense dense(params, "d", 16, 4, rng);
  Dense::LiveInputs scratch;
  std::vector<Index> dead = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  Matrix x = with_dead_columns(20, 16, dead, rng);
  x(3, 13) = std::nanf("");
  Matrix y(20, 4);
  dense.forward_live_inputs(params, x, y, scratch);
  EXPECT_TRUE(std::isnan(y(3, 0)));  // as the plain product gives
  EXPECT_FALSE(std::isnan(y(2, 0)));  // other rows multiply by the column's zeros, as forward does
}

}  // namespace
}  // namespace heed
