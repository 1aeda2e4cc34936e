// Dense numeric transforms against their formulas, statistics from the training data only,
// missing values, and save/load.
#include "embedding/numeric_normalizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "config/config_loader.h"
#include "core/error.h"

namespace heed {
namespace {

const float kMissing = std::numeric_limits<float>::quiet_NaN();

struct Fixture {
  Config config = parse_config(
      "[features.a]\nkind = \"numeric\"\n"
      "[features.b]\nkind = \"numeric\"\ntransform = \"log1p\"\n"
      "[features.item]\n"
      "[features.c]\nkind = \"numeric\"\ntransform = \"standardize\"\n"
      "[features.d]\nkind = \"numeric\"\ntransform = \"minmax\"\n",
      "t.toml");
  Schema schema = Schema::from_config(config);
  Dataset train;
  Fixture() {
    train.rows = 4;
    train.dense = {{1, 2, 3, 4}, {0, 1, -1, 9}, {2, kMissing, 4, 6}, {-2, 2, 6, kMissing}};
  }
};

TEST(NumericNormalizer, TransformsFollowTheirFormulas) {
  Fixture f;
  ASSERT_EQ(f.schema.num_dense, 4u);
  NumericNormalizer n(f.schema);
  n.fit(f.train);
  // none
  EXPECT_EQ(n.apply(0, 3.5f), 3.5f);
  // log1p, symmetric for negatives
  EXPECT_FLOAT_EQ(n.apply(1, 9.0f), std::log1p(9.0f));
  EXPECT_FLOAT_EQ(n.apply(1, -9.0f), -std::log1p(9.0f));
  // standardize with the training mean 4 and (population) std sqrt(8/3), missing values ignored
  const float std_c = std::sqrt(8.0f / 3.0f);
  EXPECT_NEAR(n.apply(2, 2.0f), (2.0f - 4.0f) / std_c, 1e-6);
  EXPECT_NEAR(n.apply(2, 10.0f), (10.0f - 4.0f) / std_c, 1e-6);
  // minmax with the training range [-2, 6]; values outside it are not clipped
  EXPECT_NEAR(n.apply(3, -2.0f), 0.0f, 1e-7);
  EXPECT_NEAR(n.apply(3, 6.0f), 1.0f, 1e-6);
  EXPECT_NEAR(n.apply(3, 10.0f), 1.5f, 1e-6);
  // Missing values become 0 whatever the transform.
  for (std::size_t d = 0; d < 4; ++d) EXPECT_EQ(n.apply(d, kMissing), 0.0f) << d;
}

TEST(NumericNormalizer, ConstantOrEmptyColumnsAreLeftAlone) {
  Fixture f;
  f.train.dense[2] = {5, 5, 5, 5};
  f.train.dense[3] = {kMissing, kMissing, kMissing, kMissing};
  NumericNormalizer n(f.schema);
  n.fit(f.train);
  EXPECT_EQ(n.apply(2, 7.0f), 2.0f);  // shifted by the mean, scale 1
  EXPECT_EQ(n.apply(3, 7.0f), 7.0f);  // nothing learned: identity
  EXPECT_TRUE(std::isfinite(n.apply(2, 5.0f)));
}

TEST(NumericNormalizer, SaveLoadRoundTripWithZeroPadding) {
  Fixture f;
  NumericNormalizer n(f.schema);
  n.fit(f.train);
  std::stringstream saved;
  n.save(saved);
  const std::string bytes = saved.str();
  NumericNormalizer loaded(f.schema);
  loaded.load(saved);
  for (std::size_t d = 0; d < 4; ++d)
    for (float x : {-3.0f, 0.0f, 0.5f, 7.0f})
      EXPECT_EQ(loaded.apply(d, x), n.apply(d, x)) << d << " " << x;
  // Each record is a flag and two floats; whatever lies between them is written as zeros, so
  // the same statistics always give the same bytes.
  const std::size_t record = (bytes.size() - 8) / 4;
  ASSERT_EQ(bytes.size(), 8 + 4 * record);
  for (std::size_t d = 0; d < 4; ++d)
    for (std::size_t i = 1; i < record - 2 * sizeof(float); ++i)
      EXPECT_EQ(bytes[8 + d * record + i], 0) << d << " " << i;
  // Another normalizer with the same statistics saves the same bytes.
  NumericNormalizer again(f.schema);
  again.fit(f.train);
  std::stringstream saved_again;
  again.save(saved_again);
  EXPECT_EQ(saved_again.str(), bytes);
}

TEST(NumericNormalizer, LoadRefusesAnotherSchema) {
  Fixture f;
  NumericNormalizer n(f.schema);
  std::stringstream saved;
  n.save(saved);
  const Config other = parse_config("[features.a]\nkind = \"numeric\"\n", "t.toml");
  NumericNormalizer smaller(Schema::from_config(other));
  EXPECT_THROW(smaller.load(saved), Error);
}

}  // namespace
}  // namespace heed
