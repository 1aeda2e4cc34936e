#pragma once
// Sum, mean and sqrtn pooling of a multi-valued feature's embedding rows into one field vector, and
// the backward pass that sends each field gradient to the rows it came from.
//   rows [b] of values -> out [b, E] (a column block of the [B, F*E] field matrix)
// Empty or all-unseen value lists pool to zero.
#include "config/schema.h"
#include "core/tensor.h"
#include "embedding/batch.h"
#include "embedding/embedding_table.h"

namespace heed {

// The factor a plain pooling applies to the sum of `values` vectors (sum 1, mean 1/n, sqrtn
// 1/sqrt(n)). Unseen values count in n: they are values the row has, with a zero vector.
float pooled_scale(Pooling pooling, std::uint32_t values);

// Rows [begin, begin + count) of the batch. out(i, :) is the pooled vector of batch row begin + i.
void pool_forward(const EmbeddingTable& table, const FeatureBatch& feature, Pooling pooling, Index begin,
                  Index count, Eigen::Ref<Matrix, 0, Eigen::OuterStride<>> out);

// Accumulates d_out into table_grad [touched, E] (row-major, one row per touched slot).
void pool_backward(const FeatureBatch& feature, Pooling pooling, Index begin, Index count,
                   const Eigen::Ref<const Matrix, 0, Eigen::OuterStride<>>& d_out, std::size_t dim,
                   float* table_grad);

}  // namespace heed
