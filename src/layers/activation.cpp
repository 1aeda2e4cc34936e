#include "layers/activation.h"

#include <immintrin.h>

#include <cmath>

#include "core/avx512.h"
#include "core/error.h"
#include "core/lowp.h"

// GCC 12 reports the undefined pass-through operand of unmasked AVX-512 intrinsics inlined into
// a target("avx512f") function as maybe uninitialized; nothing reads it.
#if !defined(__clang__)  // clang has no such warning, and would warn about the name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace heed {
namespace {

using avx512::kLanes;

// PReLU on raw rows (DIN's unit runs it over every key of a batch, so it is worth a kernel):
//   forward:  a = z > 0 ? z : alpha z
//   backward: dz = z > 0 ? da : alpha da, and where z is not above 0 (NaN included)
//             dalpha += da z, one fused multiply-add per row in row order.
// The AVX-512 kernels below give the same bits as these portable loops.
struct PreluRows {
  const float* z;
  Index ldz;
  Index rows, width;
  const float* alpha;
};

void prelu_forward_portable(const PreluRows& p, float* a, Index lda) {
  for (Index r = 0; r < p.rows; ++r) {
    const float* z = p.z + r * p.ldz;
    float* out = a + r * lda;
    for (Index c = 0; c < p.width; ++c) out[c] = z[c] > 0 ? z[c] : p.alpha[c] * z[c];
  }
}

void prelu_backward_portable(const PreluRows& p, const float* da, Index ldda, float* dz, Index lddz,
                             float* dalpha) {
  for (Index r = 0; r < p.rows; ++r) {
    const float* z = p.z + r * p.ldz;
    const float* d = da + r * ldda;
    for (Index c = 0; c < p.width; ++c) {
      const bool positive = z[c] > 0;
      if (dz) dz[r * lddz + c] = positive ? d[c] : p.alpha[c] * d[c];
      if (!positive) dalpha[c] = std::fma(d[c], z[c], dalpha[c]);
    }
  }
}

// Row after row (the rows are contiguous: a column-wise walk would reload each cache line once
// per register of it).
HEED_AVX512_TARGET void prelu_forward_avx512(const PreluRows& p, float* a, Index lda) {
  const __m512 zero = _mm512_setzero_ps();
  for (Index r = 0; r < p.rows; ++r) {
    const float* z_row = p.z + r * p.ldz;
    float* a_row = a + r * lda;
    for (Index c = 0; c < p.width; c += kLanes) {
      const __mmask16 lanes = avx512::lanes_left(p.width - c);
      const __m512 z = _mm512_maskz_loadu_ps(lanes, z_row + c);
      const __mmask16 positive = _mm512_cmp_ps_mask(z, zero, _CMP_GT_OQ);
      const __m512 alpha = _mm512_maskz_loadu_ps(lanes, p.alpha + c);
      _mm512_mask_storeu_ps(a_row + c, lanes, _mm512_mask_blend_ps(positive, _mm512_mul_ps(alpha, z), z));
    }
  }
}

// A panel of V registers of columns (whole rows up to 128 columns) over every row, row after
// row, alpha's gradient summed in registers.
template <int V>
HEED_AVX512_TARGET void prelu_backward_panel(const PreluRows& p, Index c0, const float* da, Index ldda, float* dz,
                                             Index lddz, float* dalpha) {
  const __m512 zero = _mm512_setzero_ps();
  __mmask16 lanes[V];
  __m512 alpha[V], sum[V];
  HEED_UNROLL for (int v = 0; v < V; ++v) {
    lanes[v] = avx512::lanes_left(p.width - (c0 + v * kLanes));
    alpha[v] = _mm512_maskz_loadu_ps(lanes[v], p.alpha + c0 + v * kLanes);
    sum[v] = _mm512_maskz_loadu_ps(lanes[v], dalpha + c0 + v * kLanes);
  }
  for (Index r = 0; r < p.rows; ++r) {
    const float* z_row = p.z + r * p.ldz + c0;
    const float* d_row = da + r * ldda + c0;
    HEED_UNROLL for (int v = 0; v < V; ++v) {
      const __m512 z = _mm512_maskz_loadu_ps(lanes[v], z_row + v * kLanes);
      const __m512 d = _mm512_maskz_loadu_ps(lanes[v], d_row + v * kLanes);
      const __mmask16 positive = _mm512_cmp_ps_mask(z, zero, _CMP_GT_OQ);
      if (dz)
        _mm512_mask_storeu_ps(dz + r * lddz + c0 + v * kLanes, lanes[v],
                              _mm512_mask_blend_ps(positive, _mm512_mul_ps(alpha[v], d), d));
      sum[v] = _mm512_mask3_fmadd_ps(d, z, sum[v], static_cast<__mmask16>(~positive));
    }
  }
  // (The lanes past the width read zeros, so their sums stay zero; they are not stored.)
  HEED_UNROLL for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(dalpha + c0 + v * kLanes, lanes[v], sum[v]);
}

HEED_AVX512_TARGET void prelu_backward_avx512(const PreluRows& p, const float* da, Index ldda, float* dz, Index lddz,
                                              float* dalpha) {
  constexpr Index kPanel = 8 * kLanes;
  for (Index c0 = 0; c0 < p.width; c0 += kPanel) {
    switch ((std::min(kPanel, p.width - c0) + kLanes - 1) / kLanes) {
      case 1: prelu_backward_panel<1>(p, c0, da, ldda, dz, lddz, dalpha); break;
      case 2: prelu_backward_panel<2>(p, c0, da, ldda, dz, lddz, dalpha); break;
      case 3: prelu_backward_panel<3>(p, c0, da, ldda, dz, lddz, dalpha); break;
      case 4: prelu_backward_panel<4>(p, c0, da, ldda, dz, lddz, dalpha); break;
      case 5: prelu_backward_panel<5>(p, c0, da, ldda, dz, lddz, dalpha); break;
      case 6: prelu_backward_panel<6>(p, c0, da, ldda, dz, lddz, dalpha); break;
      case 7: prelu_backward_panel<7>(p, c0, da, ldda, dz, lddz, dalpha); break;
      default: prelu_backward_panel<8>(p, c0, da, ldda, dz, lddz, dalpha); break;
    }
  }
}

}  // namespace

Activation::Activation(ParamSet& params, const std::string& name, ActivationKind kind, Index width) : kind_(kind) {
  if (kind_ == ActivationKind::kPrelu) {
    alpha_ = params.add(name + ".alpha", 1, width);
    params[alpha_].setConstant(0.25f);
  }
}

void Activation::forward(const ParamSet& params, const ConstMatrixView& z_all, Index rows, MatrixView a_all,
                         Cache& /*cache*/, Pass /*pass*/) const {
  const auto z = z_all.topRows(rows);
  auto a = a_all.topRows(rows);
  if (kind_ == ActivationKind::kRelu) {
    a = z.cwiseMax(0.0f);
    return;
  }
  const PreluRows p{z.data(), z.outerStride(), rows, z.cols(), params[alpha_].data()};
  if (lowp::elementwise_avx512())
    prelu_forward_avx512(p, a.data(), a.outerStride());
  else
    prelu_forward_portable(p, a.data(), a.outerStride());
}

void Activation::backward(const ParamSet& params, const ConstMatrixView& z_all, Index rows,
                          const ConstMatrixView& da_all, MatrixView* dz_all, Cache& /*cache*/,
                          Gradients& grads) const {
  const auto z = z_all.topRows(rows);
  const auto da = da_all.topRows(rows);
  if (kind_ == ActivationKind::kRelu) {
    if (dz_all) dz_all->topRows(rows) = (z.array() > 0.0f).select(da, 0.0f);
    return;
  }
  const PreluRows p{z.data(), z.outerStride(), rows, z.cols(), params[alpha_].data()};
  float* dz = dz_all ? dz_all->data() : nullptr;
  const Index lddz = dz_all ? dz_all->outerStride() : 0;
  float* dalpha = grads[alpha_].data();
  if (lowp::elementwise_avx512())
    prelu_backward_avx512(p, da.data(), da.outerStride(), dz, lddz, dalpha);
  else
    prelu_backward_portable(p, da.data(), da.outerStride(), dz, lddz, dalpha);
}

}  // namespace heed
