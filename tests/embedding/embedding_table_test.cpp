// Embedding tables: deterministic initial rows whatever the insertion order, fixed buckets,
// unseen keys, and save/load.
#include "embedding/embedding_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "../support/test_files.h"
#include "core/binary_io.h"
#include "core/error.h"
#include "core/rng.h"

namespace heed {
namespace {

using ::testing::HasSubstr;

std::vector<float> row_of(const EmbeddingTable& table, std::uint32_t r) {
  return {table.row(r), table.row(r) + table.dim()};
}

std::vector<std::uint64_t> some_keys(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint64_t> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(mix64(seed + i));
  return keys;
}

TEST(EmbeddingTable, DefaultRowIsZero) {
  EmbeddingTable table("t", 4, 0, 0.1f, 9);
  EXPECT_EQ(table.rows(), 1u);
  EXPECT_EQ(row_of(table, EmbeddingTable::kDefaultRow), std::vector<float>(4, 0.0f));
}

TEST(EmbeddingTable, InitialRowDependsOnKeyNotInsertionOrder) {
  const auto keys = some_keys(300, 1);  // enough to make the key index grow several times
  auto reversed = keys;
  std::reverse(reversed.begin(), reversed.end());
  EmbeddingTable forward("t", 8, 0, 0.05f, 42), backward("t", 8, 0, 0.05f, 42);
  for (auto k : keys) forward.find_or_insert(k);
  for (auto k : reversed) backward.find_or_insert(k);
  ASSERT_EQ(forward.rows(), keys.size() + 1);
  ASSERT_EQ(backward.rows(), keys.size() + 1);
  for (auto k : keys) {
    const std::int32_t a = forward.find(k), b = backward.find(k);
    ASSERT_GE(a, 1);
    ASSERT_GE(b, 1);
    EXPECT_EQ(row_of(forward, static_cast<std::uint32_t>(a)),
              row_of(backward, static_cast<std::uint32_t>(b)));
  }
  // Rows are not all the same, have roughly the configured spread and differ with the seed.
  EmbeddingTable other_seed("t", 8, 0, 0.05f, 43);
  const std::uint32_t r0 = other_seed.find_or_insert(keys[0]);
  EXPECT_NE(row_of(other_seed, r0),
            row_of(forward, static_cast<std::uint32_t>(forward.find(keys[0]))));
  double sum_sq = 0;
  for (std::uint32_t r = 1; r < forward.rows(); ++r)
    for (float v : row_of(forward, r)) sum_sq += static_cast<double>(v) * v;
  const double std_dev = std::sqrt(sum_sq / static_cast<double>((forward.rows() - 1) * 8));
  EXPECT_NEAR(std_dev, 0.05, 0.005);
}

TEST(EmbeddingTable, FindOrInsertIsStable) {
  EmbeddingTable table("t", 3, 0, 0.1f, 1);
  const auto keys = some_keys(100, 7);
  std::vector<std::uint32_t> rows;
  for (auto k : keys) rows.push_back(table.find_or_insert(k));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(rows[i], i + 1) << "new keys take the next row";
    EXPECT_EQ(table.find_or_insert(keys[i]), rows[i]);
    EXPECT_EQ(table.find(keys[i]), static_cast<std::int32_t>(rows[i]));
  }
  EXPECT_EQ(table.rows(), keys.size() + 1);
}

TEST(EmbeddingTable, UnseenKeyIsNotFound) {
  EmbeddingTable table("t", 3, 0, 0.1f, 1);
  table.find_or_insert(5);
  EXPECT_EQ(table.find(6), EmbeddingTable::kUnseen);
  EXPECT_EQ(table.find(0), EmbeddingTable::kUnseen);
  // Keys that collide in the index's low bits are still told apart.
  EXPECT_EQ(table.find(5 + (1ull << 40)), EmbeddingTable::kUnseen);
  EXPECT_EQ(table.rows(), 2u) << "find never inserts";
}

TEST(EmbeddingTable, KeyZeroIsAnOrdinaryKey) {
  EmbeddingTable table("t", 3, 0, 0.1f, 1);
  EXPECT_EQ(table.find_or_insert(0), 1u);
  EXPECT_EQ(table.find(0), 1);
}

TEST(EmbeddingTable, FixedBucketsMapKeyModN) {
  const std::uint64_t N = 37;
  EmbeddingTable table("t", 4, N, 0.1f, 3);
  EXPECT_EQ(table.rows(), N + 1);
  for (auto k : some_keys(500, 3)) {
    EXPECT_EQ(table.find_or_insert(k), 1 + k % N);
    EXPECT_EQ(table.find(k), static_cast<std::int32_t>(1 + k % N));
  }
  EXPECT_EQ(table.rows(), N + 1) << "fixed tables never grow";
  // Every bucket starts initialized (not zero), and the same way in two tables.
  EmbeddingTable twin("t", 4, N, 0.1f, 3);
  for (std::uint32_t r = 1; r <= N; ++r) {
    EXPECT_NE(row_of(table, r), std::vector<float>(4, 0.0f));
    EXPECT_EQ(row_of(table, r), row_of(twin, r));
  }
}

TEST(EmbeddingTable, SaveLoadRoundTrip) {
  EmbeddingTable table("items", 5, 0, 0.1f, 11);
  const auto keys = some_keys(50, 11);
  for (auto k : keys) table.find_or_insert(k);
  table.row(7)[4] = -3.0f;
  std::stringstream buffer;
  table.save(buffer);

  EmbeddingTable loaded("items", 5, 0, 0.1f, 11);
  loaded.load(buffer);
  ASSERT_EQ(loaded.rows(), table.rows());
  for (std::uint32_t r = 0; r < table.rows(); ++r) EXPECT_EQ(row_of(loaded, r), row_of(table, r));
  for (auto k : keys) EXPECT_EQ(loaded.find(k), table.find(k));
  EXPECT_EQ(loaded.find(12345), EmbeddingTable::kUnseen);
  // New keys continue after the loaded ones, as in the original.
  EXPECT_EQ(loaded.find_or_insert(999), table.find_or_insert(999));
}

// The layout tables had while they kept the optimizer's state: today's, with `slots` blocks of
// dim floats per row after the weights.
std::string legacy_table_bytes(const EmbeddingTable& table, std::uint64_t slots, const std::vector<float>& state) {
  std::stringstream current;
  table.save(current);
  std::stringstream in(current.str());
  const std::string name = read_string(in);
  const auto dim = read_pod<std::uint64_t>(in);
  const auto buckets = read_pod<std::uint64_t>(in);
  read_pod<std::uint64_t>(in);  // today's 0 slots
  const auto keys = read_vector<std::uint64_t>(in);
  const auto weights = read_vector<float>(in);
  std::stringstream out;
  write_string(out, name);
  write_pod<std::uint64_t>(out, dim);
  write_pod<std::uint64_t>(out, buckets);
  write_pod<std::uint64_t>(out, slots);
  write_vector(out, keys);
  write_vector(out, weights);
  write_vector(out, state);
  return out.str();
}

TEST(EmbeddingTable, SavesWeightsOnly) {
  EmbeddingTable table("items", 5, 0, 0.1f, 11);
  for (auto k : some_keys(50, 11)) table.find_or_insert(k);
  std::stringstream buffer;
  table.save(buffer);
  // name, dim, buckets, state slots (0), keys, weights, an empty state vector: no moments.
  const std::size_t expected = 8 + 5 + 8 + 8 + 8 + (8 + 8 * table.rows()) + (8 + 4 * 5 * table.rows()) + 8;
  EXPECT_EQ(buffer.str().size(), expected);
}

TEST(EmbeddingTable, LoadsATableThatStillHoldsOptimizerState) {
  EmbeddingTable table("items", 5, 0, 0.1f, 11);
  const auto keys = some_keys(30, 4);
  for (auto k : keys) table.find_or_insert(k);
  std::vector<float> state(table.rows() * 2 * table.dim());
  for (std::size_t i = 0; i < state.size(); ++i) state[i] = static_cast<float>(i) * 0.5f;
  const std::string bytes = legacy_table_bytes(table, 2, state);

  // Scoring skips the state; a resumed run receives it.
  for (bool want_state : {false, true}) {
    EmbeddingTable loaded("items", 5, 0, 0.1f, 11);
    std::stringstream in(bytes + "after");
    std::vector<float> got;
    loaded.load(in, want_state ? &got : nullptr);
    ASSERT_EQ(loaded.rows(), table.rows());
    for (std::uint32_t r = 0; r < table.rows(); ++r) EXPECT_EQ(row_of(loaded, r), row_of(table, r));
    for (auto k : keys) EXPECT_EQ(loaded.find(k), table.find(k));
    EXPECT_EQ(got, want_state ? state : std::vector<float>());
    std::string rest;
    in >> rest;
    EXPECT_EQ(rest, "after");  // read exactly to the table's end
  }
  // A state whose size does not fit the rows is refused.
  state.pop_back();
  std::stringstream bad(legacy_table_bytes(table, 2, state));
  EmbeddingTable loaded("items", 5, 0, 0.1f, 11);
  EXPECT_THAT(HEED_ERROR_MESSAGE(loaded.load(bad), Error), HasSubstr("inconsistent sizes"));
}

TEST(EmbeddingTable, LoadRefusesAnotherShape) {
  EmbeddingTable table("items", 5, 0, 0.1f, 11);
  std::stringstream buffer;
  table.save(buffer);
  const std::string bytes = buffer.str();
  auto load_into = [&](EmbeddingTable other) {
    std::stringstream in(bytes);
    other.load(in);
  };
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_into(EmbeddingTable("items", 6, 0, 0.1f, 11)), Error),
              HasSubstr("does not match"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_into(EmbeddingTable("other", 5, 0, 0.1f, 11)), Error),
              HasSubstr("does not match"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(load_into(EmbeddingTable("items", 5, 8, 0.1f, 11)), Error),
              HasSubstr("does not match"));
  // Cut short: an error, not a crash or a huge allocation.
  EmbeddingTable fresh("items", 5, 0, 0.1f, 11);
  std::stringstream cut(bytes.substr(0, bytes.size() - 7));
  EXPECT_THROW(fresh.load(cut), Error);
}

}  // namespace
}  // namespace heed
