#include "model/model.h"

#include "core/error.h"
#include "embedding/pooling.h"
#include "layers/reduced_products.h"

namespace heed {
namespace {

// Column block of field `field` in a [B, F*E] matrix.
auto field_block(Matrix& m, int field, Index dim, Index rows) { return m.block(0, field * dim, rows, dim); }

// The pass of a forward: training draws dropout from the workspace's generator.
Pass pass_of(bool training, Rng& rng) { return training ? Pass::train(&rng) : Pass::evaluation(); }

}  // namespace

Model::Model(Config config)
    : config_(std::move(config)), schema_(Schema::from_config(config_)), dim_(config_.embedding.dim),
      normalizer_(schema_) {
  Rng rng(mix64(config_.train.seed ^ 0x6d6f64656cULL /* "model" */));
  for (const TableInfo& t : schema_.tables)
    tables_.emplace_back(t.name, static_cast<std::size_t>(dim_), static_cast<std::uint64_t>(config_.embedding.buckets),
                         static_cast<float>(config_.embedding.init_std), config_.train.seed);

  DinOptions din_options;
  din_options.hidden.assign(config_.din.hidden.begin(), config_.din.hidden.end());
  din_options.activation = config_.din.activation;
  din_options.normalize = config_.din.normalize;
  for (std::size_t g = 0; g < schema_.din_groups.size(); ++g) {
    const auto& lead = schema_.features[static_cast<std::size_t>(schema_.din_groups[g].keys[0])];
    const Index width = static_cast<Index>(schema_.din_groups[g].keys.size()) * dim_;
    din_.emplace_back(params_, "din." + lead.name, width, din_options, rng);
  }

  if (config_.senet.enabled) {
    SenetOptions o;
    o.axis = config_.senet.axis;
    o.squeeze = config_.senet.squeeze;
    o.reduction = config_.senet.reduction;
    o.gate = config_.senet.gate;
    // All fields gated: an empty subset, which the layer reads as "every field".
    if (config_.senet.fields.size() > 0) o.fields.assign(schema_.senet_fields.begin(), schema_.senet_fields.end());
    senet_ = std::make_unique<Senet>(params_, "senet", static_cast<Index>(schema_.num_fields), dim_, o, rng);
  }

  std::vector<Index> hidden(config_.model.hidden.begin(), config_.model.hidden.end());
  if (config_.poso.enabled) {
    std::vector<bool> gated(hidden.size(), config_.poso.layers.empty());
    for (std::int64_t l : config_.poso.layers) gated[static_cast<std::size_t>(l)] = true;
    PosoOptions o;
    o.gate_hidden = config_.poso.gate_hidden;
    o.scale = static_cast<float>(config_.poso.scale);
    poso_ = std::make_unique<PosoGates>(params_, "poso", poso_input_width(), hidden, gated, o, rng);
  }
  mlp_ = std::make_unique<Mlp>(params_, "mlp", input_width(), hidden, config_.model.activation,
                               static_cast<float>(config_.model.dropout), rng);
}

Precision scoring_precision(const Config& config, std::string_view requested) {
  if (requested.empty()) return config.scoring.precision;
  if (const auto p = choice_named<Precision>(requested)) return *p;
  throw Error(fmt::format("--precision: '{}' is not a precision; choose fp32, bf16 or int8", requested));
}

void Model::set_precision(Precision precision) {
  if (precision == Precision::kFp32) {
    params_.set_reduced(nullptr);
    return;
  }
  // Reads HEED_LOWP_ISA (and throws on a bad value) here, not first inside a thread team.
  lowp::isa_for(precision);
  auto reduced = std::make_shared<ReducedProducts>(precision);
  for (const DinAttention& d : din_) d.pack_products(params_, *reduced);
  if (senet_) senet_->pack_products(params_, *reduced);
  if (poso_) poso_->pack_products(params_, *reduced);
  mlp_->pack_products(params_, *reduced);
  params_.set_reduced(std::move(reduced));
}

void Model::pack_training_products(int threads) {
  if (!training_products_) {
    lowp::isa_for(Precision::kBf16);  // HEED_LOWP_ISA read here, not first inside a thread team
    training_products_ = std::make_shared<ReducedProducts>(Precision::kBf16);
  }
  training_packs_.clear();
  mlp_->list_training_packs(params_, *training_products_, training_packs_);
  if (poso_) poso_->list_training_packs(params_, *training_products_, training_packs_);
  run_training_packs(training_packs_, threads);
  params_.set_training_products(training_products_);
}

void Model::drop_training_products() { params_.set_training_products(nullptr); }

Precision Model::precision() const {
  return params_.reduced() ? params_.reduced()->precision() : Precision::kFp32;
}

Index Model::poso_input_width() const {
  return static_cast<Index>(schema_.poso_features.size()) * dim_ + (config_.poso.all_fields ? field_width() : 0);
}

std::unique_ptr<Model::Workspace> Model::make_workspace(Index max_rows) const {
  auto ws = std::make_unique<Workspace>(params_);
  ws->fields_.resize(max_rows, field_width());
  ws->d_fields_.resize(max_rows, field_width());
  ws->input_.resize(max_rows, input_width());
  ws->mlp_ = mlp_->make_cache(max_rows);
  ws->d_logit_.resize(max_rows, 1);
  ws->d_input_.resize(max_rows, input_width());
  ws->mlp_logit_.resize(max_rows, 1);
  ws->dim_ = dim_;
  for (std::size_t g = 0; g < din_.size(); ++g) {
    const Index width = static_cast<Index>(schema_.din_groups[g].keys.size()) * dim_;
    const auto& lead = schema_.features[static_cast<std::size_t>(schema_.din_groups[g].keys[0])];
    Workspace::DinBuffers d;
    d.key_capacity = max_rows * static_cast<Index>(lead.max_len > 0 ? lead.max_len : 16);
    d.offsets.resize(static_cast<std::size_t>(max_rows) + 1);
    d.queries.resize(max_rows, width);
    d.keys.resize(d.key_capacity, width);
    d.pooled.resize(max_rows, width);
    d.d_pooled.resize(max_rows, width);
    d.d_queries.resize(max_rows, width);
    d.d_keys.resize(d.key_capacity, width);
    d.cache = din_[g].make_cache(max_rows, d.key_capacity);
    ws->din_.push_back(std::move(d));
  }
  if (senet_) ws->senet_ = std::make_unique<Senet::Cache>(senet_->make_cache(max_rows));
  if (poso_) {
    ws->poso_ = std::make_unique<PosoGates::Cache>(poso_->make_cache(max_rows));
    ws->poso_gates_ = std::make_unique<PosoGates::Gates>(poso_->make_gates(max_rows));
    ws->d_poso_gates_ = std::make_unique<PosoGates::GateGradients>(poso_->make_gate_gradients(max_rows));
    ws->poso_input_.resize(max_rows, poso_input_width());
    ws->d_poso_input_.resize(max_rows, poso_input_width());
  }
  ws->table_grads_.resize(tables_.size());
  return ws;
}

void Model::pool_feature(std::size_t feature, const Batch& batch, Index begin, Index count, Matrix& fields) const {
  const FeatureInfo& f = schema_.features[feature];
  pool_forward(tables_[static_cast<std::size_t>(f.table)], batch.features[feature], f.pooling, begin, count,
               field_block(fields, f.field, dim_, count));
}

void Model::gather_keys(std::size_t group, const Batch& batch, Index begin, Index count, Matrix& keys) const {
  const DinGroup& g = schema_.din_groups[group];
  const FeatureBatch& lead = batch.features[static_cast<std::size_t>(g.keys[0])];
  const std::uint32_t first = lead.offsets[static_cast<std::size_t>(begin)];
  const Index total = lead.offsets[static_cast<std::size_t>(begin + count)] - first;
  const auto E = dim_;
  for (std::size_t k = 0; k < g.keys.size(); ++k) {
    const FeatureInfo& key_feature = schema_.features[static_cast<std::size_t>(g.keys[k])];
    const FeatureBatch& fb = batch.features[static_cast<std::size_t>(g.keys[k])];
    const EmbeddingTable& table = tables_[static_cast<std::size_t>(key_feature.table)];
    for (Index j = 0; j < total; ++j) {
      const std::int32_t row = fb.rows[first + static_cast<std::size_t>(j)];
      auto dst = keys.block(j, static_cast<Index>(k) * E, 1, E);
      if (row < 0) {
        dst.setZero();
      } else {
        dst = Eigen::Map<const Eigen::RowVectorXf>(table.row(static_cast<std::uint32_t>(row)), E);
      }
    }
  }
}

void Model::gather_queries(std::size_t group, const Matrix& fields, Index count, Matrix& queries) const {
  const DinGroup& g = schema_.din_groups[group];
  for (std::size_t k = 0; k < g.queries.size(); ++k)
    queries.block(0, static_cast<Index>(k) * dim_, count, dim_) =
        fields.block(0, schema_.features[static_cast<std::size_t>(g.queries[k])].field * dim_, count, dim_);
}

void Model::scatter_pooled(std::size_t group, const Matrix& pooled, Index count, Matrix& fields) const {
  const DinGroup& g = schema_.din_groups[group];
  for (std::size_t k = 0; k < g.keys.size(); ++k)
    field_block(fields, schema_.features[static_cast<std::size_t>(g.keys[k])].field, dim_, count) =
        pooled.block(0, static_cast<Index>(k) * dim_, count, dim_);
}

// Gathers the chunk's queries and keys of DIN attention `group` and pools the keys into the
// key features' field columns.
void Model::attend(const Batch& batch, std::size_t group, Index begin, Index count, Workspace& ws,
                   bool training) const {
  const DinGroup& g = schema_.din_groups[group];
  Workspace::DinBuffers& d = ws.din_[group];
  const FeatureBatch& lead = batch.features[static_cast<std::size_t>(g.keys[0])];
  const std::uint32_t first = lead.offsets[static_cast<std::size_t>(begin)];
  for (Index i = 0; i <= count; ++i)
    d.offsets[static_cast<std::size_t>(i)] = lead.offsets[static_cast<std::size_t>(begin + i)] - first;
  const Index total = d.offsets[static_cast<std::size_t>(count)];
  if (total > d.key_capacity) {  // a longer batch than any before: grow once
    d.key_capacity = std::max(total, 2 * d.key_capacity);
    d.keys.resize(d.key_capacity, d.keys.cols());
    d.d_keys.resize(d.key_capacity, d.d_keys.cols());
    d.cache = din_[group].make_cache(d.queries.rows(), d.key_capacity);
  }
  gather_queries(group, ws.fields_, count, d.queries);
  gather_keys(group, batch, begin, count, d.keys);
  din_[group].forward(params_, {d.queries, d.keys.topRows(total), d.offsets.data()}, count, d.pooled, d.cache,
                      pass_of(training, ws.rng_));
  scatter_pooled(group, d.pooled, count, ws.fields_);
}

void Model::forward(const Batch& batch, Index begin, Index count, Workspace& ws, bool training) const {
  ws.rows_ = count;
  for (std::size_t fi = 0; fi < schema_.features.size(); ++fi) {
    const FeatureInfo& f = schema_.features[fi];
    if (f.is_dense() || f.pooling == Pooling::kDin) continue;
    pool_feature(fi, batch, begin, count, ws.fields_);
  }
  for (std::size_t g = 0; g < din_.size(); ++g) attend(batch, g, begin, count, ws, training);
  forward_fields(batch.dense.middleRows(begin, count), count, ws, training);
}

void Model::build_input(const ConstMatrixView& dense, Index count, Workspace& ws) const {
  auto input = ws.input_.topRows(count);
  if (senet_) {
    senet_->forward(params_, ws.fields_, count, input.leftCols(field_width()), *ws.senet_, Pass::evaluation());
  } else {
    input.leftCols(field_width()) = ws.fields_.topRows(count);
  }
  if (schema_.num_dense > 0)
    input.rightCols(static_cast<Index>(schema_.num_dense)) = dense.topRows(count);
}

void Model::gather_poso_input(const Matrix& fields, Index count, MatrixView pc) const {
  Index column = 0;
  for (int fi : schema_.poso_features) {
    pc.middleCols(column, dim_).topRows(count) =
        fields.block(0, schema_.features[static_cast<std::size_t>(fi)].field * dim_, count, dim_);
    column += dim_;
  }
  if (config_.poso.all_fields) pc.rightCols(field_width()).topRows(count) = fields.topRows(count);
}

void Model::forward_fields(const ConstMatrixView& dense, Index count, Workspace& ws, bool training) const {
  ws.rows_ = count;
  build_input(dense, count, ws);
  const Pass pass = pass_of(training, ws.rng_);
  std::span<const Matrix* const> gates;
  if (poso_) {
    gather_poso_input(ws.fields_, count, ws.poso_input_);
    poso_->forward(params_, ws.poso_input_, count, *ws.poso_gates_, *ws.poso_, pass);
    gates = ws.poso_gates_->list;
  }
  mlp_->forward(params_, {ws.input_, gates}, count, ws.mlp_logit_, ws.mlp_, pass);
}

void Model::attend_backward(const Batch& batch, std::size_t group, Index begin, Index count, Workspace& ws) const {
  const DinGroup& g = schema_.din_groups[group];
  Workspace::DinBuffers& d = ws.din_[group];
  const Index total = d.offsets[static_cast<std::size_t>(count)];
  for (std::size_t k = 0; k < g.keys.size(); ++k)
    d.d_pooled.block(0, static_cast<Index>(k) * dim_, count, dim_) =
        field_block(ws.d_fields_, schema_.features[static_cast<std::size_t>(g.keys[k])].field, dim_, count);
  DinAttention::InputGrad d_input{d.d_queries, d.d_keys.topRows(total)};
  din_[group].backward(params_, {d.queries, d.keys.topRows(total), d.offsets.data()}, count, d.d_pooled, &d_input,
                       d.cache, ws.grads_);
  const std::uint32_t first = batch.features[static_cast<std::size_t>(g.keys[0])].offsets[static_cast<std::size_t>(begin)];
  for (std::size_t k = 0; k < g.keys.size(); ++k) {
    const FeatureInfo& query = schema_.features[static_cast<std::size_t>(g.queries[k])];
    field_block(ws.d_fields_, query.field, dim_, count) += d.d_queries.block(0, static_cast<Index>(k) * dim_, count, dim_);
    const FeatureInfo& key_feature = schema_.features[static_cast<std::size_t>(g.keys[k])];
    const FeatureBatch& fb = batch.features[static_cast<std::size_t>(g.keys[k])];
    float* table_grad = ws.table_grads_[static_cast<std::size_t>(key_feature.table)].data();
    for (Index j = 0; j < total; ++j) {
      const std::size_t v = first + static_cast<std::size_t>(j);
      if (fb.rows[v] < 0) continue;
      Eigen::Map<Eigen::RowVectorXf>(table_grad + static_cast<std::size_t>(fb.slots[v]) * static_cast<std::size_t>(dim_), dim_) +=
          d.d_keys.block(j, static_cast<Index>(k) * dim_, 1, dim_);
    }
  }
}

void Model::backward(const Batch& batch, Index begin, Index count, Workspace& ws, float row_weight) const {
  std::span<const Matrix* const> gates;
  Mlp::InputGrad d_input{ws.d_input_, {}};
  if (poso_) {
    gates = ws.poso_gates_->list;
    d_input.d_gates = ws.d_poso_gates_->list;
  }
  mlp_->backward(params_, {ws.input_, gates}, count, ws.d_logit_, &d_input, ws.mlp_, ws.grads_);
  if (senet_) {
    MatrixView d_fields = ws.d_fields_;
    senet_->backward(params_, ws.fields_, count, ws.d_input_.leftCols(field_width()), &d_fields, *ws.senet_,
                     ws.grads_, static_cast<float>(config_.senet.weight_l1) * row_weight);
  } else {
    ws.d_fields_.topRows(count) = ws.d_input_.topRows(count).leftCols(field_width());
  }
  if (poso_) {
    // Only the pc features' own columns carry gradient; the all-fields copy is stop-gradient.
    MatrixView d_pc = ws.d_poso_input_.topRows(count);
    poso_->backward(params_, ws.poso_input_, count, *ws.d_poso_gates_, &d_pc, *ws.poso_, ws.grads_);
    Index column = 0;
    for (int fi : schema_.poso_features) {
      field_block(ws.d_fields_, schema_.features[static_cast<std::size_t>(fi)].field, dim_, count) +=
          ws.d_poso_input_.block(0, column, count, dim_);
      column += dim_;
    }
  }
  for (std::size_t g = din_.size(); g-- > 0;) attend_backward(batch, g, begin, count, ws);
  for (const FeatureInfo& f : schema_.features) {
    if (f.is_dense() || f.pooling == Pooling::kDin) continue;
    const auto t = static_cast<std::size_t>(f.table);
    pool_backward(batch.features[static_cast<std::size_t>(&f - schema_.features.data())], f.pooling, begin, count,
                  field_block(ws.d_fields_, f.field, dim_, count), static_cast<std::size_t>(dim_),
                  ws.table_grads_[t].data());
  }
}

void Model::update_running_statistics(const std::vector<const Workspace*>& workspaces) {
  for (std::size_t g = 0; g < din_.size(); ++g) {
    std::vector<const DinAttention::Cache*> caches;
    for (const Workspace* ws : workspaces)
      if (ws->rows_ > 0) caches.push_back(&ws->din_[g].cache);
    din_[g].update_running_statistics(params_, caches);
  }
}

void Model::Workspace::clear_gradients(const Batch& batch) {
  rows_ = 0;
  grads_.zero();
  for (std::size_t k = 0; k < table_grads_.size(); ++k)
    table_grads_[k].assign(batch.tables[k].touched.size() * static_cast<std::size_t>(dim_), 0.0f);
}

ConstMatrixView Model::Workspace::senet_weights() const {
  HEED_CHECK(senet_ != nullptr, "the model has no SENet");
  return senet_->weights.topRows(rows_);
}

std::span<const std::uint32_t> Model::Workspace::din_offsets(std::size_t group) const {
  return {din_[group].offsets.data(), static_cast<std::size_t>(rows_) + 1};
}

const float* Model::Workspace::din_weights(std::size_t group) const { return din_[group].cache.weight.data(); }

std::span<const Matrix* const> Model::Workspace::poso_gates() const {
  if (!poso_gates_) return {};
  return poso_gates_->list;
}

std::vector<Model::StageOutput> Model::stage_outputs(const Workspace& ws) const {
  const Index n = ws.rows_, E = dim_;
  std::vector<StageOutput> out;
  for (const FeatureInfo& f : schema_.features)
    if (!f.is_dense() && f.pooling != Pooling::kDin)
      out.push_back({fmt::format("embedding rows of '{}' (table '{}', pooled)", f.name,
                                 schema_.tables[static_cast<std::size_t>(f.table)].name),
                     ws.fields_.block(0, f.field * E, n, E)});
  for (std::size_t g = 0; g < schema_.din_groups.size(); ++g) {
    const Workspace::DinBuffers& d = ws.din_[g];
    const std::string lead = schema_.features[static_cast<std::size_t>(schema_.din_groups[g].keys[0])].name;
    const Index keys = d.offsets[static_cast<std::size_t>(n)];
    out.push_back({fmt::format("embedding rows of the '{}' sequence (DIN keys)", lead), d.keys.topRows(keys),
                   d.offsets.data()});
    out.push_back({fmt::format("output of din.{} (target attention)", lead), d.pooled.topRows(n)});
  }
  if (senet_) out.push_back({"output of senet (field gating)", ws.input_.topRows(n).leftCols(field_width())});
  const std::span<const Matrix* const> gates = ws.poso_gates();
  for (std::size_t l = 0; l < gates.size(); ++l)
    if (gates[l]) out.push_back({fmt::format("output of poso.{} (gate of mlp.{})", l, l), gates[l]->topRows(n)});
  for (std::size_t l = 0; l < ws.mlp_.pre.size(); ++l) {
    out.push_back({fmt::format("output of mlp.{} (dense layer)", l), ws.mlp_.pre[l].topRows(n)});
    out.push_back({fmt::format("output of mlp.{}'s activation", l), ws.mlp_.act[l].topRows(n)});
    out.push_back({fmt::format("output of mlp.{} after its gate and dropout", l), ws.mlp_.out[l].topRows(n)});
  }
  out.push_back({"output of mlp.output (the logit)", ws.mlp_logit_.topRows(n)});
  return out;
}

}  // namespace heed
