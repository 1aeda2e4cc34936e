#include "embedding/pooling.h"

#include <cmath>

namespace heed {

float pooled_scale(Pooling pooling, std::uint32_t values) {
  if (values == 0) return 1.0f;
  switch (pooling) {
    case Pooling::kMean:
      return 1.0f / static_cast<float>(values);
    case Pooling::kSqrtN:
      return 1.0f / std::sqrt(static_cast<float>(values));
    default:
      return 1.0f;
  }
}

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
    if (last - first > 1) dst *= pooled_scale(pooling, last - first);
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
    const float scale = pooled_scale(pooling, last - first);
    for (std::uint32_t v = first; v < last; ++v) {
      if (feature.rows[v] < 0) continue;
      Eigen::Map<Eigen::RowVectorXf>(table_grad + static_cast<std::size_t>(feature.slots[v]) * dim, E) +=
          scale * d_out.row(i);
    }
  }
}

}  // namespace heed
