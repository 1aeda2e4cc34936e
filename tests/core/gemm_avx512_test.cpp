// heed::gemm_avx512 against a brute-force double-precision sum: row counts around its blocks (5,
// 6, 8 and 12 rows), column counts around its registers of 16 and panels of 64 and 80, sums past
// a slice of 256 inputs, views into larger matrices, subsets of the inputs (in any order,
// repeated, empty), either operand transposed, overwriting instead of accumulating, and a row's
// result alone as in a block.
#include "core/gemm_avx512.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "../support/uniform_matrix.h"

namespace heed {
namespace {

using heed::testing::uniform_matrix;

// c + sum over `inputs` (every column of a when null) of a[:, k] b[k, :], in double precision.
Matrix reference(const ConstMatrixView& a, const ConstMatrixView& b, const Matrix& c, const std::vector<Index>* inputs) {
  Matrix out(c.rows(), c.cols());
  for (Index i = 0; i < c.rows(); ++i)
    for (Index j = 0; j < c.cols(); ++j) {
      double sum = c(i, j);
      if (inputs) {
        for (const Index k : *inputs) sum += double(a(i, k)) * double(b(k, j));
      } else {
        for (Index k = 0; k < a.cols(); ++k) sum += double(a(i, k)) * double(b(k, j));
      }
      out(i, j) = static_cast<float>(sum);
    }
  return out;
}

float tolerance(Index terms) { return 1e-6f * static_cast<float>(terms + 1); }

class GemmAvx512 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gemm_avx512_available()) GTEST_SKIP() << "gemm_avx512 needs AVX-512F";
  }
};

TEST_F(GemmAvx512, AccumulatesTheProductForEveryBlockShape) {
  Rng rng(3);
  for (const Index m : {1, 5, 6, 7, 8, 11, 12, 13, 25, 100})
    for (const Index k : {1, 16, 54, 300})
      for (const Index n : {1, 15, 16, 17, 33, 40, 63, 64, 65, 79, 80, 81, 130, 144}) {
        SCOPED_TRACE(::testing::Message() << m << " x " << k << " x " << n);
        const Matrix a = uniform_matrix(m, k, rng), b = uniform_matrix(k, n, rng), c0 = uniform_matrix(m, n, rng);
        Matrix c = c0;
        gemm_avx512(a, b, c);
        EXPECT_LT((c - reference(a, b, c0, nullptr)).cwiseAbs().maxCoeff(), tolerance(k));
      }
}

TEST_F(GemmAvx512, ReadsAndWritesViewsIntoLargerMatrices) {
  Rng rng(4);
  const Matrix big_a = uniform_matrix(20, 40, rng), big_b = uniform_matrix(50, 90, rng);
  Matrix big_c = uniform_matrix(30, 100, rng);
  const Matrix before = big_c;
  const ConstMatrixView a = big_a.block(3, 5, 11, 33), b = big_b.block(7, 2, 33, 70);
  MatrixView c = big_c.block(4, 9, 11, 70);
  const Matrix expected = reference(a, b, Matrix(c), nullptr);
  gemm_avx512(a, b, c);
  EXPECT_LT((Matrix(c) - expected).cwiseAbs().maxCoeff(), tolerance(33));
  // Nothing outside the view is touched.
  Matrix outside = big_c - before;
  outside.block(4, 9, 11, 70).setZero();
  EXPECT_EQ(outside.cwiseAbs().maxCoeff(), 0.0f);
}

TEST_F(GemmAvx512, SumsOnlyTheGivenInputs) {
  Rng rng(5);
  const Matrix a = uniform_matrix(9, 30, rng), b = uniform_matrix(30, 70, rng), c0 = uniform_matrix(9, 70, rng);
  for (const std::vector<Index>& inputs :
       {std::vector<Index>{}, std::vector<Index>{4}, std::vector<Index>{29, 0, 7, 7, 12}, std::vector<Index>{1, 2, 3}}) {
    Matrix c = c0;
    gemm_avx512(a, b, c, inputs);
    EXPECT_LT((c - reference(a, b, c0, &inputs)).cwiseAbs().maxCoeff(), tolerance(5));
  }
  // Every input in order is the whole product, bit for bit.
  std::vector<Index> all(30);
  for (Index k = 0; k < 30; ++k) all[static_cast<std::size_t>(k)] = k;
  Matrix whole = c0, listed = c0;
  gemm_avx512(a, b, whole);
  gemm_avx512(a, b, listed, all);
  EXPECT_EQ(whole, listed);
  Matrix c = c0;
  EXPECT_THROW(gemm_avx512(a, b, c, std::vector<Index>{30}), Error);
  EXPECT_THROW(gemm_avx512(a, b.topRows(29), c), Error);
}

TEST_F(GemmAvx512, TransposedLeftOperandIsTheProductOfItsTranspose) {
  Rng rng(7);
  for (const Index m : {1, 6, 13})
    for (const Index k : {1, 40})
      for (const Index n : {5, 64, 70}) {
        SCOPED_TRACE(::testing::Message() << m << " x " << k << " x " << n);
        const Matrix a = uniform_matrix(k, m, rng), b = uniform_matrix(k, n, rng), c0 = uniform_matrix(m, n, rng);
        Matrix c = c0;
        gemm_avx512_transposed_a(a, b, c);
        const Matrix at = a.transpose();
        EXPECT_LT((c - reference(at, b, c0, nullptr)).cwiseAbs().maxCoeff(), tolerance(k));
        Matrix plain = c0;  // the same sum in the same order as the product of a^T itself
        gemm_avx512(at, b, plain);
        EXPECT_EQ(c, plain);
      }
  Matrix c(3, 4);
  EXPECT_THROW(gemm_avx512_transposed_a(Matrix(5, 3), Matrix(4, 4), c), Error);
}

TEST_F(GemmAvx512, TransposedRightOperandIsTheProductOfItsTranspose) {
  Rng rng(8);
  for (const Index m : {1, 12, 30})
    for (const Index k : {1, 40})
      for (const Index n : {16, 80, 90}) {
        SCOPED_TRACE(::testing::Message() << m << " x " << k << " x " << n);
        const Matrix a = uniform_matrix(m, k, rng), b = uniform_matrix(n, k, rng), c0 = uniform_matrix(m, n, rng);
        Matrix c = c0;
        gemm_avx512_transposed_b(a, b, c);
        const Matrix bt = b.transpose();
        Matrix plain = c0;
        gemm_avx512(a, bt, plain);
        EXPECT_EQ(c, plain);
        EXPECT_LT((c - reference(a, bt, c0, nullptr)).cwiseAbs().maxCoeff(), tolerance(k));
      }
  Matrix c(3, 4);
  EXPECT_THROW(gemm_avx512_transposed_b(Matrix(3, 5), Matrix(4, 4), c), Error);
}

// Not accumulating, c's old values (NaN here) are never read, and the result is the product
// accumulated onto zeros, bit for bit, also past the first slice of 256 inputs and for an empty
// sum.
TEST_F(GemmAvx512, OverwritingIgnoresWhatCHeld) {
  Rng rng(9);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const Index k : {0, 7, 300})
    for (const Index n : {16, 40, 80, 130}) {
      SCOPED_TRACE(::testing::Message() << "k " << k << ", n " << n);
      const Index m = 13;
      const Matrix a = uniform_matrix(m, k, rng), b = uniform_matrix(k, n, rng);
      Matrix expected = Matrix::Zero(m, n);
      gemm_avx512(a, b, expected);
      Matrix c = Matrix::Constant(m, n, nan);
      gemm_avx512(a, b, c, /*accumulate=*/false);
      EXPECT_EQ(c, expected);
      const Matrix at = a.transpose(), bt = b.transpose();
      c.setConstant(nan);
      gemm_avx512_transposed_a(at, b, c, /*accumulate=*/false);
      EXPECT_EQ(c, expected);
      c.setConstant(nan);
      gemm_avx512_transposed_b(a, bt, c, /*accumulate=*/false);
      EXPECT_EQ(c, expected);
    }
}

TEST_F(GemmAvx512, ARowsResultDoesNotDependOnTheRowsBesideIt) {
  Rng rng(6);
  const Matrix a = uniform_matrix(13, 40, rng), b = uniform_matrix(40, 80, rng);
  Matrix all = Matrix::Zero(13, 80);
  gemm_avx512(a, b, all);
  for (Index i = 0; i < 13; ++i) {
    Matrix one = Matrix::Zero(1, 80);
    gemm_avx512(a.middleRows(i, 1), b, one);
    EXPECT_EQ(one, all.middleRows(i, 1)) << "row " << i;
  }
}

}  // namespace
}  // namespace heed
