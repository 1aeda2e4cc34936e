#include "model/model.h"

#include "embedding/pooling.h"

namespace heed {

std::size_t embedding_state_slots(const OptimizerConfig& optimizer) {
  return optimizer.embedding == "adam" ? 2 : 1;
}

Model::Model(Config config)
    : config_(std::move(config)), schema_(Schema::from_config(config_)), dim_(config_.embedding.dim),
      normalizer_(schema_) {
  Rng rng(mix64(config_.train.seed ^ 0x6d6f64656cULL /* "model" */));
  for (const TableInfo& t : schema_.tables)
    tables_.emplace_back(t.name, static_cast<std::size_t>(dim_), static_cast<std::uint64_t>(config_.embedding.buckets),
                         static_cast<float>(config_.embedding.init_std), config_.train.seed,
                         embedding_state_slots(config_.optimizer));
  std::vector<Index> hidden(config_.model.hidden.begin(), config_.model.hidden.end());
  mlp_ = std::make_unique<Mlp>(params_, "mlp", input_width(), hidden, activation_kind(config_.model.activation),
                               static_cast<float>(config_.model.dropout), rng);
}

std::unique_ptr<Model::Workspace> Model::make_workspace(Index max_rows) const {
  auto ws = std::make_unique<Workspace>(params_);
  ws->fields.resize(max_rows, field_width());
  ws->input.resize(max_rows, input_width());
  ws->mlp = mlp_->make_cache(max_rows);
  ws->d_logit.resize(max_rows, 1);
  ws->d_input.resize(max_rows, input_width());
  ws->table_grads.resize(tables_.size());
  return ws;
}

void Model::forward(const Batch& batch, Index begin, Index count, Workspace& ws, bool training) const {
  for (const FeatureInfo& f : schema_.features) {
    if (f.is_dense()) continue;
    pool_forward(tables_[static_cast<std::size_t>(f.table)], batch.features[&f - schema_.features.data()],
                 f.pooling, begin, count, ws.fields.block(0, f.field * dim_, count, dim_));
  }
  auto input = ws.input.topRows(count);
  input.leftCols(field_width()) = ws.fields.topRows(count);
  if (schema_.num_dense > 0)
    input.rightCols(static_cast<Index>(schema_.num_dense)) = batch.dense.middleRows(begin, count);
  mlp_->forward(params_, input, count, ws.mlp, training, &ws.rng, {});
}

void Model::backward(const Batch& batch, Index begin, Index count, Workspace& ws) const {
  MatrixView d_input = ws.d_input.topRows(count);
  mlp_->backward(params_, ws.input.topRows(count), count, ws.d_logit.topRows(count), ws.mlp, &d_input, ws.grads,
                 {}, {});
  for (const FeatureInfo& f : schema_.features) {
    if (f.is_dense()) continue;
    const auto t = static_cast<std::size_t>(f.table);
    pool_backward(batch.features[&f - schema_.features.data()], f.pooling, begin, count,
                  ws.d_input.block(0, f.field * dim_, count, dim_), static_cast<std::size_t>(dim_),
                  ws.table_grads[t].data());
  }
}

}  // namespace heed
