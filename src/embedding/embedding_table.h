#pragma once
// One embedding table: rows of `dim` floats addressed by 64-bit keys. It holds weights only:
// the optimizer's per-row state (Adam's moments) lives in the row optimizer
// (optim/row_optimizer.h), so a model loaded for scoring carries none of it. The interface is deliberately narrow (look up, read/write a row, save, load) so
// other storage (sharded, quantized) can replace it.
//
// Two modes:
//  * growable (buckets = 0): a key gets its own row the first time it is inserted;
//  * fixed (buckets = N): key k always uses row 1 + k mod N; memory is bounded up front.
// Row 0 is the table's default row: the vector used for keys never seen in training when the
// config asks for a learned default (it starts at zero).
// A new row's initial value depends only on its key (or bucket) and the seed, never on the
// order keys arrive in.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "embedding/key_index.h"

namespace heed {

class EmbeddingTable {
 public:
  static constexpr std::int32_t kUnseen = -1;
  static constexpr std::uint32_t kDefaultRow = 0;

  EmbeddingTable(std::string name, std::size_t dim, std::uint64_t buckets, float init_std, std::uint64_t seed);

  const std::string& name() const { return name_; }
  std::size_t dim() const { return dim_; }
  std::size_t rows() const { return weights_.size() / dim_; }
  std::uint64_t buckets() const { return buckets_; }

  // Row of `key`, created (with its deterministic initial value) when absent.
  std::uint32_t find_or_insert(std::uint64_t key);
  // Row of `key`, or kUnseen. (Inline: a batch looks up every value of every row.)
  std::int32_t find(std::uint64_t key) const {
    if (buckets_ > 0 && !cache_) return static_cast<std::int32_t>(1 + key % buckets_);
    const std::uint32_t found = index_.find(id_of(key));
    return found == KeyIndex::kAbsent ? kUnseen : static_cast<std::int32_t>(found);
  }

  float* row(std::uint32_t r) { return weights_.data() + static_cast<std::size_t>(r) * dim_; }
  const float* row(std::uint32_t r) const { return weights_.data() + static_cast<std::size_t>(r) * dim_; }
  void save(std::ostream& out) const;
  // Replaces the contents with a table written by save(); throws heed::Error on a mismatch.
  // Files written before the optimizer state moved out hold each row's state after the
  // weights: `legacy_state`, when given, receives it (a resumed run's row optimizer adopts it),
  // otherwise it is skipped without being held.
  void load(std::istream& in, std::vector<float>* legacy_state = nullptr);

  // --- sharded training (distributed/sharded_embeddings.h) ---
  // The id a key's row is known by across ranks: the key itself, or its bucket in a fixed
  // table (whose row is 1 + id).
  std::uint64_t id_of(std::uint64_t key) const { return buckets_ > 0 ? key % buckets_ : key; }
  // Key (growable) or 0 (row 0, fixed buckets) of each row; in a cache, each row's id.
  const std::vector<std::uint64_t>& row_keys() const { return keys_; }
  // A rank's local copy of the rows one step reads: empty but for row 0, with this table's name,
  // dim and buckets; find_or_insert gives each new id (id_of(key)) the next row, zero-filled,
  // for the caller to fill with the owner's values. clear_cache() empties it for the next step.
  EmbeddingTable local_cache() const;
  void clear_cache();
  // The same table as constructed, before any training (fixed tables: every bucket's initial row).
  EmbeddingTable fresh_copy() const { return EmbeddingTable(name_, dim_, buckets_, init_std_, seed_); }
  // The owner's store of a table's rows in sharded training: a growable table (keyed by id) with
  // this one's name, dim and initial values (a fixed table's bucket b starts as its row 1 + b).
  EmbeddingTable owner_store() const { return EmbeddingTable(name_, dim_, 0, init_std_, seed_); }
  // Growable tables: `key`, absent until now, gets the next row with `values` (dim floats).
  std::uint32_t append(std::uint64_t key, const float* values);

  // Memory held by the weights, in bytes.
  std::size_t memory_bytes() const { return weights_.capacity() * sizeof(float); }

 private:
  void append_row(std::uint64_t init_key);

  std::string name_;
  std::size_t dim_;
  std::uint64_t buckets_;
  float init_std_;
  std::uint64_t seed_;
  bool cache_ = false;
  KeyIndex index_;
  std::vector<std::uint64_t> keys_;  // key of each row (row 0 and fixed buckets: 0)
  std::vector<float> weights_;
};

}  // namespace heed
