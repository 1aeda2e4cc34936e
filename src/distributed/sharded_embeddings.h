#pragma once
// Model-parallel embedding rows (docs/distributed.md): every row lives on one rank, its owner,
// with its row-optimizer state; the other ranks see it only for the steps that read it.
//
// A row is known across ranks by its id: the key in a growable table, the bucket in a fixed one
// (EmbeddingTable::id_of). owner_of(id) mixes the id's bits before taking it modulo N, so the
// owner does not correlate with the low bits a table's own index buckets keys by. The default
// row (row 0) of every table belongs to rank 0.
//
// One step, every call collective:
//   fetch():  each rank sends the ids its share of the batch read (its cache's rows, in
//             first-use order) to their owners; an owner takes its senders in rank order and,
//             within one, in that order, inserting the ids it has never seen (so its table grows
//             in an order fixed by the data, the seed and N); it answers with the rows' values,
//             which fill the cache the model reads.
//   send_gradients(): each rank sends the gradients of the cache rows its share touched to their
//             owners, which add them per row in rank order (the same bits every run); returns
//             the squared norm of this rank's summed row gradients (for clipping).
//   update(): the owners' row-optimizer step on the rows that got a gradient.
// gather() brings every row (and, when asked, its optimizer state) to rank 0 as whole tables,
// the way a single process holds them: for validation and the kept model file. Checkpoints need no
// gather: save() writes this rank's rows as they are held (a checkpoint shard), and the
// constructor from a shard restores them.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "distributed/communicator.h"
#include "embedding/embedding_table.h"
#include "optim/row_optimizer.h"

namespace heed {

int owner_of(std::uint64_t id, int ranks);

class ShardedEmbeddings {
 public:
  // Takes this rank's rows of `whole` (a fresh model's tables, or a resumed checkpoint's, with
  // `whole_state`, the row optimizer holding their state, or nullptr).
  ShardedEmbeddings(Communicator& peers, const OptimizerConfig& optimizer, const std::vector<EmbeddingTable>& whole,
                    const RowOptimizer* whole_state);

  // Restores what save() wrote on this rank of as many ranks; `kinds`: the model's tables as its
  // config builds them (each table's name, dim, buckets and initial values). Throws
  // heed::Error when the shard does not fit them or holds an id this rank does not own.
  ShardedEmbeddings(Communicator& peers, const OptimizerConfig& optimizer, const std::vector<EmbeddingTable>& kinds,
                    std::istream& shard);

  // This rank's owned rows (row 0 included) and their row-optimizer state, exactly as held, so
  // rows restored from them continue bit for bit (a checkpoint shard).
  void save(std::ostream& out) const;

  // Empty caches shaped like `whole` (the model trains on them).
  std::vector<EmbeddingTable> make_caches(const std::vector<EmbeddingTable>& whole) const;
  static void clear(std::vector<EmbeddingTable>& caches);

  void fetch(std::vector<EmbeddingTable>& caches);
  // touched[t]: the cache rows of table t the share read; grads[t]: [touched, dim] their gradients.
  double send_gradients(const std::vector<EmbeddingTable>& caches,
                        const std::vector<const std::vector<std::uint32_t>*>& touched,
                        const std::vector<const std::vector<float>*>& grads);
  // Scales the summed gradients by `scale` (clipping; 1: none), then the row optimizer's step.
  // With `check_finite`, returns a description of the first updated row that is not finite.
  std::optional<std::string> update(std::int64_t step, int threads, float scale, bool check_finite);

  // Rank 0: `whole` receives every table as one process would hold it (row 0 and rank 0's rows,
  // then rank 1's, ...; fixed tables by bucket), `whole_state` their row-optimizer state as
  // RowOptimizer::save writes it. Other ranks: both untouched. With `whole_state` null (on every
  // rank alike) the state is not sent at all.
  void gather(std::vector<EmbeddingTable>& whole, std::string* whole_state) const;

  const std::vector<EmbeddingTable>& owned() const { return owned_; }
  std::size_t owned_rows() const;

 private:
  Communicator& peers_;
  OptimizerConfig optimizer_config_;
  std::vector<EmbeddingTable> kinds_;  // each table's empty cache: its name, dim, buckets and initial values
  std::vector<EmbeddingTable> owned_;  // growable, keyed by id; row 0: the default row (used on rank 0)
  RowOptimizer optimizer_;
  // This step's plan, per table: for each cache row, its owner and its place in the list sent
  // there; per sender and table, the owned rows its list named.
  std::vector<std::vector<int>> owner_of_row_;
  std::vector<std::vector<std::uint32_t>> place_of_row_;
  std::vector<std::vector<std::vector<std::uint32_t>>> rows_for_;  // [sender][table] -> owned rows
  // The summed gradients per table: the owned rows in first-arrival order, [rows, dim] values.
  std::vector<std::vector<std::uint32_t>> touched_;
  std::vector<std::vector<float>> grads_;
  std::vector<std::vector<std::int32_t>> slot_of_row_;  // scratch, -1 when untouched
};

}  // namespace heed
