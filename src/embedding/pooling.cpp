#include "embedding/pooling.h"

namespace heed {

void pool_forward(const EmbeddingTable& table, const FeatureBatch& feature, Pooling pooling, Index begin,
                  Index count, Eigen::Ref<Matrix, 0, Eigen::OuterStride<>> out) {
  const auto E = static_cast<Index>(table.dim());
  for (Index i = 0; i < count; ++i) {
    auto dst = out.row(i);
    dst.setZero();
    const std::uint32_t first = feature.offsets[static_cast<std::size_t>(begin + i)];
    const std::uint32_t last = feature.offsets[static_cast<std::size_t>(begin + i) + 1];
    for (std::uint32_t v = first; v < last; ++v) {
      const std::int32_t r = feature.rows[v];
      if (r < 0) continue;
      dst += Eigen::Map<const Eigen::RowVectorXf>(table.row(static_cast<std::uint32_t>(r)), E);
    }
    if (pooling == Pooling::kMean && last - first > 1) dst /= static_cast<float>(last - first);
  }
}

void pool_backward(const FeatureBatch& feature, Pooling pooling, Index begin, Index count,
                   const Eigen::Ref<const Matrix, 0, Eigen::OuterStride<>>& d_out, std::size_t dim,
                   float* table_grad) {
  const auto E = static_cast<Index>(dim);
  for (Index i = 0; i < count; ++i) {
    const std::uint32_t first = feature.offsets[static_cast<std::size_t>(begin + i)];
    const std::uint32_t last = feature.offsets[static_cast<std::size_t>(begin + i) + 1];
    if (first == last) continue;
    const float scale = pooling == Pooling::kMean ? 1.0f / static_cast<float>(last - first) : 1.0f;
    for (std::uint32_t v = first; v < last; ++v) {
      if (feature.rows[v] < 0) continue;
      Eigen::Map<Eigen::RowVectorXf>(table_grad + static_cast<std::size_t>(feature.slots[v]) * dim, E) +=
          scale * d_out.row(i);
    }
  }
}

}  // namespace heed
