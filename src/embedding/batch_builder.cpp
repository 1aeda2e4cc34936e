#include "embedding/batch_builder.h"

#include <omp.h>

namespace heed {

BatchBuilder::BatchBuilder(const Schema& schema, const EmbeddingConfig& config)
    : schema_(schema),
      learned_default_(config.unseen == UnseenPolicy::kDefault),
      default_rate_(config.default_rate),
      slot_of_row_(schema.tables.size()) {}

namespace {
constexpr std::size_t kAhead = 16;  // rows between asking for a row's keys and reading them
}  // namespace

void BatchBuilder::look_up(const Dataset& data, std::span<const std::size_t> rows,
                           const std::vector<EmbeddingTable>& tables, const NumericNormalizer& normalizer,
                           std::int32_t unseen_row, int threads, Batch& out) {
  const std::size_t B = rows.size();
  out.size = B;
  out.labels.clear();
  if (data.has_labels())
    for (std::size_t r : rows) out.labels.push_back(data.labels[r]);
  out.features.resize(schema_.features.size());
  out.tables.resize(tables.size());
  for (auto& t : out.tables) t.touched.clear();

  // Where each batch row's values are in the column and go in the batch (on one thread: it sizes
  // what the threads fill).
  key_starts_.resize(schema_.features.size());
  for (std::size_t fi = 0; fi < schema_.features.size(); ++fi) {
    FeatureBatch& fb = out.features[fi];
    fb.offsets.clear();
    fb.rows.clear();
    fb.slots.clear();
    if (schema_.features[fi].is_dense()) continue;
    fb.offsets.assign(1, 0);
    // (No rows, no columns read: an empty share of a distributed step holds an empty dataset.)
    if (B == 0) continue;
    const KeyColumn& column = data.keys[fi];
    std::vector<std::uint64_t>& starts = key_starts_[fi];
    starts.resize(B);
    fb.offsets.resize(B + 1);
    for (std::size_t i = 0; i < B; ++i) {
      if (i + kAhead < B) __builtin_prefetch(column.offsets.data() + rows[i + kAhead]);
      starts[i] = column.offsets[rows[i]];
      fb.offsets[i + 1] = fb.offsets[i] + static_cast<std::uint32_t>(column.count(rows[i]));
    }
    fb.rows.resize(fb.offsets[B]);
  }

  // Each thread resolves one contiguous run of batch rows of every feature. A shuffled batch
  // reads each row's keys from anywhere in the column: the keys of the row kAhead on are asked
  // for ahead, so that resolving a key rarely waits on memory.
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const auto team = static_cast<std::size_t>(omp_get_num_threads());
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t begin = B * t / team, end = B * (t + 1) / team;
    for (std::size_t fi = 0; fi < schema_.features.size() && begin < end; ++fi) {
      const FeatureInfo& f = schema_.features[fi];
      if (f.is_dense()) continue;
      const EmbeddingTable& table = tables[static_cast<std::size_t>(f.table)];
      const std::uint64_t* keys = data.keys[fi].keys.data();
      const std::uint64_t* starts = key_starts_[fi].data();
      FeatureBatch& fb = out.features[fi];
      for (std::size_t i = begin; i < end; ++i) {
        if (i + kAhead < end) __builtin_prefetch(keys + starts[i + kAhead]);
        std::int32_t* into = fb.rows.data() + fb.offsets[i];
        const std::uint64_t* key = keys + starts[i];
        for (std::uint32_t v = fb.offsets[i]; v < fb.offsets[i + 1]; ++v) {
          const std::int32_t row = table.find(*key++);
          *into++ = row == EmbeddingTable::kUnseen ? unseen_row : row;
        }
      }
    }
  }

  out.dense.resize(static_cast<Index>(B), static_cast<Index>(schema_.num_dense));
  for (std::size_t d = 0; d < schema_.num_dense; ++d)
    for (std::size_t i = 0; i < B; ++i)
      out.dense(static_cast<Index>(i), static_cast<Index>(d)) = normalizer.apply(d, data.dense[d][rows[i]]);
}

void BatchBuilder::build(const Dataset& data, std::span<const std::size_t> rows, bool training, Rng* rng,
                         std::vector<EmbeddingTable>& tables, const NumericNormalizer& normalizer, Batch& out,
                         int threads) {
  if (!training) {
    look_up(data, rows, tables, normalizer, scoring_unseen_row(), threads, out);
    return;
  }
  look_up(data, rows, tables, normalizer, EmbeddingTable::kUnseen, threads, out);
  if (rows.empty()) return;
  // Then, on one thread and in the order of features, rows and values (so a table's new rows
  // come in the same order for any thread count): the keys the tables lacked get rows, the
  // learned default takes its share, and each row its slot among the rows the batch touched.
  for (std::size_t fi = 0; fi < schema_.features.size(); ++fi) {
    const FeatureInfo& f = schema_.features[fi];
    if (f.is_dense()) continue;
    const auto t = static_cast<std::size_t>(f.table);
    EmbeddingTable& table = tables[t];
    const KeyColumn& column = data.keys[fi];
    FeatureBatch& fb = out.features[fi];
    std::vector<std::int32_t>& slot_of_row = slot_of_row_[t];
    std::vector<std::uint32_t>& touched = out.tables[t].touched;
    fb.slots.resize(fb.rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
      for (std::uint32_t j = fb.offsets[i]; j < fb.offsets[i + 1]; ++j) {
        std::int32_t row = fb.rows[j];
        if (row == EmbeddingTable::kUnseen)
          row = static_cast<std::int32_t>(table.find_or_insert(column.keys[key_starts_[fi][i] + (j - fb.offsets[i])]));
        if (learned_default_ && rng->bernoulli(default_rate_)) row = EmbeddingTable::kDefaultRow;
        fb.rows[j] = row;
        if (slot_of_row.size() < table.rows()) slot_of_row.resize(table.rows() * 2, -1);
        std::int32_t& slot = slot_of_row[static_cast<std::size_t>(row)];
        if (slot < 0) {
          slot = static_cast<std::int32_t>(touched.size());
          touched.push_back(static_cast<std::uint32_t>(row));
        }
        fb.slots[j] = static_cast<std::uint32_t>(slot);
      }
  }
  // Leave the scratch all -1 for the next batch.
  for (std::size_t t = 0; t < out.tables.size(); ++t)
    for (std::uint32_t row : out.tables[t].touched) slot_of_row_[t][row] = -1;
}

void BatchBuilder::build(const Dataset& data, std::span<const std::size_t> rows,
                         const std::vector<EmbeddingTable>& tables, const NumericNormalizer& normalizer, Batch& out) {
  look_up(data, rows, tables, normalizer, scoring_unseen_row(), /*threads=*/1, out);
}

}  // namespace heed
