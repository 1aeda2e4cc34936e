#include "train/divergence.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace heed {
namespace {

using StageRows = std::vector<std::pair<std::string, std::vector<std::size_t>>>;

// Whether n floats are all finite: the largest magnitude's bits lie below infinity's. An
// integer maximum, so that the loop vectorizes (a test per value, or Eigen's allFinite, runs
// once per step over every weight and gradient).
bool all_finite(const float* values, std::size_t n) {
  std::uint32_t top = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, values + i, sizeof bits);
    top = std::max(top, bits & 0x7fffffffu);
  }
  return top < 0x7f800000u;
}
bool all_finite(const Matrix& m) { return all_finite(m.data(), static_cast<std::size_t>(m.size())); }

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
  const Index n = ws.rows();
  StageRows out;
  for (const FeatureInfo& f : model.schema().features)
    if (f.is_dense())
      out.emplace_back(fmt::format("numeric input '{}' (after its transform)", f.name),
                       bad_rows(batch.dense.block(begin, f.dense, n, 1), begin));
  for (const Model::StageOutput& stage : model.stage_outputs(ws)) {
    if (!stage.offsets) {
      out.emplace_back(stage.name, bad_rows(stage.values, begin));
      continue;
    }
    std::vector<std::size_t> rows;  // rows with a bad key
    for (Index i = 0; i < n; ++i) {
      const auto from = static_cast<Index>(stage.offsets[i]), to = static_cast<Index>(stage.offsets[i + 1]);
      if (!stage.values.middleRows(from, to - from).allFinite()) rows.push_back(static_cast<std::size_t>(begin + i));
    }
    out.emplace_back(stage.name, std::move(rows));
  }
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
    if (!all_finite(summed.gradients()[i])) return NonFinite{"gradient of " + model.params().param(i).name, {}};
  for (std::size_t k = 0; k < summed.table_gradients().size(); ++k) {
    const std::vector<float>& g = summed.table_gradients()[k];
    if (!all_finite(g.data(), g.size()))
      return NonFinite{fmt::format("gradient of table '{}'", model.tables()[k].name()), {}};
  }
  return std::nullopt;
}

std::optional<NonFinite> first_non_finite_weight(const Model& model, const Batch& batch) {
  for (std::size_t i = 0; i < model.params().size(); ++i)
    if (!all_finite(model.params()[i])) return NonFinite{"weights of " + model.params().param(i).name, {}};
  for (std::size_t k = 0; k < model.tables().size(); ++k) {
    const EmbeddingTable& table = model.tables()[k];
    for (std::uint32_t r : batch.tables[k].touched)
      if (!all_finite(table.row(r), table.dim()))
        return NonFinite{fmt::format("embedding row {} of table '{}'", r, table.name()), {}};
  }
  return std::nullopt;
}

double clip_gradients(Model::Workspace& summed, double max_norm) {
  Gradients& grads = summed.gradients();
  std::vector<std::vector<float>>& table_grads = summed.table_gradients();
  double squares = grads.squared_norm();
  for (const auto& g : table_grads)
    for (float v : g) squares += static_cast<double>(v) * v;
  const double norm = std::sqrt(squares);
  if (max_norm > 0 && norm > max_norm) {
    const auto scale = static_cast<float>(max_norm / norm);
    grads.scale(scale);
    for (auto& g : table_grads)
      for (float& v : g) v *= scale;
  }
  return norm;
}

}  // namespace heed
