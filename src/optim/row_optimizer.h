#pragma once
// Sparse updates of embedding rows: only the rows a batch touched move, with their own
// optimizer state kept beside them in the table.
//   adam:    per-element moments (2 slots), bias-corrected by the global step ("lazy" Adam)
//   adagrad: per-element squared-gradient accumulator (1 slot)
// L2 on a row applies only when the row is touched, as is usual for sparse features.
#include <vector>

#include "config/config.h"
#include "embedding/embedding_table.h"

namespace heed {

class RowOptimizer {
 public:
  explicit RowOptimizer(const OptimizerConfig& config);

  // grad: [touched.size(), dim] summed over the batch. step: the global step (from 1).
  // Rows are independent, so the update runs on `threads` threads with identical results.
  void update(EmbeddingTable& table, const std::vector<std::uint32_t>& touched, const float* grad,
              std::int64_t step, int threads) const;

 private:
  bool adam_;
  float lr_, beta1_, beta2_, epsilon_, l2_, adagrad_initial_;
};

}  // namespace heed
