#pragma once
// Sparse updates of embedding rows: only the rows a batch touched move. The optimizer keeps
// each table's per-row state itself, beside nothing the model serves:
//   adam:    per-element moments (2 slots), bias-corrected by the global step ("lazy" Adam)
//   adagrad: per-element squared-gradient accumulator (1 slot)
// State grows with the table (a new row's state starts at zero) and is saved in resumable
// checkpoints only. L2 on a row applies only when the row is touched, as is usual for sparse
// features.
#include <iosfwd>
#include <vector>

#include "config/config.h"
#include "embedding/embedding_table.h"

namespace heed {

class RowOptimizer {
 public:
  // State for `tables` tables, addressed by their index in the model.
  RowOptimizer(const OptimizerConfig& config, std::size_t tables);

  // State slots per row: 2 for Adam, 1 for Adagrad.
  std::size_t slots() const { return slots_; }

  // Updates the `touched` rows of `table`, the model's table number `k`. grad: [touched.size(),
  // dim] summed over the batch. step: the global step (from 1). Rows are independent, so the
  // update runs on `threads` threads with identical results.
  void update(std::size_t k, EmbeddingTable& table, const std::vector<std::uint32_t>& touched, const float* grad,
              std::int64_t step, int threads);

  // State `slot` of row r of table k ([dim] floats); rows never updated have none yet (nullptr).
  const float* state(std::size_t k, std::uint32_t r, std::size_t slot, std::size_t dim) const;

  void save(std::ostream& out) const;
  // Replaces the state with one written by save(); throws heed::Error on another optimizer
  // kind or table count.
  void load(std::istream& in);
  // Takes table k's state as checkpoints written before it moved here held it beside the rows
  // (the same layout: per row, `slots` blocks of dim floats).
  void adopt(std::size_t k, std::vector<float> state);

  // Memory held by the state, in bytes.
  std::size_t memory_bytes() const;

 private:
  bool adam_;
  std::size_t slots_;
  float lr_, beta1_, beta2_, epsilon_, l2_, adagrad_initial_;
  std::vector<std::vector<float>> state_;  // per table: [rows, slots, dim]
};

}  // namespace heed
