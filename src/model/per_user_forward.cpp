#include "model/per_user_forward.h"

#include <algorithm>
#include <numeric>

#include "core/gemm.h"
#include "core/gemm_avx512.h"
#include "core/sigmoid.h"

namespace heed {
namespace {

auto field_block(Matrix& m, int field, Index dim, Index rows) { return m.block(0, field * dim, rows, dim); }

}  // namespace

PerUserForward::PerUserForward(const Model& model)
    : model_(model), builder_(model.schema(), model.config().embedding), ws_(model.make_workspace(kChunkRows)) {
  user_fields_.resize(1, model.field_width());
  dense_.resize(kChunkRows, static_cast<Index>(model.schema().num_dense));
  history_.resize(model.din().size());
  if (model.poso()) {
    user_poso_ = std::make_unique<PosoGates::Cache>(model.poso()->make_cache(1));
    user_poso_gates_ = std::make_unique<PosoGates::Gates>(model.poso()->make_gates(1));
    user_poso_input_.resize(1, model.poso()->pc_width());
  }
}

Index PerUserForward::keys_of(std::size_t group, Index candidate) const {
  if (history_[group].shared) return history_[group].length;
  const auto lead = static_cast<std::size_t>(model_.schema().din_groups[group].keys[0]);
  const FeatureBatch& fb = candidate_batch_.features[lead];
  return fb.offsets[static_cast<std::size_t>(candidate) + 1] - fb.offsets[static_cast<std::size_t>(candidate)];
}

// Up to kChunkRows candidates from `begin`, and about kChunkKeys history values per attention
// laid out per candidate (a shared history is not).
Index PerUserForward::next_chunk(Index begin, Index candidates, std::vector<Index>& chunk_keys) const {
  Index count = 0;
  std::fill(chunk_keys.begin(), chunk_keys.end(), 0);
  while (begin + count < candidates && count < kChunkRows) {
    bool fits = true;
    for (std::size_t g = 0; g < history_.size(); ++g)
      fits = fits && (count == 0 || history_[g].shared || chunk_keys[g] + keys_of(g, begin + count) <= kChunkKeys);
    if (!fits) break;
    for (std::size_t g = 0; g < history_.size(); ++g) chunk_keys[g] += keys_of(g, begin + count);
    ++count;
  }
  return count;
}

// The user's history of DIN attention `group`: its values' keys, then the distinct keys (equal
// embedding rows in every key feature) with their counts and key terms.
void PerUserForward::prepare_history(std::size_t group) {
  const DinGroup& g = model_.schema().din_groups[group];
  History& h = history_[group];
  const FeatureBatch& lead = user_batch_.features[static_cast<std::size_t>(g.keys[0])];
  h.length = lead.offsets[1] - lead.offsets[0];
  h.keys.resize(h.length, model_.din()[group].width());
  model_.gather_keys(group, user_batch_, 0, 1, h.keys);

  // Sort the values by their rows, tuple by tuple; runs of equal tuples are one distinct key.
  auto row_of = [&](std::size_t k, Index j) {
    return user_batch_.features[static_cast<std::size_t>(g.keys[k])].rows[lead.offsets[0] + static_cast<std::size_t>(j)];
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
  h.distinct.sequence = h.distinct_of;  // reduced precision pools in sequence order
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
void PerUserForward::prepare_first_layer(const std::vector<char>& shared) {
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
    if (!shared[fi] || (!f.is_dense() && f.pooling == Pooling::kDin)) continue;
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
  for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
    const FeatureInfo& f = schema.features[fi];
    if (f.is_dense() && shared[fi]) fl.constant.noalias() += user_batch_.dense(0, f.dense) * w0.row(F * E + f.dense);
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
bool PerUserForward::prepare_user_gates(const std::vector<char>& shared) {
  const PosoGates* poso = model_.poso();
  if (!poso || model_.config().poso.all_fields) return false;
  const Schema& schema = model_.schema();
  // A gate input pooled by attention depends on the candidate, even from a shared history.
  for (int fi : schema.poso_features)
    if (!shared[static_cast<std::size_t>(fi)] || schema.features[static_cast<std::size_t>(fi)].pooling == Pooling::kDin)
      return false;
  model_.gather_poso_input(user_fields_, 1, user_poso_input_);
  poso->forward(model_.params(), user_poso_input_, 1, *user_poso_gates_, *user_poso_, Pass::evaluation());
  return true;
}

// DIN attention `group` over the user's history, shared by the chunk's candidates.
void PerUserForward::attend_shared(std::size_t group, Index count, bool explain) {
  Model::Workspace::DinBuffers& d = ws_->din_[group];
  History& h = history_[group];
  model_.gather_queries(group, ws_->fields_, count, d.queries);
  float* weights = nullptr;
  if (explain) {
    h.weights.resize(count, h.distinct.keys.rows());
    weights = h.weights.data();
  }
  model_.din()[group].forward_shared(model_.params(), h.distinct, d.queries.topRows(count), count,
                                     d.pooled.topRows(count), h.scratch, weights);
  model_.scatter_pooled(group, d.pooled, count, ws_->fields_);
}

// From the chunk's field vectors and dense inputs to its logits in ws_->logits().
void PerUserForward::forward_chunk(Index count) {
  if (model_.mlp().hidden().empty()) {  // no hidden layer to split: the plain stages
    model_.forward_fields(dense_.topRows(count), count, *ws_, /*training=*/false);
    return;
  }
  model_.build_input(dense_.topRows(count), count, *ws_);
  auto input = ws_->input_.topRows(count);
  auto pre = ws_->mlp_.pre[0].topRows(count);
  if (model_.params().reduced()) {
    // Reduced precision rounds (or quantizes per row) the whole input row: the user's share
    // cannot be summed apart without changing the numbers, so the layer runs as the plain
    // schedule runs it, and both compute the same bits.
    Dense::Cache none;
    model_.mlp().layer(0).forward(model_.params(), input, count, pre, none, Pass::evaluation());
  } else {
    FirstLayer& fl = first_;
    const auto C = static_cast<Index>(fl.columns.size());
    const auto U = static_cast<Index>(fl.user_gated.size());
    auto x = fl.x.topRows(count);
    for (Index c = 0; c < C; ++c) x.col(c) = input.col(fl.columns[static_cast<std::size_t>(c)]);
    for (Index u = 0; u < U; ++u)
      x.col(C + u) = ws_->senet_->weights.col(fl.user_gated[static_cast<std::size_t>(u)]).head(count);
    pre.rowwise() = fl.constant;  // the product accumulates onto it: no zeroing pass
    if (gemm_avx512_available()) {
      gemm_avx512(x, fl.weight, pre);
    } else {
      gemm(x, fl.weight, pre);
    }
  }

  std::span<const Matrix* const> gates;
  if (user_gates_) {
    gates = user_poso_gates_->list;
  } else if (model_.poso()) {  // the plain stage
    model_.gather_poso_input(ws_->fields_, count, ws_->poso_input_);
    model_.poso()->forward(model_.params(), ws_->poso_input_, count, *ws_->poso_gates_, *ws_->poso_,
                           Pass::evaluation());
    gates = ws_->poso_gates_->list;
  }
  model_.mlp().forward_after_first(model_.params(), count, ws_->mlp_, gates, ws_->mlp_logit_);
}

void PerUserForward::explain_chunk(Index begin, Index count, CandidateExplanation& explain) const {
  for (std::size_t g = 0; g < history_.size(); ++g) {
    const History& h = history_[g];
    for (Index i = 0; i < count; ++i) {
      std::vector<float>& out = explain.din[g][static_cast<std::size_t>(begin + i)];
      if (h.shared) {  // each value's distinct key's weight
        out.resize(static_cast<std::size_t>(h.length));
        for (Index j = 0; j < h.length; ++j)
          out[static_cast<std::size_t>(j)] = h.weights(i, h.distinct_of[static_cast<std::size_t>(j)]);
      } else {
        const Model::Workspace::DinBuffers& d = ws_->din_[g];
        const float* w = model_.din()[g].weights(d.cache);
        out.assign(w + d.offsets[static_cast<std::size_t>(i)], w + d.offsets[static_cast<std::size_t>(i) + 1]);
      }
    }
  }
  if (model_.senet()) explain.senet.middleRows(begin, count) = model_.senet()->weights(*ws_->senet_, count);
}

std::vector<float> PerUserForward::score(const Dataset& user, const Dataset& candidates,
                                         const std::vector<char>& shared, CandidateExplanation* explain) {
  const Schema& schema = model_.schema();
  const Index E = model_.dim();
  const auto N = static_cast<Index>(candidates.rows);
  rows_.resize(candidates.rows);
  std::iota(rows_.begin(), rows_.end(), std::size_t{0});
  builder_.build(candidates, rows_, model_.tables(), model_.normalizer(), candidate_batch_);

  // Once per request: the user's pooled features, histories and their key terms, POSO's gates
  // and the user's share of the first MLP layer.
  if (user.rows > 0) {
    const std::size_t zero = 0;
    builder_.build(user, std::span<const std::size_t>(&zero, 1), model_.tables(), model_.normalizer(), user_batch_);
    for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
      const FeatureInfo& f = schema.features[fi];
      if (f.is_dense() || f.pooling == Pooling::kDin || !shared[fi]) continue;
      model_.pool_feature(fi, user_batch_, 0, 1, user_fields_);
    }
  }
  for (std::size_t g = 0; g < history_.size(); ++g) {
    History& h = history_[g];
    h.shared = shared[static_cast<std::size_t>(schema.din_groups[g].keys[0])] != 0;
    if (h.shared) prepare_history(g);
  }
  // In reduced precision the first layer is not split (see forward_chunk).
  if (!model_.mlp().hidden().empty() && !model_.params().reduced()) prepare_first_layer(shared);
  user_gates_ = prepare_user_gates(shared);

  std::vector<float> scores(candidates.rows);
  if (explain) {
    explain->din.assign(history_.size(), std::vector<std::vector<float>>(candidates.rows));
    explain->senet.resize(N, model_.senet() ? model_.senet()->weight_width() : 0);
  }
  std::vector<Index> chunk_keys(history_.size());
  for (Index begin = 0; begin < N;) {
    const Index count = next_chunk(begin, N, chunk_keys);
    ws_->rows_ = count;
    for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
      const FeatureInfo& f = schema.features[fi];
      if (f.is_dense() || f.pooling == Pooling::kDin) continue;
      if (shared[fi]) {
        field_block(ws_->fields_, f.field, E, count) = field_block(user_fields_, f.field, E, 1).replicate(count, 1);
      } else {
        model_.pool_feature(fi, candidate_batch_, begin, count, ws_->fields_);
      }
    }
    for (std::size_t g = 0; g < history_.size(); ++g) {
      if (history_[g].shared) {
        attend_shared(g, count, explain != nullptr);
      } else {
        model_.attend(candidate_batch_, g, begin, count, *ws_, /*training=*/false);
      }
    }
    for (std::size_t fi = 0; fi < schema.features.size(); ++fi) {
      const FeatureInfo& f = schema.features[fi];
      if (!f.is_dense()) continue;
      const auto d = static_cast<Index>(f.dense);
      if (shared[fi]) {
        dense_.col(d).head(count).setConstant(user_batch_.dense(0, d));
      } else {
        dense_.col(d).head(count) = candidate_batch_.dense.col(d).segment(begin, count);
      }
    }
    forward_chunk(count);
    for (Index i = 0; i < count; ++i) scores[static_cast<std::size_t>(begin + i)] = sigmoid(ws_->mlp_logit_(i, 0));
    if (explain) explain_chunk(begin, count, *explain);
    begin += count;
  }
  return scores;
}

}  // namespace heed
