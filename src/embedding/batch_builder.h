#pragma once
// Gathers dataset rows into a Batch: resolves every key to its embedding row (inserting new
// keys when training), lists the distinct rows each table touched, and normalizes dense
// inputs. Runs on one thread before the workers start, so tables never grow under a reader.
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
  void build(const Dataset& data, std::span<const std::size_t> rows, bool training, Rng* rng,
             std::vector<EmbeddingTable>& tables, const NumericNormalizer& normalizer, Batch& out);
  // Scoring (training = false above): the tables are only read, so a model shared by many
  // threads can be scored from each of them with a builder of its own.
  void build(const Dataset& data, std::span<const std::size_t> rows, const std::vector<EmbeddingTable>& tables,
             const NumericNormalizer& normalizer, Batch& out);

 private:
  // Fills `out` with every feature's rows; resolve(table, key, feature batch) appends the row.
  template <class Resolve>
  void gather(const Dataset& data, std::span<const std::size_t> rows, std::size_t tables,
              const NumericNormalizer& normalizer, Batch& out, Resolve&& resolve);

  const Schema& schema_;
  bool learned_default_;
  double default_rate_;
  std::vector<std::vector<std::int32_t>> slot_of_row_;  // per table, -1 when untouched
};

}  // namespace heed
