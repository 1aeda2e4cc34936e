#include "serve/request_scorer.h"

#include <numeric>

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

void RequestScorer::attend(std::size_t group, Index begin, Index count) {
  const Schema& schema = model_.schema();
  const DinGroup& g = schema.din_groups[group];
  const DinAttention& din = model_.din()[group];
  const Index E = model_.dim();
  Model::DinBuffers& d = ws_->din[group];
  History& h = history_[group];

  for (std::size_t k = 0; k < g.queries.size(); ++k)
    d.queries.block(0, static_cast<Index>(k) * E, count, E) = field_block(
        ws_->fields, schema.features[static_cast<std::size_t>(g.queries[k])].field, E, count);
  d.offsets[0] = 0;
  for (Index i = 0; i < count; ++i)
    d.offsets[static_cast<std::size_t>(i) + 1] =
        d.offsets[static_cast<std::size_t>(i)] +
        static_cast<std::uint32_t>(keys_of(group, begin + i));
  const Index total = d.offsets[static_cast<std::size_t>(count)];
  reserve_keys(group, total);
  if (h.shared) {
    // The user's history once per candidate: copies of its keys and key terms, no GEMM.
    for (Index i = 0; i < count; ++i) {
      d.keys.middleRows(i * h.length, h.length) = h.keys;
      h.chunk_terms.middleRows(i * h.length, h.length) = h.key_terms;
    }
  } else {
    gather_keys(model_, candidate_batch_, group, begin, count, d.keys);
    din.key_terms(model_.params(), d.keys.topRows(total), h.chunk_terms.topRows(total));
  }
  din.forward_with_key_terms(model_.params(), d.queries.topRows(count), d.keys.topRows(total),
                             h.chunk_terms.topRows(total), d.offsets.data(), count,
                             d.pooled.topRows(count), d.cache);
  for (std::size_t k = 0; k < g.keys.size(); ++k)
    field_block(ws_->fields, schema.features[static_cast<std::size_t>(g.keys[k])].field, E, count) =
        d.pooled.block(0, static_cast<Index>(k) * E, count, E);
}

std::vector<float> RequestScorer::score(const EncodedRequest& request, Explanation* explain) {
  const Schema& schema = model_.schema();
  const Index E = model_.dim();
  const auto N = static_cast<Index>(request.candidates.rows);
  rows_.resize(request.candidates.rows);
  std::iota(rows_.begin(), rows_.end(), std::size_t{0});
  builder_.build(request.candidates, rows_, model_.tables(), model_.normalizer(), candidate_batch_);

  // Once per request: the user's pooled features, histories and their key terms.
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
    if (!h.shared) continue;
    const FeatureBatch& lead =
        user_batch_.features[static_cast<std::size_t>(schema.din_groups[g].keys[0])];
    h.length = lead.offsets[1] - lead.offsets[0];
    h.keys.resize(h.length, model_.din()[g].width());
    gather_keys(model_, user_batch_, g, 0, 1, h.keys);
    h.key_terms.resize(h.length, model_.din()[g].first_width());
    model_.din()[g].key_terms(model_.params(), h.keys, h.key_terms);
  }

  std::vector<float> scores(request.candidates.rows);
  if (explain) {
    explain->din.assign(history_.size(), std::vector<std::vector<float>>(request.candidates.rows));
    explain->senet.resize(N, model_.senet() ? model_.senet()->weight_width() : 0);
  }
  std::vector<Index> chunk_keys(history_.size());
  for (Index begin = 0; begin < N;) {
    // Up to kChunkRows candidates, and about kChunkKeys history values per attention.
    Index count = 0;
    std::fill(chunk_keys.begin(), chunk_keys.end(), 0);
    while (begin + count < N && count < kChunkRows) {
      bool fits = true;
      for (std::size_t g = 0; g < history_.size(); ++g)
        fits = fits && (count == 0 || chunk_keys[g] + keys_of(g, begin + count) <= kChunkKeys);
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
    for (std::size_t g = 0; g < history_.size(); ++g) attend(g, begin, count);
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
    model_.forward_fields(dense_.topRows(count), count, *ws_, /*training=*/false);
    for (Index i = 0; i < count; ++i)
      scores[static_cast<std::size_t>(begin + i)] = sigmoid(ws_->mlp.logit(i, 0));

    if (explain) {
      for (std::size_t g = 0; g < history_.size(); ++g) {
        const Model::DinBuffers& d = ws_->din[g];
        const float* w = model_.din()[g].weights(d.cache);
        for (Index i = 0; i < count; ++i)
          explain->din[g][static_cast<std::size_t>(begin + i)].assign(
              w + d.offsets[static_cast<std::size_t>(i)],
              w + d.offsets[static_cast<std::size_t>(i) + 1]);
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
