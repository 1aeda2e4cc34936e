#pragma once
// Matrix products, on OpenBLAS's sgemm where it is the faster kernel. The products of training
// and scoring (the MLP's layers, DIN's activation unit) spend most of heed's time; on the MLP's
// shapes OpenBLAS's hand-written kernels run 1.4-1.8x Eigen's on the same core, while tall,
// narrow and vector shapes stay on Eigen (bench/gemm_bench.cpp, docs/performance.md). heed
// threads its own work, so OpenBLAS is kept to one thread per call: results stay deterministic
// for a seed and a thread count, and two threads never fight over the cores.
//
// OpenBLAS picks its kernels from the CPU at load time, or from OPENBLAS_CORETYPE. Where it
// runs kernels without AVX-512 on a core that has it (told to, as this project's development
// machines are, or not knowing a newer core), the products go to heed's AVX-512 kernel instead
// (core/gemm_avx512.h): 1.8-2x the rate of OpenBLAS's AVX2 kernels on the MLP's shapes, within
// a few percent of its AVX-512 ones in training (docs/performance.md). Narrow input gradients
// (dy W^T, at most 128 outputs a row: DIN's unit) go to heed's kernel on any AVX-512 core.
#include <string>

#include "core/tensor.h"

namespace heed {

struct GemmOptions {
  bool transpose_a = false;
  bool transpose_b = false;
  float alpha = 1.0f;
  float beta = 1.0f;  // 1 accumulates onto c (the default), 0 overwrites it
};

// c = alpha op(a) op(b) + beta c, op() transposing where asked. Shapes must agree; c must not
// overlap a or b.
void gemm(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, GemmOptions how = {});

// Which kernel heed::gemm sends its BLAS-sized products to: "heed avx512 (OpenBLAS core X)"
// or "OpenBLAS X", X the core OpenBLAS chose (for benchmark reports).
std::string gemm_kernel_name();

}  // namespace heed
