#pragma once
// What heed's AVX-512 kernels share (core/lowp.cpp, core/gemm_avx512.cpp,
// layers/din_key_lanes.cpp): the target attribute, the unrolling their register arrays need,
// the CPU check, the mask of a row's last register, and Dice's evaluation gate.
#include <immintrin.h>

#include "core/tensor.h"

// Compiled for AVX-512F whatever the build's -march; run only where cpu_has_avx512f().
#define HEED_AVX512_TARGET __attribute__((target("avx512f")))
// Register loops unrolled before GCC decides where an accumulator array lives: left to its
// later unrolling, the array stays in memory and every multiply-add also stores its register
// (half the rate).
#define HEED_UNROLL _Pragma("GCC unroll 16")

namespace heed::avx512 {

inline constexpr Index kLanes = 16;  // floats per register

inline bool cpu_has_avx512f() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
}

// The lanes that hold one of the `left` values still to come: all 16, some, or none.
inline __mmask16 lanes_left(Index left) {
  return left >= kLanes ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
}

// Dice's evaluation gate on 16 floats at once, for the kernels that apply Dice (lowp.cpp's
// dice_eval over rows, the DIN unit's key-lane layers over units):
//   gate = 1 / (1 + 2^t),   t = (s - mean) a,   a = -inv_std log2(e)   (= sigmoid((s - mean) inv_std))
// 2^t = 2^k 2^f with k = round(t) and f = t - k in [-1/2, 1/2] (exact); 2^f = e^(f ln 2) by its
// Taylor polynomial to degree 7 (error below 5e-9), the reciprocal by its estimate and one
// Newton step: about 15 instructions and no division. t is capped at 126 so 2^t stays finite
// (the gate is then 0 to float precision); far below, 2^t underflows to 0 and the gate is 1.
// x = s - mean (subtracted first: exact where s is near the mean, so t keeps its digits there).
HEED_AVX512_TARGET inline __m512 dice_gate(__m512 x, __m512 a) {
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
