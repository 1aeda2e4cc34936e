#include "layers/din_key_lanes.h"

#include <immintrin.h>

#include "core/avx512.h"
#include "core/error.h"
#include "core/lowp.h"

// GCC 12 reports the undefined pass-through operand of unmasked AVX-512 intrinsics inlined into
// a target("avx512f") function as maybe uninitialized; nothing reads it.
#if !defined(__clang__)  // clang has no such warning, and would warn about the name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace heed::din_key_lanes {
namespace {

// Units f0 .. f0 + R by V registers of keys: the products accumulate in R x V registers, then
// the bias, the key terms and the activation are applied as each register is stored.
template <int R, int V>
HEED_AVX512_TARGET void block(const float* w, Index in, Index out, Index f0, const float* x, Index ldx,
                              const float* bias, const float* rows, Index ldr, const Activation& act, float* y,
                              Index ldy) {
  __m512 c[R][V];
  HEED_UNROLL for (int r = 0; r < R; ++r)
    HEED_UNROLL for (int v = 0; v < V; ++v) c[r][v] = _mm512_setzero_ps();
  const float* wg = w + f0;
  for (Index g = 0; g < in; ++g, wg += out) {
    const float* xg = x + g * ldx;
    __m512 xv[V];
    HEED_UNROLL for (int v = 0; v < V; ++v) xv[v] = _mm512_loadu_ps(xg + v * kLanes);
    HEED_UNROLL for (int r = 0; r < R; ++r) {
      const __m512 wr = _mm512_set1_ps(wg[r]);
      HEED_UNROLL for (int v = 0; v < V; ++v) c[r][v] = _mm512_fmadd_ps(wr, xv[v], c[r][v]);
    }
  }
  HEED_UNROLL for (int r = 0; r < R; ++r) {
    const Index f = f0 + r;
    const __m512 b = _mm512_set1_ps(bias ? bias[f] : 0.0f);
    HEED_UNROLL for (int v = 0; v < V; ++v) {
      __m512 s = _mm512_add_ps(c[r][v], b);
      if (rows) s = _mm512_add_ps(s, _mm512_loadu_ps(rows + f * ldr + v * kLanes));
      switch (act.kind) {
        case Activation::Kind::kDice: {
          const __m512 gate = avx512::dice_gate(_mm512_sub_ps(s, _mm512_set1_ps(act.mean[f])),
                                                _mm512_set1_ps(act.scale[f]));
          s = _mm512_mul_ps(s, _mm512_fmadd_ps(gate, _mm512_set1_ps(act.keep[f]), _mm512_set1_ps(act.alpha[f])));
          break;
        }
        case Activation::Kind::kPrelu: {
          const __mmask16 negative = _mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_NGT_UQ);
          s = _mm512_mask_mul_ps(s, negative, s, _mm512_set1_ps(act.alpha[f]));
          break;
        }
        case Activation::Kind::kNone:
          break;
      }
      _mm512_storeu_ps(y + f * ldy + v * kLanes, s);
    }
  }
}

using BlockFn = void (*)(const float*, Index, Index, Index, const float*, Index, const float*, const float*, Index,
                         const Activation&, float*, Index);

template <int V>
BlockFn block_for(Index units) {
  switch (units) {
    case 1: return block<1, V>;
    case 2: return block<2, V>;
    case 3: return block<3, V>;
    case 4: return block<4, V>;
    case 5: return block<5, V>;
    case 6: return block<6, V>;
    case 7: return block<7, V>;
    default: return block<8, V>;
  }
}

HEED_AVX512_TARGET void score_avx512(const float* w, Index in, float b, const float* x, Index ldx, Index vectors,
                                     float* score) {
  __m512 c[kChunk / kLanes];
  for (Index v = 0; v < vectors; ++v) c[v] = _mm512_set1_ps(b);
  for (Index g = 0; g < in; ++g) {
    const __m512 wg = _mm512_set1_ps(w[g]);
    for (Index v = 0; v < vectors; ++v) c[v] = _mm512_fmadd_ps(wg, _mm512_loadu_ps(x + g * ldx + v * kLanes), c[v]);
  }
  for (Index v = 0; v < vectors; ++v) _mm512_storeu_ps(score + v * kLanes, c[v]);
}

void check_keys(Index keys) {
  HEED_CHECK(keys > 0 && keys <= kChunk, "din key lanes: 1 to {} keys per pass, got {}", kChunk, keys);
  HEED_CHECK(lowp::elementwise_avx512(), "din key lanes: needs AVX-512F");
}

}  // namespace

void dense(const float* w, Index in, Index out, const float* x, Index ldx, const float* bias, const float* rows,
           Index ldr, const Activation& act, Index keys, float* y, Index ldy) {
  check_keys(keys);
  const Index vectors = padded(keys) / kLanes;
  for (Index f0 = 0; f0 < out; f0 += 8) {
    const Index units = std::min<Index>(8, out - f0);
    const BlockFn fn = vectors == 1 ? block_for<1>(units) : vectors == 2 ? block_for<2>(units) : block_for<3>(units);
    fn(w, in, out, f0, x, ldx, bias, rows, ldr, act, y, ldy);
  }
}

void score(const float* w, Index in, float b, const float* x, Index ldx, Index keys, float* score) {
  check_keys(keys);
  score_avx512(w, in, b, x, ldx, padded(keys) / kLanes, score);
}

}  // namespace heed::din_key_lanes
