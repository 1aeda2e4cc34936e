#pragma once
// c += a b for the request scorer's dense products (fp32, AVX-512F): the MLP's layers over one
// request's candidates, a few hundred rows by up to a few thousand inputs.
//
// Why not sgemm: at a hundred rows a BLAS call packs both operands for little reuse, and its
// kernel is chosen by the BLAS library's own CPU detection (OpenBLAS can be told, or left, to
// run its AVX2 kernels on an AVX-512 core: half the rate). Here the weights are read in place
// (W [K, N] row-major gives a row's 64 outputs as four registers), six rows accumulate 6 x 64
// outputs in 24 registers, and the sum can run over a subset of the inputs: the live ones, where
// ReLU left whole input columns zero for every candidate, without copying W's live rows.
#include <span>

#include "core/tensor.h"

namespace heed {

// Whether scoring_gemm can run here (lowp::elementwise_avx512()).
bool scoring_gemm_available();

// c += a b, a [M, K], b [K, N], c [M, N]. Each row of c is a function of that row of a alone.
void scoring_gemm(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c);
// The same sum over only the given columns of a (rows of b), in the order given.
void scoring_gemm(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, std::span<const Index> inputs);

}  // namespace heed
