#pragma once
// One batch in the form the model reads: every value already resolved to its embedding row,
// and, for training, to its slot among the rows the batch touched (where its gradient sums).
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace heed {

struct FeatureBatch {
  std::vector<std::uint32_t> offsets;  // [B+1]: row b's values are [offsets[b], offsets[b+1])
  std::vector<std::int32_t> rows;      // embedding row per value; -1: unseen key (zero vector)
  std::vector<std::uint32_t> slots;    // training only: the row's index in its table's `touched`
};

struct TableBatch {
  std::vector<std::uint32_t> touched;  // distinct rows the batch read, in first-use order
};

struct Batch {
  std::size_t size = 0;
  std::vector<float> labels;          // [B]; empty when scoring unlabeled rows
  std::vector<FeatureBatch> features; // per schema feature (empty for dense inputs)
  std::vector<TableBatch> tables;     // per table
  Matrix dense;                       // [B, D] normalized dense inputs
};

}  // namespace heed
