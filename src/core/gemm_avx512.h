#pragma once
// heed's own fp32 product kernel for CPUs with AVX-512F: c += a b (or c = a b) in blocks of rows
// by panels of columns, six rows by 64 columns accumulating in 24 registers (narrower panels
// take more rows), b read in place (W [K, N] row-major gives a row's 64 outputs as four
// registers), the sum taken in slices of 256 inputs so that b's slice stays in cache.
//
// Where it runs:
//   - the request scorer's MLP (PerUserForward, Dense::forward_live_inputs), always: at a
//     hundred rows a BLAS call packs both operands for little reuse (90-103 G multiply-adds/s
//     here against OpenBLAS's 77-87 with its AVX-512 kernels), and the sum can run over a
//     subset of the inputs, the live ones where ReLU left whole input columns zero for every
//     candidate, without copying W's live rows;
//   - every heed::gemm otherwise sent to OpenBLAS, when OpenBLAS runs kernels without AVX-512
//     on this AVX-512 core (core/gemm.h).
#include <span>

#include "core/tensor.h"

namespace heed {

// Whether gemm_avx512 can run here: the CPU has AVX-512F. An fp32 kernel, so HEED_LOWP_ISA
// (which picks the reduced-precision and elementwise kernels) does not turn it off: the fp32
// products of a bf16 training run are then the same on either path.
bool gemm_avx512_available();

// c += a b, or c = a b when not accumulating (c's old values, NaN included, are not read),
// a [M, K], b [K, N], c [M, N]. Each row of c is a function of that row of a alone.
void gemm_avx512(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, bool accumulate = true);
// c += a b over only the given columns of a (rows of b), in the order given.
void gemm_avx512(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, std::span<const Index> inputs);
// c += a^T b (or c = a^T b), a [K, M], b [K, N], c [M, N] (a layer's weight gradient x^T dy).
void gemm_avx512_transposed_a(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c,
                              bool accumulate = true);
// c += a b^T (or c = a b^T), a [M, K], b [N, K], c [M, N] (a layer's input gradient dy W^T): b
// is transposed into a buffer of the calling thread first, for a weight-sized b.
void gemm_avx512_transposed_b(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c,
                              bool accumulate = true);

}  // namespace heed
