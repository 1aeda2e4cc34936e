#include "core/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "core/error.h"

namespace heed {
namespace {

// Row-major leading dimension. A one-row view may report any outer stride; BLAS only needs it
// to be at least the row's width.
blasint leading_dimension(const ConstMatrixView& m) {
  return static_cast<blasint>(m.rows() == 1 ? std::max<Index>(m.outerStride(), std::max<Index>(m.cols(), 1))
                                            : m.outerStride());
}

// A product with one row or one column is a matrix-vector product: sgemm would pack its
// operands for nothing, and Eigen's own matrix-vector kernel does it directly.
template <class A, class B>
void eigen_product(const A& a, const B& b, MatrixView c, const GemmOptions& how) {
  if (how.beta == 0.0f) {
    c.noalias() = how.alpha * (a * b);
  } else {
    if (how.beta != 1.0f) c *= how.beta;
    c.noalias() += how.alpha * (a * b);
  }
}

void vector_product(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, const GemmOptions& how) {
  if (how.transpose_a && how.transpose_b) eigen_product(a.transpose(), b.transpose(), c, how);
  else if (how.transpose_a) eigen_product(a.transpose(), b, c, how);
  else if (how.transpose_b) eigen_product(a, b.transpose(), c, how);
  else eigen_product(a, b, c, how);
}

void use_one_blas_thread() {
  // Once per process, before the first product: OpenBLAS would otherwise split every call over
  // all cores, underneath heed's own threads.
  static const bool done = (openblas_set_num_threads(1), true);
  (void)done;
}

}  // namespace

void gemm(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, GemmOptions how) {
  const Index m = how.transpose_a ? a.cols() : a.rows();
  const Index k = how.transpose_a ? a.rows() : a.cols();
  const Index kb = how.transpose_b ? b.cols() : b.rows();
  const Index n = how.transpose_b ? b.rows() : b.cols();
  HEED_CHECK(k == kb && c.rows() == m && c.cols() == n,
             "gemm: [{}, {}] x [{}, {}] does not make [{}, {}]", m, k, kb, n, c.rows(), c.cols());
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: only the scaling of c is left
    if (how.beta == 0.0f) c.setZero();
    else if (how.beta != 1.0f) c *= how.beta;
    return;
  }
  if (m == 1 || n == 1) return vector_product(a, b, c, how);
  use_one_blas_thread();
  cblas_sgemm(CblasRowMajor, how.transpose_a ? CblasTrans : CblasNoTrans,
              how.transpose_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), how.alpha, a.data(),
              leading_dimension(a), b.data(), leading_dimension(b), how.beta, c.data(),
              static_cast<blasint>(c.rows() == 1 ? std::max<Index>(c.outerStride(), n) : c.outerStride()));
}

}  // namespace heed
