#include "serve/request_scorer.h"

#include <algorithm>
#include <numeric>

#include "core/gemm.h"
#include "embedding/pooling.h"
#include "layers/logloss.h"
#include "model/scorer.h"

namespace heed::serve {
namespace {

auto field_block(Matrix& m, int field, Index dim, Index rows) {
  return m.block(0, field * dim, rows, dim);
}

// The keys of DIN attention `group` for batch rows [begin, begin + count), value by value:
// dst [values, Q], the key features side by side (a row never seen in training reads zero).
void gather_keys(const Model& model, const Batch& batch, std::size_t group, Index begin,
                 Index count, Matrix& dst) {
  const Schema& schema = model.schema();
  const DinGroup& g = schema.din_groups[group];
  const Index E = model.dim();
  const FeatureBatch& lead = batch.features[static_cast<std::size_t>(g.keys[0])];
  const std::uint32_t first = lead.offsets[static_cast<std::size_t>(begin)];
  const Index total = lead.offsets[static_cast<std::size_t>(begin + count)] - first;
  for (std::size_t k = 0; k < g.keys.size(); ++k) {
    const FeatureInfo& feature = schema.features[static_cast<std::size_t>(g.keys[k])];
    const FeatureBatch& fb = batch.features[static_cast<std::size_t>(g.keys[k])];
    const EmbeddingTable& table = model.tables()[static_cast<std::size_t>(feature.table)];
    for (Index j = 0; j < total; ++j) {
      const std::int32_t row = fb.rows[first + static_cast<std::size_t>(j)];
      auto out = dst.block(j, static_cast<Index>(k) * E, 1, E);
      if (row < 0) {
        out.setZero();
      } else {
        out = Eigen::Map<const Eigen::RowVectorXf>(table.row(static_cast<std::uint32_t>(row)), E);
      }
    }
  }
}

}  // namespace

RequestScorer::RequestScorer(const Model& model)
    : model_(model),
      builder_(model.schema(), model.config().embedding),
      ws_(model.make_workspace(kChunkRows)) {
  user_fields_.resize(1, model.field_width());
  dense_.resize(kChunkRows, static_cast<Index>(model.schema().num_dense));
  history_.resize(model.din().size());
  for (std::size_t g = 0; g < history_.size(); ++g)
    history_[g].chunk_terms.resize(ws_->din[g].key_capacity, model.din()[g].first_width());
  if (model.poso()) {
    user_poso_ = std::make_unique<PosoGates::Cache>(model.poso()->make_cache(1));
    user_poso_input_.resize(1, model.poso()->pc_width());
  }
}

Index RequestScorer::keys_of(std::size_t group, Index candidate) const {
  if (history_[group].shared) return history_[group].length;
  const auto lead = static_cast<std::size_t>(model_.schema().din_groups[group].keys[0]);
  const FeatureBatch& fb = candidate_batch_.features[lead];
  return fb.offsets[static_cast<std::size_t>(candidate) + 1] -
         fb.offsets[static_cast<std::size_t>(candidate)];
}

void RequestScorer::reserve_keys(std::size_t group, Index keys) {
  Model::DinBuffers& d = ws_->din[group];
  if (keys > d.key_capacity) {  // longer histories than any before: grow, within the chunk budget
    d.key_capacity = std::max(keys, std::min(2 * d.key_capacity, kChunkKeys));
    d.keys.resize(d.key_capacity, d.keys.cols());
    d.cache = model_.din()[group].make_cache(d.queries.rows(), d.key_capacity);
  }
  History& h = history_[group];
  if (h.chunk_terms.rows() < keys) h.chunk_terms.resize(d.key_capacity, h.chunk_terms.cols());
}

// The user's history of DIN attention `group`: its values' keys, then the distinct keys (equal
// embedding rows in every key feature) with their counts and key terms.
void RequestScorer::prepare_history(std::size_t group) {
  const Schema& schema = model_.schema();
  const DinGroup& g = schema.din_groups[group];
  History& h = history_[group];
  const FeatureBatch& lead = user_batch_.features[static_cast<std::size_t>(g.keys[0])];
  h.length = lead.offsets[1] - lead.offsets[0];
  h.keys.resize(h.length, model_.din()[group].width());
  gather_keys(model_, user_batch_, group, 0, 1, h.keys);

  // Sort the values by their rows, tuple by tuple; runs of equal tuples are one distinct key.
  auto row_of = [&](std::size_t k, Index j) {
    return user_batch_.features[static_cast<std::size_t>(g.keys[k])]
        .rows[lead.offsets[0] + static_cast<std::size_t>(j)];
  };
  auto less = [&](Index a, Index b) {
    for (std::size_t k = 0; k < g.keys.size(); ++k)
      if (row_of(k, a) != row_of(k, b)) return row_of(k, a) < row_of(k, b);
    return a < b;
  };
  auto equal = [&](Index a, Index b) {
    for (std::size_t k = 0; k < g.keys.size(); ++k)
      if (row_of(k, a) != row_of(k, b)) return false;
    return true;
  };
  std::vector<Index> order(static_cast<std::size_t>(h.length));
  std::iota(order.begin(), order.end(), Index{0});
  std::sort(order.begin(), order.end(), less);
  h.distinct_of.resize(order.size());
  Index distinct = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i > 0 && !equal(order[i - 1], order[i])) ++distinct;
    h.distinct_of[static_cast<std::size_t>(order[i])] = distinct;
  }
  const Index T = order.empty() ? 0 : distinct + 1;
  h.distinct.keys.resize(T, h.keys.cols());
  h.distinct.counts.setZero(T);
  for (Index j = 0; j < h.length; ++j) {
    const Index d = h.distinct_of[static_cast<std::size_t>(j)];
    h.distinct.keys.row(d) = h.keys.row(j);
    h.distinct.counts(d) += 1.0f;
  }
  model_.din()[group].prepare_shared_keys(model_.params(), h.distinct);
}

// Which MLP input columns each candidate computes, and the user's share of the first layer.
void RequestScorer::prepare_first_layer(const EncodedRequest& request) {
  const Schema& schema = model_.schema();
  const Index E = model_.dim(), F = static_cast<Index>(schema.num_fields);
  const Senet* senet = model_.senet();
  const Matrix& w0 = model_.params()[model_.mlp().layer(0).weight()];
  const Index width = w0.cols();

  // A field is the user's when its feature is shared and not pooled by attention (which
  // depends on the candidate); a dense input when it is shared.
  std::vector<char> per_candidate(static_cast<std::size_t>(model_.input_width()), 1);
  std::vector<int> user_fields;
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    const FeatureInfo& f = schema.features[fi];
    if (!request.shared[fi] || (!f.is_dense() && f.pooling == Pooling::kDin)) continue;
    if (f.is_dense()) {
      per_candidate[static_cast<std::size_t>(F * E + f.dense)] = 0;
    } else {
      user_fields.push_back(f.field);
      for (Index e = 0; e < E; ++e) per_candidate[static_cast<std::size_t>(f.field * E + e)] = 0;
    }
  }
  // SENet's field axis scales a user field by a per-candidate weight: its u_f W_f becomes a row
  // of the weight and a_f a column of x. Other axes scale inside the field: per candidate.
  std::vector<Index> gate_of(static_cast<std::size_t>(F), -1);
  if (senet) {
    for (std::size_t g = 0; g < senet->gated_fields().size(); ++g)
      gate_of[static_cast<std::size_t>(senet->gated_fields()[g])] = static_cast<Index>(g);
  }
  FirstLayer& fl = first_;
  fl.user_gated.clear();
  fl.user_gated_fields.clear();
  fl.constant = model_.params()[model_.mlp().layer(0).bias()].row(0);
  for (int f : user_fields) {
    const Index g = gate_of[static_cast<std::size_t>(f)];
    auto block = w0.middleRows(f * E, E);
    if (g < 0) {
      fl.constant.noalias() += user_fields_.block(0, f * E, 1, E) * block;
    } else if (senet->options().axis == SenetAxis::kField) {
      fl.user_gated.push_back(g);
      fl.user_gated_fields.push_back(f);
    } else {
      for (Index e = 0; e < E; ++e) per_candidate[static_cast<std::size_t>(f * E + e)] = 1;
    }
  }
  for (const FeatureInfo& f : schema.features) {
    const auto fi = static_cast<std::size_t>(&f - schema.features.data());
    if (f.is_dense() && request.shared[fi])
      fl.constant.noalias() += user_batch_.dense(0, f.dense) * w0.row(F * E + f.dense);
  }

  const auto U = static_cast<Index>(fl.user_gated.size());
  if (per_candidate != fl.per_candidate) {  // the columns change with the request's layout only
    fl.per_candidate = per_candidate;
    fl.columns.clear();
    for (std::size_t c = 0; c < per_candidate.size(); ++c)
      if (per_candidate[c]) fl.columns.push_back(static_cast<Index>(c));
    const auto C = static_cast<Index>(fl.columns.size());
    fl.weight.resize(C + U, width);
    for (Index c = 0; c < C; ++c) fl.weight.row(c) = w0.row(fl.columns[static_cast<std::size_t>(c)]);
    fl.x.resize(kChunkRows, C + U);
  }
  const auto C = static_cast<Index>(fl.columns.size());
  for (Index u = 0; u < U; ++u) {
    const int f = fl.user_gated_fields[static_cast<std::size_t>(u)];
    fl.weight.row(C + u).noalias() = user_fields_.block(0, f * E, 1, E) * w0.middleRows(f * E, E);
  }
}

// POSO's gates once per request when every gate input is the user's; false otherwise.
bool RequestScorer::prepare_user_gates(const EncodedRequest& request) {
  const PosoGates* poso = model_.poso();
  if (!poso || model_.config().poso.all_fields) return false;
  const Schema& schema = model_.schema();
  const Index E = model_.dim();
  // A gate input pooled by attention depends on the candidate, even from a shared history.
  for (int fi : schema.poso_features)
    if (!request.shared[static_cast<std::size_t>(fi)] ||
        schema.features[static_cast<std::size_t>(fi)].pooling == Pooling::kDin)
      return false;
  Index column = 0;
  for (int fi : schema.poso_features) {
    user_poso_input_.middleCols(column, E) =
        field_block(user_fields_, schema.features[static_cast<std::size_t>(fi)].field, E, 1);
    column += E;
  }
  poso->forward(model_.params(), user_poso_input_, 1, *user_poso_);
  return true;
}

void RequestScorer::attend(std::size_t group, Index begin, Index count, bool explain) {
  const Schema& schema = model_.schema();
  const DinGroup& g = schema.din_groups[group];
  const DinAttention& din = model_.din()[group];
  const Index E = model_.dim();
  Model::DinBuffers& d = ws_->din[group];
  History& h = history_[group];

  for (std::size_t k = 0; k < g.queries.size(); ++k)
    d.queries.block(0, static_cast<Index>(k) * E, count, E) = field_block(
        ws_->fields, schema.features[static_cast<std::size_t>(g.queries[k])].field, E, count);
  if (h.shared) {
    float* weights = nullptr;
    if (explain) {
      h.weights.resize(count, h.distinct.keys.rows());
      weights = h.weights.data();
    }
    din.forward_shared(model_.params(), h.distinct, d.queries.topRows(count), count,
                       d.pooled.topRows(count), h.scratch, weights);
  } else {
    d.offsets[0] = 0;
    for (Index i = 0; i < count; ++i)
      d.offsets[static_cast<std::size_t>(i) + 1] =
          d.offsets[static_cast<std::size_t>(i)] +
          static_cast<std::uint32_t>(keys_of(group, begin + i));
    const Index total = d.offsets[static_cast<std::size_t>(count)];
    reserve_keys(group, total);
    gather_keys(model_, candidate_batch_, group, begin, count, d.keys);
    din.key_terms(model_.params(), d.keys.topRows(total), h.chunk_terms.topRows(total));
    din.forward_with_key_terms(model_.params(), d.queries.topRows(count), d.keys.topRows(total),
                               h.chunk_terms.topRows(total), d.offsets.data(), count,
                               d.pooled.topRows(count), d.cache);
  }
  for (std::size_t k = 0; k < g.keys.size(); ++k)
    field_block(ws_->fields, schema.features[static_cast<std::size_t>(g.keys[k])].field, E, count) =
        d.pooled.block(0, static_cast<Index>(k) * E, count, E);
}

// From the chunk's field vectors and dense inputs to its logits in ws_->mlp.logit.
void RequestScorer::forward_chunk(Index count) {
  if (model_.mlp().hidden().empty()) {  // no hidden layer to split: the model's own forward
    model_.forward_fields(dense_.topRows(count), count, *ws_, /*training=*/false);
    return;
  }
  const Schema& schema = model_.schema();
  const Index FE = model_.field_width(), E = model_.dim();
  auto input = ws_->input.topRows(count);
  if (model_.senet()) {
    model_.senet()->forward(model_.params(), ws_->fields.topRows(count), count, input.leftCols(FE),
                            *ws_->senet);
  } else {
    input.leftCols(FE) = ws_->fields.topRows(count);
  }
  if (schema.num_dense > 0)
    input.rightCols(static_cast<Index>(schema.num_dense)) = dense_.topRows(count);

  FirstLayer& fl = first_;
  const auto C = static_cast<Index>(fl.columns.size());
  const auto U = static_cast<Index>(fl.user_gated.size());
  auto x = fl.x.topRows(count);
  for (Index c = 0; c < C; ++c) x.col(c) = input.col(fl.columns[static_cast<std::size_t>(c)]);
  for (Index u = 0; u < U; ++u)
    x.col(C + u) = ws_->senet->weights.col(fl.user_gated[static_cast<std::size_t>(u)]).head(count);
  auto pre = ws_->mlp.pre[0].topRows(count);
  pre.rowwise() = fl.constant;  // the product accumulates onto it: no zeroing pass
  gemm(x, fl.weight, pre);

  std::vector<const Matrix*> gates;
  if (user_gates_) {
    gates = model_.poso()->gates(*user_poso_);
  } else if (model_.poso()) {
    auto pc = ws_->poso_input.topRows(count);
    Index column = 0;
    for (int fi : schema.poso_features) {
      pc.middleCols(column, E) =
          field_block(ws_->fields, schema.features[static_cast<std::size_t>(fi)].field, E, count);
      column += E;
    }
    if (model_.config().poso.all_fields) pc.rightCols(FE) = ws_->fields.topRows(count);
    model_.poso()->forward(model_.params(), pc, count, *ws_->poso);
    gates = model_.poso()->gates(*ws_->poso);
  }
  model_.mlp().forward_after_first(model_.params(), count, ws_->mlp, gates);
}

std::vector<float> RequestScorer::score(const EncodedRequest& request, Explanation* explain) {
  const Schema& schema = model_.schema();
  const Index E = model_.dim();
  const auto N = static_cast<Index>(request.candidates.rows);
  rows_.resize(request.candidates.rows);
  std::iota(rows_.begin(), rows_.end(), std::size_t{0});
  builder_.build(request.candidates, rows_, model_.tables(), model_.normalizer(), candidate_batch_);

  // Once per request: the user's pooled features, histories and their key terms, POSO's gates
  // and the user's share of the first MLP layer.
  if (request.user.rows > 0) {
    const std::size_t zero = 0;
    builder_.build(request.user, std::span<const std::size_t>(&zero, 1), model_.tables(),
                   model_.normalizer(), user_batch_);
    for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
      const FeatureInfo& f = schema.features[fi];
      if (f.is_dense() || f.pooling == Pooling::kDin || !request.shared[fi]) continue;
      pool_forward(model_.tables()[static_cast<std::size_t>(f.table)], user_batch_.features[fi],
                   f.pooling, 0, 1, field_block(user_fields_, f.field, E, 1));
    }
  }
  for (std::size_t g = 0; g < history_.size(); ++g) {
    History& h = history_[g];
    h.shared = request.shared[static_cast<std::size_t>(schema.din_groups[g].keys[0])] != 0;
    if (h.shared) prepare_history(g);
  }
  if (!model_.mlp().hidden().empty()) prepare_first_layer(request);
  user_gates_ = prepare_user_gates(request);

  std::vector<float> scores(request.candidates.rows);
  if (explain) {
    explain->din.assign(history_.size(), std::vector<std::vector<float>>(request.candidates.rows));
    explain->senet.resize(N, model_.senet() ? model_.senet()->weight_width() : 0);
  }
  std::vector<Index> chunk_keys(history_.size());
  for (Index begin = 0; begin < N;) {
    // Up to kChunkRows candidates, and about kChunkKeys history values per attention laid
    // out per candidate (a shared history is not).
    Index count = 0;
    std::fill(chunk_keys.begin(), chunk_keys.end(), 0);
    while (begin + count < N && count < kChunkRows) {
      bool fits = true;
      for (std::size_t g = 0; g < history_.size(); ++g)
        fits = fits && (count == 0 || history_[g].shared ||
                        chunk_keys[g] + keys_of(g, begin + count) <= kChunkKeys);
      if (!fits) break;
      for (std::size_t g = 0; g < history_.size(); ++g) chunk_keys[g] += keys_of(g, begin + count);
      ++count;
    }

    for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
      const FeatureInfo& f = schema.features[fi];
      if (f.is_dense() || f.pooling == Pooling::kDin) continue;
      if (request.shared[fi]) {
        field_block(ws_->fields, f.field, E, count) =
            field_block(user_fields_, f.field, E, 1).replicate(count, 1);
      } else {
        pool_forward(model_.tables()[static_cast<std::size_t>(f.table)],
                     candidate_batch_.features[fi], f.pooling, begin, count,
                     field_block(ws_->fields, f.field, E, count));
      }
    }
    for (std::size_t g = 0; g < history_.size(); ++g) attend(g, begin, count, explain != nullptr);
    for (const FeatureInfo& f : schema.features) {
      if (!f.is_dense()) continue;
      const auto fi = static_cast<std::size_t>(&f - schema.features.data());
      const auto d = static_cast<Index>(f.dense);
      if (request.shared[fi]) {
        dense_.col(d).head(count).setConstant(user_batch_.dense(0, d));
      } else {
        dense_.col(d).head(count) = candidate_batch_.dense.col(d).segment(begin, count);
      }
    }
    forward_chunk(count);
    for (Index i = 0; i < count; ++i)
      scores[static_cast<std::size_t>(begin + i)] = sigmoid(ws_->mlp.logit(i, 0));

    if (explain) {
      for (std::size_t g = 0; g < history_.size(); ++g) {
        const History& h = history_[g];
        for (Index i = 0; i < count; ++i) {
          std::vector<float>& out = explain->din[g][static_cast<std::size_t>(begin + i)];
          if (h.shared) {  // each value's distinct key's weight
            out.resize(static_cast<std::size_t>(h.length));
            for (Index j = 0; j < h.length; ++j)
              out[static_cast<std::size_t>(j)] = h.weights(i, h.distinct_of[static_cast<std::size_t>(j)]);
          } else {
            const Model::DinBuffers& d = ws_->din[g];
            const float* w = model_.din()[g].weights(d.cache);
            out.assign(w + d.offsets[static_cast<std::size_t>(i)],
                       w + d.offsets[static_cast<std::size_t>(i) + 1]);
          }
        }
      }
      if (model_.senet())
        explain->senet.middleRows(begin, count) = model_.senet()->weights(*ws_->senet, count);
    }
    begin += count;
  }
  return scores;
}

std::vector<float> score_plain(const ScoreRequest& request, const ServedModel& model) {
  return score_dataset(model.model(), encode_rows(request, model), 1);
}

}  // namespace heed::serve
