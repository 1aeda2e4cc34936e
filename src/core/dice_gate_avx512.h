#pragma once
// Dice's evaluation gate on 16 floats at once, shared by the AVX-512 kernels that apply Dice
// (lowp.cpp's dice_eval over rows, the DIN unit's key-lane layers over units):
//   gate = 1 / (1 + 2^t),   t = (s - mean) a,   a = -inv_std log2(e)   (= sigmoid((s - mean) inv_std))
// 2^t = 2^k 2^f with k = round(t) and f = t - k in [-1/2, 1/2] (exact); 2^f = e^(f ln 2) by its
// Taylor polynomial to degree 7 (error below 5e-9), the reciprocal by its estimate and one
// Newton step: about 15 instructions and no division. t is capped at 126 so 2^t stays finite
// (the gate is then 0 to float precision); far below, 2^t underflows to 0 and the gate is 1.
#include <immintrin.h>

namespace heed::avx512 {

// x = s - mean (subtracted first: exact where s is near the mean, so t keeps its digits there).
__attribute__((target("avx512f"))) inline __m512 dice_gate(__m512 x, __m512 a) {
  constexpr float ln2 = 0.693147180559945309f;
  constexpr float c[] = {ln2 * ln2 * ln2 * ln2 * ln2 * ln2 * ln2 / 5040, ln2 * ln2 * ln2 * ln2 * ln2 * ln2 / 720,
                         ln2 * ln2 * ln2 * ln2 * ln2 / 120, ln2 * ln2 * ln2 * ln2 / 24, ln2 * ln2 * ln2 / 6,
                         ln2 * ln2 / 2, ln2, 1.0f};
  const __m512 t = _mm512_min_ps(_mm512_mul_ps(x, a), _mm512_set1_ps(126.0f));
  const __m512 k = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, k);
  __m512 e = _mm512_set1_ps(c[0]);
  for (int j = 1; j < 8; ++j) e = _mm512_fmadd_ps(e, f, _mm512_set1_ps(c[j]));
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_scalef_ps(e, k));
  const __m512 q = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(q, _mm512_fnmadd_ps(d, q, _mm512_set1_ps(2.0f)));
}

}  // namespace heed::avx512
