#pragma once
// Matrix products, on OpenBLAS's sgemm where it is the faster kernel. The products of training
// and scoring (the MLP's layers, DIN's activation unit) spend most of heed's time; on the MLP's
// shapes OpenBLAS's hand-written kernels run 1.4-1.8x Eigen's on the same core, while tall,
// narrow and vector shapes stay on Eigen (bench/gemm_bench.cpp, docs/performance.md). heed
// threads its own work, so OpenBLAS is kept to one thread per call: results stay deterministic
// for a seed and a thread count, and two threads never fight over the cores.
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

}  // namespace heed
