#pragma once
// Gathers dataset rows into a Batch: resolves every key to its embedding row (inserting new
// keys when training), lists the distinct rows each table touched, and normalizes dense
// inputs. Runs before the workers start, so tables never grow under a reader: the lookups,
// which only read the tables, may be split over threads; new rows are added on one thread.
#include <span>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "embedding/batch.h"
#include "embedding/embedding_table.h"
#include "embedding/numeric_normalizer.h"

namespace heed {

class BatchBuilder {
 public:
  BatchBuilder(const Schema& schema, const EmbeddingConfig& config);

  // training: new keys get rows, and with unseen = "default" a share of lookups is routed to
  // the default row (drawn from rng). Otherwise unseen keys read zero or the default row.
  // `threads` split the lookups; the batch is the same for any number of them.
  void build(const Dataset& data, std::span<const std::size_t> rows, bool training, Rng* rng,
             std::vector<EmbeddingTable>& tables, const NumericNormalizer& normalizer, Batch& out,
             int threads = 1);
  // Scoring (training = false above): the tables are only read, so a model shared by many
  // threads can be scored from each of them with a builder of its own.
  void build(const Dataset& data, std::span<const std::size_t> rows, const std::vector<EmbeddingTable>& tables,
             const NumericNormalizer& normalizer, Batch& out);

 private:
  // Fills `out` but for the slots: labels, dense inputs, every feature's offsets and each
  // value's row as its table holds it now (unseen_row for a key the table lacks). Only reads the
  // tables, so `threads` share the lookups.
  void look_up(const Dataset& data, std::span<const std::size_t> rows, const std::vector<EmbeddingTable>& tables,
               const NumericNormalizer& normalizer, std::int32_t unseen_row, int threads, Batch& out);
  // What a scoring pass reads for a key the table lacks: the learned default row, or zeros.
  std::int32_t scoring_unseen_row() const {
    return learned_default_ ? static_cast<std::int32_t>(EmbeddingTable::kDefaultRow) : EmbeddingTable::kUnseen;
  }

  const Schema& schema_;
  bool learned_default_;
  double default_rate_;
  std::vector<std::vector<std::int32_t>> slot_of_row_;  // per table, -1 when untouched
  std::vector<std::vector<std::uint64_t>> key_starts_;  // per feature, each batch row's first key in its column
};

}  // namespace heed
