// The encoder's shortcuts against the general code they stand in for: plain integers read
// without from_chars, log2 buckets of whole counts by bit width, and a sparse line's values
// hashed one by one instead of joined and split again.
#include "data/row_encoder.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "config/schema.h"

namespace heed {
namespace {

// parse_number as it reads any text: spaces trimmed, a leading '+' dropped, from_chars.
bool general_parse(std::string_view text, double& out) {
  text = trim_spaces(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

TEST(RowEncoder, PlainIntegersReadAsFromCharsReadsThem) {
  std::vector<std::string> texts = {"0", "-0", "1", "-1", "007", "-007", "42", "123456789012345",
                                    "-123456789012345", "1234567890123456", "99999999999999999999",
                                    "-", "", " 5", "5 ", "+5", "--5", "5-", "1e3", "0x10", "1.5", "4294967296"};
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const auto digits = 1 + rng() % 15;
    std::string t = rng() % 2 ? "-" : "";
    for (std::size_t d = 0; d < digits; ++d) t.push_back(static_cast<char>('0' + rng() % 10));
    texts.push_back(t);
  }
  for (const std::string& t : texts) {
    double fast = 12345, general = 12345;
    const bool fast_ok = parse_number(t, fast);
    const bool general_ok = general_parse(t, general);
    ASSERT_EQ(fast_ok, general_ok) << "'" << t << "'";
    if (!fast_ok) continue;
    // Bit for bit: -0 stays -0.
    ASSERT_EQ(std::memcmp(&fast, &general, sizeof fast), 0) << "'" << t << "': " << fast << " vs " << general;
  }
}

TEST(RowEncoder, Log2BucketsOfWholeCountsAreFloorLog2PlusTwo) {
  FeatureInfo f;
  f.kind = FeatureKind::kNumeric;
  f.bucketizer = Bucketize::kLog2;
  auto expected = [](double x) {
    return x < 1.0 ? static_cast<std::int64_t>(std::floor(std::max(x, -1e15)))
                   : static_cast<std::int64_t>(std::floor(std::log2(x))) + 2;
  };
  std::vector<double> values = {0, 1, 2, 3, 4, 0.5, 1.5, 2.999, -3, -0.5, 1e20, 4294967295.0, 4294967296.0,
                                4294967297.0, 4294967295.5, std::numeric_limits<double>::max()};
  for (int k = 0; k <= 40; ++k)
    for (double d : {-1.0, 0.0, 1.0}) values.push_back(std::ldexp(1.0, k) + d);
  for (std::uint64_t v = 1; v <= (1u << 20); ++v) values.push_back(static_cast<double>(v));
  std::mt19937_64 rng(9);
  for (int i = 0; i < 100000; ++i) values.push_back(static_cast<double>(rng() >> (32 + rng() % 32)));
  for (const double x : values) ASSERT_EQ(numeric_bucket(f, x), expected(x)) << x;
}

// A sparse line's indices for a multi or sequence feature: the keys of add_text over the values
// joined by the separator, with empty values, separators inside a value and max_len alike.
TEST(RowEncoder, ValuesGiveTheKeysOfTheirJoinedText) {
  const Config config = parse_config(
      "[features.tags]\nkind = \"multi\"\nmax_len = 3\nseparator = \";\"\n"
      "[features.history]\nkind = \"sequence\"\nmax_len = 3\nseparator = \"|\"\n",
      "values.toml");
  const Schema schema = Schema::from_config(config);
  const std::vector<std::vector<std::string_view>> rows = {
      {}, {"a"}, {"a", "b"}, {"a", "", "b"}, {"a|b", "c"}, {"1", "2", "3", "4", "5"}, {"", ""}, {"|x|", "y"}};
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    const char separator = schema.features[fi].separator;
    RowEncoder joined_encoder(schema), values_encoder(schema);
    Dataset joined, values;
    joined_encoder.prepare(joined);
    values_encoder.prepare(values);
    for (const auto& row : rows) {
      std::string text;
      std::vector<std::string_view> parts;
      for (std::size_t k = 0; k < row.size(); ++k) {
        if (k) text.push_back(separator);
        std::string part(row[k]);
        for (char& c : part)
          if (c == '|') c = separator;
        text += part;
      }
      // The values as their own strings, with the feature's separator where '|' stands.
      std::vector<std::string> owned;
      for (std::string_view v : row) {
        std::string part(v);
        for (char& c : part)
          if (c == '|') c = separator;
        owned.push_back(part);
      }
      for (const std::string& o : owned) parts.push_back(o);
      joined_encoder.add_text(fi, text, joined);
      values_encoder.add_values(fi, parts, values);
    }
    EXPECT_EQ(values.keys[fi].keys, joined.keys[fi].keys) << schema.features[fi].name;
    EXPECT_EQ(values.keys[fi].offsets, joined.keys[fi].offsets) << schema.features[fi].name;
    EXPECT_GT(joined.keys[fi].keys.size(), 5u);
  }
}

}  // namespace
}  // namespace heed
