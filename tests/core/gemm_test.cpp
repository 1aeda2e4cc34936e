// heed::gemm against a brute-force double-precision product: every transpose combination,
// scaling, views into larger matrices, the matrix-vector, tall-narrow and empty shapes (the
// ones left to Eigen's kernel), and calls from several threads at once (OpenBLAS keeps state
// shared between calls).
#include "core/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "../support/uniform_matrix.h"

namespace heed {
namespace {

using heed::testing::uniform_matrix;

// alpha op(a) op(b) + beta c, one product at a time in double precision.
Matrix reference(const Matrix& a, const Matrix& b, const Matrix& c, const GemmOptions& how) {
  const Matrix A = how.transpose_a ? Matrix(a.transpose()) : a;
  const Matrix B = how.transpose_b ? Matrix(b.transpose()) : b;
  Matrix out(c.rows(), c.cols());
  for (Index i = 0; i < out.rows(); ++i)
    for (Index j = 0; j < out.cols(); ++j) {
      double sum = 0;
      for (Index l = 0; l < A.cols(); ++l) sum += double(A(i, l)) * double(B(l, j));
      const double kept = how.beta == 0.0f ? 0.0 : double(how.beta) * double(c(i, j));
      out(i, j) = static_cast<float>(double(how.alpha) * sum + kept);
    }
  return out;
}

struct Shape {
  Index m, k, n;
};

class GemmAgainstReference : public ::testing::TestWithParam<Shape> {};

TEST_P(GemmAgainstReference, EveryTransposeAndScaling) {
  const auto [m, k, n] = GetParam();
  Rng rng(7);
  const GemmOptions cases[] = {{}, {.alpha = -1.0f}, {.beta = 0.0f}, {.alpha = 0.5f, .beta = 2.0f}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (GemmOptions how : cases) {
        how.transpose_a = ta;
        how.transpose_b = tb;
        const Matrix a = ta ? uniform_matrix(k, m, rng) : uniform_matrix(m, k, rng);
        const Matrix b = tb ? uniform_matrix(n, k, rng) : uniform_matrix(k, n, rng);
        const Matrix c0 = uniform_matrix(m, n, rng);
        Matrix c = c0;
        gemm(a, b, c, how);
        const Matrix want = reference(a, b, c0, how);
        SCOPED_TRACE(::testing::Message() << "ta " << ta << " tb " << tb << " alpha " << how.alpha
                                          << " beta " << how.beta);
        ASSERT_EQ(c.rows(), want.rows());
        for (Index i = 0; i < m; ++i)
          for (Index j = 0; j < n; ++j) ASSERT_NEAR(c(i, j), want(i, j), 1e-5f * (1 + k)) << i << "," << j;
      }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmAgainstReference,
                         ::testing::Values(Shape{1, 1, 1}, Shape{1, 9, 7}, Shape{7, 9, 1}, Shape{5, 1, 6},
                                           Shape{37, 53, 29}, Shape{64, 16, 80}, Shape{130, 200, 3},
                                           Shape{4100, 20, 24}));  // the last one tall and narrow: Eigen's kernel

TEST(Gemm, WorksOnViewsIntoLargerMatrices) {
  Rng rng(3);
  const Matrix big_a = uniform_matrix(20, 30, rng), big_b = uniform_matrix(25, 40, rng);
  Matrix big_c = uniform_matrix(30, 50, rng);
  const Matrix before = big_c;
  // a: rows 2..13, columns 5..21 (outer stride 30); b: rows 3..19, columns 7..31; c a block of big_c.
  const Matrix a = big_a.block(2, 5, 12, 17), b = big_b.block(3, 7, 17, 25);
  gemm(big_a.block(2, 5, 12, 17), big_b.block(3, 7, 17, 25), big_c.block(4, 6, 12, 25));
  const Matrix want = reference(a, b, before.block(4, 6, 12, 25), {});
  for (Index i = 0; i < big_c.rows(); ++i)
    for (Index j = 0; j < big_c.cols(); ++j) {
      const bool inside = i >= 4 && i < 16 && j >= 6 && j < 31;
      if (inside) {
        EXPECT_NEAR(big_c(i, j), want(i - 4, j - 6), 1e-4f);
      } else {
        EXPECT_EQ(big_c(i, j), before(i, j)) << "outside the view, " << i << "," << j;
      }
    }
}

TEST(Gemm, OverwritingIgnoresWhatCHeld) {
  Rng rng(4);
  const Matrix a = uniform_matrix(6, 4, rng), b = uniform_matrix(4, 5, rng);
  for (Index rows : {Index(1), Index(6)}) {
    Matrix c = Matrix::Constant(rows, 5, std::numeric_limits<float>::quiet_NaN());
    gemm(a.topRows(rows), b, c, {.beta = 0.0f});
    EXPECT_TRUE(c.allFinite()) << rows << " rows";
    EXPECT_LT((c - Matrix(a.topRows(rows) * b)).cwiseAbs().maxCoeff(), 1e-5f);
  }
}

TEST(Gemm, EmptyShapes) {
  Matrix c = Matrix::Constant(3, 2, 4.0f);
  gemm(Matrix(3, 0), Matrix(0, 2), c);  // an empty sum leaves c alone...
  EXPECT_TRUE((c.array() == 4.0f).all());
  gemm(Matrix(3, 0), Matrix(0, 2), c, {.beta = 0.5f});  // ...but for its scaling
  EXPECT_TRUE((c.array() == 2.0f).all());
  gemm(Matrix(3, 0), Matrix(0, 2), c, {.beta = 0.0f});
  EXPECT_TRUE((c.array() == 0.0f).all());
  Matrix none(0, 2);
  gemm(Matrix(0, 4), Matrix(4, 2), none);  // no rows: nothing to do, nothing touched
}

TEST(Gemm, MismatchedShapesAreAnErrorNotACorruption) {
  Matrix c(3, 2);
  EXPECT_THROW(gemm(Matrix(3, 4), Matrix(5, 2), c), Error);
  EXPECT_THROW(gemm(Matrix(3, 4), Matrix(4, 3), c), Error);
  EXPECT_THROW(gemm(Matrix(3, 4), Matrix(4, 2), c, {.transpose_a = true}), Error);
}

TEST(Gemm, ThreadsCallingAtOnceGetTheSameBitsAsOneThread) {
  Rng rng(5);
  constexpr int kProducts = 16;
  std::vector<Matrix> a, b, alone(kProducts), together(kProducts);
  for (int p = 0; p < kProducts; ++p) {
    a.push_back(uniform_matrix(96, 64 + p, rng));
    b.push_back(uniform_matrix(64 + p, 48, rng));
    alone[p] = Matrix::Zero(96, 48);
    gemm(a[p], b[p], alone[p]);
  }
#pragma omp parallel for num_threads(4) schedule(static, 1)
  for (int p = 0; p < kProducts; ++p) {
    together[p] = Matrix::Zero(96, 48);
    gemm(a[p], b[p], together[p]);
  }
  for (int p = 0; p < kProducts; ++p) EXPECT_EQ(alone[p], together[p]) << "product " << p;
}

}  // namespace
}  // namespace heed
