#include "train/divergence.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace heed {
namespace {

using StageRows = std::vector<std::pair<std::string, std::vector<std::size_t>>>;

// Rows of `m` (row i is batch row begin + i) that hold a NaN or Inf.
template <class Block>
std::vector<std::size_t> bad_rows(const Block& m, Index begin) {
  std::vector<std::size_t> rows;
  for (Index i = 0; i < m.rows(); ++i)
    if (!m.row(i).allFinite()) rows.push_back(static_cast<std::size_t>(begin + i));
  return rows;
}

// Every forward stage of one thread's share of the batch, in the order the stages ran.
StageRows stage_rows(const Model& model, const Batch& batch, const Model::Workspace& ws, Index begin) {
  const Schema& schema = model.schema();
  const Index n = ws.rows, E = model.dim();
  StageRows out;
  for (const FeatureInfo& f : schema.features)
    if (f.is_dense())
      out.emplace_back(fmt::format("numeric input '{}' (after its transform)", f.name),
                       bad_rows(batch.dense.block(begin, f.dense, n, 1), begin));
  for (const FeatureInfo& f : schema.features)
    if (!f.is_dense() && f.pooling != Pooling::kDin)
      out.emplace_back(fmt::format("embedding rows of '{}' (table '{}', pooled)", f.name,
                                   schema.tables[static_cast<std::size_t>(f.table)].name),
                       bad_rows(ws.fields.block(0, f.field * E, n, E), begin));
  for (std::size_t g = 0; g < schema.din_groups.size(); ++g) {
    const Model::DinBuffers& d = ws.din[g];
    const std::string lead = schema.features[static_cast<std::size_t>(schema.din_groups[g].keys[0])].name;
    std::vector<std::size_t> keys;
    for (Index i = 0; i < n; ++i) {
      const auto from = static_cast<Index>(d.offsets[static_cast<std::size_t>(i)]);
      const auto to = static_cast<Index>(d.offsets[static_cast<std::size_t>(i) + 1]);
      if (!d.keys.middleRows(from, to - from).allFinite()) keys.push_back(static_cast<std::size_t>(begin + i));
    }
    out.emplace_back(fmt::format("embedding rows of the '{}' sequence (DIN keys)", lead), std::move(keys));
    out.emplace_back(fmt::format("output of din.{} (target attention)", lead), bad_rows(d.pooled.topRows(n), begin));
  }
  if (model.senet())
    out.emplace_back("output of senet (field gating)", bad_rows(ws.input.topRows(n).leftCols(model.field_width()), begin));
  if (model.poso()) {
    const auto gates = model.poso()->gates(*ws.poso);
    for (std::size_t l = 0; l < gates.size(); ++l)
      if (gates[l]) out.emplace_back(fmt::format("output of poso.{} (gate of mlp.{})", l, l), bad_rows(gates[l]->topRows(n), begin));
  }
  for (std::size_t l = 0; l < ws.mlp.pre.size(); ++l) {
    out.emplace_back(fmt::format("output of mlp.{} (dense layer)", l), bad_rows(ws.mlp.pre[l].topRows(n), begin));
    out.emplace_back(fmt::format("output of mlp.{}'s activation", l), bad_rows(ws.mlp.act[l].topRows(n), begin));
    out.emplace_back(fmt::format("output of mlp.{} after its gate and dropout", l), bad_rows(ws.mlp.out[l].topRows(n), begin));
  }
  out.emplace_back("output of mlp.output (the logit)", bad_rows(ws.mlp.logit.topRows(n), begin));
  return out;
}

}  // namespace

std::optional<NonFinite> first_non_finite_stage(const Model& model, const Batch& batch,
                                                const std::vector<std::unique_ptr<Model::Workspace>>& workspaces,
                                                int threads, BatchShare share) {
  const auto B = static_cast<Index>(batch.size);
  const Index first = share.begin, rows = (share.end < 0 ? B : share.end) - share.begin;
  std::vector<StageRows> per_thread;
  for (int t = 0; t < threads; ++t) {
    const Index begin = first + rows * t / threads, stop = first + rows * (t + 1) / threads;
    if (stop > begin) per_thread.push_back(stage_rows(model, batch, *workspaces[static_cast<std::size_t>(t)], begin));
  }
  if (per_thread.empty()) return std::nullopt;
  for (std::size_t s = 0; s < per_thread[0].size(); ++s) {
    NonFinite found{per_thread[0][s].first, {}};
    for (const StageRows& stages : per_thread)
      found.rows.insert(found.rows.end(), stages[s].second.begin(), stages[s].second.end());
    if (!found.rows.empty()) return found;
  }
  return NonFinite{"the loss (every layer's output was finite)", {}};
}

std::optional<NonFinite> first_non_finite_gradient(const Model& model, const Model::Workspace& summed) {
  // Backward runs from the output layer down, roughly the reverse of declaration order.
  for (std::size_t i = model.params().size(); i-- > 0;)
    if (!summed.grads[i].allFinite()) return NonFinite{"gradient of " + model.params().param(i).name, {}};
  for (std::size_t k = 0; k < summed.table_grads.size(); ++k)
    for (float g : summed.table_grads[k])
      if (!std::isfinite(g)) return NonFinite{fmt::format("gradient of table '{}'", model.tables()[k].name()), {}};
  return std::nullopt;
}

std::optional<NonFinite> first_non_finite_weight(const Model& model, const Batch& batch) {
  for (std::size_t i = 0; i < model.params().size(); ++i)
    if (!model.params()[i].allFinite()) return NonFinite{"weights of " + model.params().param(i).name, {}};
  for (std::size_t k = 0; k < model.tables().size(); ++k) {
    const EmbeddingTable& table = model.tables()[k];
    for (std::uint32_t r : batch.tables[k].touched)
      for (std::size_t j = 0; j < table.dim(); ++j)
        if (!std::isfinite(table.row(r)[j]))
          return NonFinite{fmt::format("embedding row {} of table '{}'", r, table.name()), {}};
  }
  return std::nullopt;
}

double clip_gradients(Model::Workspace& summed, double max_norm) {
  double squares = 0;
  for (std::size_t i = 0; i < summed.grads.size(); ++i) squares += summed.grads[i].cast<double>().squaredNorm();
  for (const auto& g : summed.table_grads)
    for (float v : g) squares += static_cast<double>(v) * v;
  const double norm = std::sqrt(squares);
  if (max_norm > 0 && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / norm);
    for (std::size_t i = 0; i < summed.grads.size(); ++i) summed.grads[i] *= scale;
    for (auto& g : summed.table_grads)
      for (float& v : g) v *= scale;
  }
  return norm;
}

}  // namespace heed
