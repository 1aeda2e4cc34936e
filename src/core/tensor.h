#pragma once
// Dense tensors are Eigen row-major matrices: a batch of B rows of width D is a [B, D] matrix,
// and a [B, F, E] stack of field vectors is stored as [B, F*E]. Views (Ref) let layers work on
// the first b rows of buffers sized once for the largest batch, so nothing is allocated per batch.
#include <Eigen/Core>

namespace heed {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixView = Eigen::Ref<Matrix>;
using ConstMatrixView = Eigen::Ref<const Matrix>;
using Index = Eigen::Index;

}  // namespace heed
