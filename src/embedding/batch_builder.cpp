#include "embedding/batch_builder.h"

namespace heed {

BatchBuilder::BatchBuilder(const Schema& schema, const EmbeddingConfig& config)
    : schema_(schema),
      learned_default_(config.unseen == UnseenPolicy::kDefault),
      default_rate_(config.default_rate),
      slot_of_row_(schema.tables.size()) {}

namespace {
constexpr std::size_t kAhead = 16;  // rows between asking for a row's keys and reading them
}  // namespace

template <class Resolve>
void BatchBuilder::gather(const Dataset& data, std::span<const std::size_t> rows, std::size_t tables,
                          const NumericNormalizer& normalizer, Batch& out, Resolve&& resolve) {
  const std::size_t B = rows.size();
  out.size = B;
  out.labels.clear();
  if (data.has_labels())
    for (std::size_t r : rows) out.labels.push_back(data.labels[r]);
  out.features.resize(schema_.features.size());
  out.tables.resize(tables);
  for (auto& t : out.tables) t.touched.clear();

  for (std::size_t fi = 0; fi < schema_.features.size(); ++fi) {
    const FeatureInfo& f = schema_.features[fi];
    FeatureBatch& fb = out.features[fi];
    fb.offsets.clear();
    fb.rows.clear();
    fb.slots.clear();
    if (f.is_dense()) continue;
    const auto t = static_cast<std::size_t>(f.table);
    const KeyColumn& column = data.keys[fi];
    fb.offsets.push_back(0);
    for (std::size_t i = 0; i < B; ++i) {
      // A shuffled batch reads each row's offsets and keys from anywhere in the column: ask for
      // them ahead (the offsets of the row 2 * kAhead on, the keys of the row kAhead on, whose
      // offsets were asked for earlier), so that resolving a key rarely waits on memory.
      if (i + 2 * kAhead < B) __builtin_prefetch(column.offsets.data() + rows[i + 2 * kAhead]);
      if (i + kAhead < B) __builtin_prefetch(column.keys.data() + column.offsets[rows[i + kAhead]]);
      const std::size_t r = rows[i];
      for (std::uint64_t v = column.offsets[r]; v < column.offsets[r + 1]; ++v) resolve(t, column.keys[v], fb);
      fb.offsets.push_back(static_cast<std::uint32_t>(fb.rows.size()));
    }
  }

  out.dense.resize(static_cast<Index>(B), static_cast<Index>(schema_.num_dense));
  for (std::size_t d = 0; d < schema_.num_dense; ++d)
    for (std::size_t i = 0; i < B; ++i)
      out.dense(static_cast<Index>(i), static_cast<Index>(d)) = normalizer.apply(d, data.dense[d][rows[i]]);
}

void BatchBuilder::build(const Dataset& data, std::span<const std::size_t> rows, bool training, Rng* rng,
                         std::vector<EmbeddingTable>& tables, const NumericNormalizer& normalizer, Batch& out) {
  if (!training) {
    build(data, rows, static_cast<const std::vector<EmbeddingTable>&>(tables), normalizer, out);
    return;
  }
  gather(data, rows, tables.size(), normalizer, out, [&](std::size_t t, std::uint64_t key, FeatureBatch& fb) {
    EmbeddingTable& table = tables[t];
    auto row = static_cast<std::int32_t>(table.find_or_insert(key));
    if (learned_default_ && rng->bernoulli(default_rate_)) row = EmbeddingTable::kDefaultRow;
    fb.rows.push_back(row);
    std::vector<std::int32_t>& slot_of_row = slot_of_row_[t];
    std::vector<std::uint32_t>& touched = out.tables[t].touched;
    if (slot_of_row.size() < table.rows()) slot_of_row.resize(table.rows() * 2, -1);
    std::int32_t& slot = slot_of_row[static_cast<std::size_t>(row)];
    if (slot < 0) {
      slot = static_cast<std::int32_t>(touched.size());
      touched.push_back(static_cast<std::uint32_t>(row));
    }
    fb.slots.push_back(static_cast<std::uint32_t>(slot));
  });
  // Leave the scratch all -1 for the next batch.
  for (std::size_t t = 0; t < out.tables.size(); ++t)
    for (std::uint32_t row : out.tables[t].touched) slot_of_row_[t][row] = -1;
}

void BatchBuilder::build(const Dataset& data, std::span<const std::size_t> rows,
                         const std::vector<EmbeddingTable>& tables, const NumericNormalizer& normalizer, Batch& out) {
  gather(data, rows, tables.size(), normalizer, out, [&](std::size_t t, std::uint64_t key, FeatureBatch& fb) {
    std::int32_t row = tables[t].find(key);
    if (row == EmbeddingTable::kUnseen && learned_default_) row = EmbeddingTable::kDefaultRow;
    fb.rows.push_back(row);
  });
}

}  // namespace heed
