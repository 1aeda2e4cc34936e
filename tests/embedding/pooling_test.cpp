// Sum and mean pooling against a hand computation, and the backward pass against finite
// differences of the table rows it reads.
#include "embedding/pooling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../layers/gradient_check.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::random_matrix;

constexpr std::size_t kDim = 3;

// Exact equality of two matrices, printed on failure.
::testing::AssertionResult same(const Matrix& a, const Matrix& b) {
  if (a.rows() == b.rows() && a.cols() == b.cols() && a == b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\n" << a << "\nvs\n" << b;
}

bool is_zero(const Matrix& m) {
  return (m.array() == 0.0f).all();
}

// A table whose row r holds (r, 10 r, 100 r) + small offsets, so sums are easy to read.
EmbeddingTable numbered_table(std::size_t rows) {
  EmbeddingTable table("t", kDim, 0, 0.0f, 1);
  for (std::uint64_t k = 1; k < rows; ++k) table.find_or_insert(k);
  for (std::uint32_t r = 0; r < table.rows(); ++r)
    for (std::size_t e = 0; e < kDim; ++e)
      table.row(r)[e] = static_cast<float>(r) * std::pow(10.0f, static_cast<float>(e)) + 0.5f;
  return table;
}

// Bags of rows -> a FeatureBatch (slots: index of the row among the distinct rows, in order).
FeatureBatch batch_of(const std::vector<std::vector<std::int32_t>>& bags,
                      std::vector<std::uint32_t>* touched = nullptr) {
  FeatureBatch fb;
  fb.offsets.push_back(0);
  std::vector<std::uint32_t> seen;
  for (const auto& bag : bags) {
    for (std::int32_t r : bag) {
      fb.rows.push_back(r);
      std::uint32_t slot = 0;
      if (r >= 0) {
        const auto it = std::find(seen.begin(), seen.end(), static_cast<std::uint32_t>(r));
        slot = static_cast<std::uint32_t>(it - seen.begin());
        if (it == seen.end()) seen.push_back(static_cast<std::uint32_t>(r));
      }
      fb.slots.push_back(slot);
    }
    fb.offsets.push_back(static_cast<std::uint32_t>(fb.rows.size()));
  }
  if (touched) *touched = seen;
  return fb;
}

// The obviously correct pooling: unseen (-1) values read as zero vectors.
Matrix reference_pool(const EmbeddingTable& table,
                      const std::vector<std::vector<std::int32_t>>& bags, Pooling pooling) {
  Matrix out = Matrix::Zero(static_cast<Index>(bags.size()), kDim);
  for (std::size_t b = 0; b < bags.size(); ++b) {
    for (std::int32_t r : bags[b])
      if (r >= 0)
        for (std::size_t e = 0; e < kDim; ++e)
          out(static_cast<Index>(b), static_cast<Index>(e)) +=
              table.row(static_cast<std::uint32_t>(r))[e];
    if (pooling == Pooling::kMean && !bags[b].empty())
      out.row(static_cast<Index>(b)) /= static_cast<float>(bags[b].size());
    if (pooling == Pooling::kSqrtN && !bags[b].empty())
      out.row(static_cast<Index>(b)) /= std::sqrt(static_cast<float>(bags[b].size()));
  }
  return out;
}

const std::vector<std::vector<std::int32_t>> kBags = {
    {1, 2, 3},  // three rows
    {},         // empty: zero
    {4},        // one row
    {2, 2},     // a repeated row counts twice
    {-1, 5},    // an unseen value contributes nothing (a zero vector)
    {-1, -1},   // all unseen: zero
    {0, 6},     // the default row is an ordinary row here
};

TEST(Pooling, SumMatchesHandComputation) {
  const EmbeddingTable table = numbered_table(8);
  const FeatureBatch fb = batch_of(kBags);
  Matrix out = Matrix::Constant(static_cast<Index>(kBags.size()), kDim,
                                99.0f);  // stale values must be overwritten
  pool_forward(table, fb, Pooling::kSum, 0, static_cast<Index>(kBags.size()), out);
  EXPECT_TRUE(same(out, reference_pool(table, kBags, Pooling::kSum)));
  // Spelled out for two bags: 1 + 2 + 3 rows plus three times the 0.5 offset.
  EXPECT_FLOAT_EQ(out(0, 0), 6 + 1.5f);
  EXPECT_FLOAT_EQ(out(0, 2), 600 + 1.5f);
  EXPECT_TRUE(is_zero(out.row(1)));
  EXPECT_TRUE(is_zero(out.row(5)));
  EXPECT_FLOAT_EQ(out(4, 1), 50.5f);
}

TEST(Pooling, MeanMatchesHandComputation) {
  const EmbeddingTable table = numbered_table(8);
  const FeatureBatch fb = batch_of(kBags);
  Matrix out = Matrix::Constant(static_cast<Index>(kBags.size()), kDim, 99.0f);
  pool_forward(table, fb, Pooling::kMean, 0, static_cast<Index>(kBags.size()), out);
  const Matrix expected = reference_pool(table, kBags, Pooling::kMean);
  for (Index i = 0; i < out.size(); ++i) EXPECT_FLOAT_EQ(out.data()[i], expected.data()[i]) << i;
  EXPECT_FLOAT_EQ(out(0, 0), (6 + 1.5f) / 3);
  EXPECT_TRUE(is_zero(out.row(1)));
  EXPECT_FLOAT_EQ(out(3, 1), 20.5f);
  // An unseen value is a zero vector: it counts in the mean's denominator.
  EXPECT_FLOAT_EQ(out(4, 0), 5.5f / 2);
  EXPECT_TRUE(is_zero(out.row(5)));
}

TEST(Pooling, SqrtnMatchesHandComputation) {
  const EmbeddingTable table = numbered_table(8);
  const FeatureBatch fb = batch_of(kBags);
  Matrix out = Matrix::Constant(static_cast<Index>(kBags.size()), kDim, 99.0f);
  pool_forward(table, fb, Pooling::kSqrtN, 0, static_cast<Index>(kBags.size()), out);
  const Matrix expected = reference_pool(table, kBags, Pooling::kSqrtN);
  for (Index i = 0; i < out.size(); ++i) EXPECT_FLOAT_EQ(out.data()[i], expected.data()[i]) << i;
  EXPECT_FLOAT_EQ(out(0, 0), (6 + 1.5f) / std::sqrt(3.0f));
  EXPECT_FLOAT_EQ(out(2, 0), 4.5f) << "one value: sqrtn is the value itself";
  EXPECT_TRUE(is_zero(out.row(1)));
  EXPECT_FLOAT_EQ(out(4, 0), 5.5f / std::sqrt(2.0f)) << "an unseen value counts";
}

TEST(Pooling, ARangeOfRowsWritesIntoAColumnBlock) {
  // Model::forward pools rows [begin, begin + count) into one field's block of [B, F*E].
  const EmbeddingTable table = numbered_table(8);
  const FeatureBatch fb = batch_of(kBags);
  Matrix fields = Matrix::Constant(4, 3 * kDim, 7.0f);
  pool_forward(table, fb, Pooling::kSum, 2, 4, fields.block(0, kDim, 4, kDim));
  const Matrix expected = reference_pool(table, kBags, Pooling::kSum).middleRows(2, 4);
  EXPECT_TRUE(same(fields.block(0, kDim, 4, kDim), expected));
  EXPECT_TRUE((fields.leftCols(kDim).array() == 7.0f).all()) << "other fields are left alone";
  EXPECT_TRUE((fields.rightCols(kDim).array() == 7.0f).all());
}

class PoolingGradient : public ::testing::TestWithParam<Pooling> {};

TEST_P(PoolingGradient, MatchesFiniteDifferences) {
  const Pooling pooling = GetParam();
  Rng rng(5);
  EmbeddingTable table("t", kDim, 0, 0.5f, 3);
  for (std::uint64_t k = 1; k <= 7; ++k) table.find_or_insert(k);
  std::vector<std::uint32_t> touched;
  const FeatureBatch fb = batch_of(kBags, &touched);
  const auto B = static_cast<Index>(kBags.size());
  const Matrix R = random_matrix(B, kDim, rng);

  // The touched rows as a matrix the checker can perturb; the loss copies them into the table.
  Matrix rows(static_cast<Index>(touched.size()), kDim);
  for (std::size_t s = 0; s < touched.size(); ++s)
    for (std::size_t e = 0; e < kDim; ++e)
      rows(static_cast<Index>(s), static_cast<Index>(e)) = table.row(touched[s])[e];
  Matrix out(B, kDim);
  auto loss = [&] {
    for (std::size_t s = 0; s < touched.size(); ++s)
      for (std::size_t e = 0; e < kDim; ++e)
        table.row(touched[s])[e] = rows(static_cast<Index>(s), static_cast<Index>(e));
    pool_forward(table, fb, pooling, 0, B, out);
    return dot(out, R);
  };
  loss();
  // Backward accumulates: start from a known non-zero gradient and subtract it afterwards.
  Matrix grad = Matrix::Constant(static_cast<Index>(touched.size()), kDim, 0.25f);
  pool_backward(fb, pooling, 0, B, R, kDim, grad.data());
  grad.array() -= 0.25f;
  testing::GradientCheckOptions o;
  o.step = 1e-2f;
  expect_gradient_matches(std::string(choice_name(pooling)) + " rows", rows, grad, loss, o);
  // Row 2 appears in bag 0 once and in bag 3 twice: its gradient sums all three uses.
  const auto slot2 =
      static_cast<Index>(std::find(touched.begin(), touched.end(), 2u) - touched.begin());
  const float w0 = pooled_scale(pooling, 3), w3 = 2.0f * pooled_scale(pooling, 2);
  for (Index e = 0; e < static_cast<Index>(kDim); ++e)
    EXPECT_NEAR(grad(slot2, e), w0 * R(0, e) + w3 * R(3, e), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Kinds, PoolingGradient,
                         ::testing::Values(Pooling::kSum, Pooling::kMean, Pooling::kSqrtN));

}  // namespace
}  // namespace heed
