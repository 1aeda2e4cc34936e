#pragma once
// A CTR model assembled from its config:
//
//   keys -> rows (BatchBuilder) -> field vectors [B, F*E]: sum/mean pooling, or DIN attention
//        -> SENet re-weighting [B, F*E]                        (optional)
//        -> [fields | dense inputs] [B, F*E + D]
//        -> MLP, hidden layers scaled by POSO gates             (optional)
//        -> logit [B, 1]
//
// The model's weights (tables, ParamSet, numeric statistics) are shared; every thread scores
// its share of a batch in its own Workspace. Every dimension is derived here from the schema.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/schema.h"
#include "core/params.h"
#include "embedding/batch.h"
#include "embedding/embedding_table.h"
#include "embedding/numeric_normalizer.h"
#include "layers/din_attention.h"
#include "layers/mlp.h"
#include "layers/poso_gates.h"
#include "layers/senet.h"

namespace heed {

// The scoring precision for a model with `config`: `requested` (heed predict/eval/serve's
// --precision) when not empty, else the config's scoring.precision. Throws heed::Error naming
// the choices for a name that is not fp32, bf16 or int8.
Precision scoring_precision(const Config& config, std::string_view requested);

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
  Index dim() const { return dim_; }
  Index field_width() const { return static_cast<Index>(schema_.num_fields) * dim_; }
  Index input_width() const { return field_width() + static_cast<Index>(schema_.num_dense); }
  const Senet* senet() const { return senet_.get(); }
  const PosoGates* poso() const { return poso_.get(); }
  const std::vector<DinAttention>& din() const { return din_; }
  const Mlp& mlp() const { return *mlp_; }

  // The precision of the scoring products (scoring.precision, or heed predict/eval/serve's
  // --precision): bf16 and int8 pack the MLP's, DIN's activation unit's, SENet's and POSO's
  // weights as they are now (core/lowp.h), and evaluation passes multiply with them; fp32
  // drops the packing. Only for a model whose weights are final (loaded for scoring): training
  // and its validation always run in fp32.
  void set_precision(Precision precision);
  Precision precision() const;

  // Mixed-precision training (train.precision = "bf16"): packs the weights of the MLP's hidden
  // layers and of POSO's gate networks (and their transposes) in bf16 from their fp32 values
  // now and attaches them to params() for training passes; drop_training_products() detaches
  // them. train_step does both around each step, so a step multiplies with the weights the
  // last optimizer update left, and every evaluation pass stays fp32. The packed buffers are
  // kept and reused from step to step. DIN's activation unit stays fp32: its products run over
  // every history item, operands too tall for cache, and rounding them to bf16 on every call
  // cost more than the faster products saved (docs/performance.md).
  void pack_training_products(int threads);
  void drop_training_products();

  // Everything one thread writes during a pass. Callers read and write it through the
  // accessors below; the stages' buffers are the model's own (model.cpp, per_user_forward.cpp).
  class Workspace {
   public:
    explicit Workspace(const ParamSet& params) : grads_(params) {}

    Index rows() const { return rows_; }  // rows of the last forward
    ConstMatrixView logits() const { return mlp_logit_.topRows(rows_); }  // [rows, 1]
    // dL/dlogit, [max rows, 1]: the caller writes its first rows() rows before backward.
    MatrixView d_logits() { return d_logit_; }
    // What backward accumulates: dense parameter gradients, and per embedding table one row
    // of E floats per row the batch touched (BatchTables::touched order).
    Gradients& gradients() { return grads_; }
    const Gradients& gradients() const { return grads_; }
    std::vector<std::vector<float>>& table_gradients() { return table_grads_; }
    const std::vector<std::vector<float>>& table_gradients() const { return table_grads_; }
    // Before a training step: no rows scored yet, every gradient zero, the table gradients
    // sized for `batch`'s touched rows.
    void clear_gradients(const Batch& batch);
    Rng& rng() { return rng_; }  // dropout's draws

    // What `heed explain` reads from the last forward (the model must have the module):
    ConstMatrixView senet_weights() const;  // [rows, SENet weight width]
    // DIN attention `group`: row i's keys are [offsets[i], offsets[i + 1]) of weights.
    std::span<const std::uint32_t> din_offsets(std::size_t group) const;
    const float* din_weights(std::size_t group) const;
    // Per MLP hidden layer, its POSO gate [rows, width] or nullptr (empty without POSO).
    std::span<const Matrix* const> poso_gates() const;

   private:
    friend class Model;
    friend class PerUserForward;

    // Per DIN attention, the buffers of one pass.
    struct DinBuffers {
      std::vector<std::uint32_t> offsets;  // [rows + 1], relative to the chunk
      Matrix queries;    // [B, Q]
      Matrix keys;       // [keys, Q]
      Matrix pooled;     // [B, Q]
      Matrix d_pooled;   // [B, Q]
      Matrix d_queries;  // [B, Q]
      Matrix d_keys;     // [keys, Q]
      DinAttention::Cache cache;
      Index key_capacity = 0;
    };

    Index rows_ = 0;
    Index dim_ = 0;
    Matrix fields_;     // [B, F*E] pooled field vectors
    Matrix d_fields_;   // [B, F*E]
    Matrix input_;      // [B, F*E + D] the MLP's input (SENet's output in its field part)
    Mlp::Cache mlp_;
    Matrix mlp_logit_;  // [B, 1]
    Matrix d_logit_;    // [B, 1]
    Matrix d_input_;    // [B, F*E + D]
    std::vector<DinBuffers> din_;
    std::unique_ptr<Senet::Cache> senet_;
    std::unique_ptr<PosoGates::Cache> poso_;
    std::unique_ptr<PosoGates::Gates> poso_gates_;
    std::unique_ptr<PosoGates::GateGradients> d_poso_gates_;
    Matrix poso_input_;    // [B, P]
    Matrix d_poso_input_;  // [B, P]
    Gradients grads_;
    std::vector<std::vector<float>> table_grads_;  // per table: [touched, E]
    Rng rng_;
  };
  std::unique_ptr<Workspace> make_workspace(Index max_rows) const;

  // Logits of batch rows [begin, begin + count) into ws.logits().
  void forward(const Batch& batch, Index begin, Index count, Workspace& ws, bool training) const;
  // forward() after the field vectors: from the workspace's field vectors (pooled, DIN
  // included) and the rows' normalized dense inputs [count, D] through SENet, POSO and the MLP
  // to ws.logits().
  void forward_fields(const ConstMatrixView& dense, Index count, Workspace& ws, bool training) const;
  // After forward with the same rows and ws.d_logits() set: accumulates dense gradients into
  // ws.gradients() and embedding gradients into ws.table_gradients() (which must be sized and
  // zeroed: Workspace::clear_gradients).
  // row_weight is each row's share of the training loss (1/batch, as d_logit was scaled); it
  // scales the penalties layers add to the loss (SENet's weight L1).
  void backward(const Batch& batch, Index begin, Index count, Workspace& ws, float row_weight = 0.0f) const;
  // After a training step: folds the batch statistics the workspaces saw (Dice) into the
  // running statistics that evaluation uses.
  void update_running_statistics(const std::vector<const Workspace*>& workspaces);

  // One stage's output in the last forward of `ws`, for a check that names where a value went
  // bad. values holds a row per batch row, or (offsets set) per key: row i's keys are
  // values.middleRows(offsets[i], offsets[i + 1] - offsets[i]).
  struct StageOutput {
    std::string name;  // "output of mlp.0 (dense layer)", ...
    ConstMatrixView values;
    const std::uint32_t* offsets = nullptr;
  };
  // Every stage after the embedding lookup, in the order the stages ran.
  std::vector<StageOutput> stage_outputs(const Workspace& ws) const;

 private:
  // The per-user schedule (per_user_forward.h) runs the same stages as forward(), the user's
  // share once per request and the rest per candidate.
  friend class PerUserForward;

  // --- The stages of the forward pass, each defined once: forward() runs them all over a chunk
  // of rows; PerUserForward runs each on the rows it needs, or falls back to the whole stage.
  // Sum/mean/sqrtn pooling of embedding feature `feature` over batch rows [begin, begin + count)
  // into its field's columns of fields [count, F*E].
  void pool_feature(std::size_t feature, const Batch& batch, Index begin, Index count, Matrix& fields) const;
  // DIN attention `group`'s keys of batch rows [begin, begin + count), value by value, into
  // keys [values, Q] (the key features side by side; a row never seen in training reads zero).
  void gather_keys(std::size_t group, const Batch& batch, Index begin, Index count, Matrix& keys) const;
  // DIN attention `group`'s queries [count, Q] from the rows' field vectors.
  void gather_queries(std::size_t group, const Matrix& fields, Index count, Matrix& queries) const;
  // DIN attention `group`'s pooled vectors [count, Q] into its key features' field columns.
  void scatter_pooled(std::size_t group, const Matrix& pooled, Index count, Matrix& fields) const;
  // Gathers, attends and scatters DIN attention `group` over batch rows [begin, begin + count).
  void attend(const Batch& batch, std::size_t group, Index begin, Index count, Workspace& ws, bool training) const;
  // The MLP's input [count, F*E + D]: SENet's re-weighted fields (or the fields as they are),
  // then the dense inputs.
  void build_input(const ConstMatrixView& dense, Index count, Workspace& ws) const;
  // POSO's gate input [count, P] from the rows' field vectors.
  void gather_poso_input(const Matrix& fields, Index count, MatrixView pc) const;
  void attend_backward(const Batch& batch, std::size_t group, Index begin, Index count, Workspace& ws) const;
  Index poso_input_width() const;

  Config config_;
  Schema schema_;
  Index dim_;
  std::vector<EmbeddingTable> tables_;
  NumericNormalizer normalizer_;
  ParamSet params_;
  std::vector<DinAttention> din_;
  std::unique_ptr<Senet> senet_;
  std::unique_ptr<PosoGates> poso_;
  std::unique_ptr<Mlp> mlp_;
  std::shared_ptr<ReducedProducts> training_products_;  // pack_training_products' buffers
  TrainingPacks training_packs_;                         // and its list of what to pack
};

}  // namespace heed
