#pragma once
// A CTR model assembled from its config: embedding tables, pooled field vectors [B, F, E],
// concatenation with the dense inputs, and the MLP tower ending in one logit.
//
//   keys -> rows (BatchBuilder) -> pooled fields [B, F*E] -> [fields | dense] [B, F*E + D]
//        -> MLP -> logit [B, 1]
//
// The model's weights (tables, ParamSet, numeric statistics) are shared; every thread scores
// its share of a batch in its own Workspace.
#include <memory>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "data/batch.h"
#include "data/numeric_normalizer.h"
#include "embedding/embedding_table.h"
#include "layers/mlp.h"
#include "layers/params.h"

namespace heed {

class Model {
 public:
  // Builds every layer and initializes every weight from config.train.seed.
  explicit Model(Config config);

  const Config& config() const { return config_; }
  const Schema& schema() const { return schema_; }
  ParamSet& params() { return params_; }
  const ParamSet& params() const { return params_; }
  std::vector<EmbeddingTable>& tables() { return tables_; }
  const std::vector<EmbeddingTable>& tables() const { return tables_; }
  NumericNormalizer& normalizer() { return normalizer_; }
  const NumericNormalizer& normalizer() const { return normalizer_; }
  Index field_width() const { return static_cast<Index>(schema_.num_fields) * dim_; }
  Index input_width() const { return field_width() + static_cast<Index>(schema_.num_dense); }

  // Everything one thread writes during a pass.
  struct Workspace {
    Matrix fields;   // [B, F*E] pooled field vectors
    Matrix input;    // [B, F*E + D] the MLP's input
    Mlp::Cache mlp;
    Matrix d_logit;  // [B, 1] set by the caller before backward
    Matrix d_input;  // [B, F*E + D]
    Gradients grads;
    std::vector<std::vector<float>> table_grads;  // per table: [touched, E]
    Rng rng;         // dropout
    Workspace(const ParamSet& params) : grads(params) {}
  };
  std::unique_ptr<Workspace> make_workspace(Index max_rows) const;

  // Logits of batch rows [begin, begin + count) into ws.mlp.logit.topRows(count).
  void forward(const Batch& batch, Index begin, Index count, Workspace& ws, bool training) const;
  // After forward with the same rows and ws.d_logit set: accumulates dense gradients into
  // ws.grads and embedding gradients into ws.table_grads (which must be sized and zeroed).
  void backward(const Batch& batch, Index begin, Index count, Workspace& ws) const;

 private:
  Config config_;
  Schema schema_;
  Index dim_;
  std::vector<EmbeddingTable> tables_;
  NumericNormalizer normalizer_;
  ParamSet params_;
  std::unique_ptr<Mlp> mlp_;
};

// Optimizer state slots per embedding row for the configured embedding optimizer.
std::size_t embedding_state_slots(const OptimizerConfig& optimizer);

}  // namespace heed
