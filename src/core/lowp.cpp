#include "core/lowp.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/avx512.h"
#include "core/error.h"

// GCC 12 reports the deliberately undefined pass-through operand (_mm512_undefined_ps) of
// unmasked AVX-512 intrinsics inlined into a target("avx512...") function as maybe
// uninitialized (without -march: uninitialized); the mask is all ones, so nothing reads it.
#if !defined(__clang__)  // clang has no such warning, and would warn about the name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace heed::lowp {
namespace {

// The AVX-512 kernels are compiled for these units whatever the build's -march, and only run
// where the CPU reports them.
#define HEED_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define HEED_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

bool cpu_has_bf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}
bool cpu_has_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
bool env_forces_portable() {
  const char* v = std::getenv("HEED_LOWP_ISA");
  if (!v || !*v) return false;
  HEED_CHECK(std::string_view(v) == "portable" || std::string_view(v) == "native",
             "HEED_LOWP_ISA must be 'portable' or 'native', got '{}'", v);
  return std::string_view(v) == "portable";
}
std::atomic<int> forced{-1};  // -1: the CPU decides; 1: portable

using avx512::kLanes;
using avx512::lanes_left;

Index round_up(Index v, Index to) { return (v + to - 1) / to * to; }

// Per-thread scratch for the converted rows of x: grows to the largest call, never shrinks.
thread_local std::vector<std::uint32_t> x_packed;
thread_local std::vector<float> x_scale;
thread_local std::uint64_t counted_multiply_adds = 0;

// ---- bf16 ----

// to_bf16 on the float's bits, branch-free so that the conversion loops vectorize.
inline std::uint16_t bf16_bits(std::uint32_t u) {
  const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const std::uint32_t nan = (u >> 16) | 0x40u;  // a NaN stays a (quiet) NaN
  return static_cast<std::uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

// to_bf16 on a float, inlined into the portable pairing loop (pair_rows_bf16).
inline std::uint16_t round_bf16(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return bf16_bits(u);
}

// bf16_bits on 16 floats' bits at once (the same integer steps, so the same bits).
HEED_AVX512_TARGET inline __m512i bf16_bits_avx512(__m512i u) {
  const __m512i low_bit = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i bias = _mm512_add_epi32(low_bit, _mm512_set1_epi32(0x7fff));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
  const __m512i nan = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  const __mmask16 is_nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(rounded, is_nan, nan);
}

// The 16 floats from `from` that are among the `left` still to come, as bf16 bits in 32-bit
// lanes (0 past the end: bf16 zero).
HEED_AVX512_TARGET inline __m512i load_bf16_bits(const float* from, Index left) {
  return bf16_bits_avx512(_mm512_castps_si512(_mm512_maskz_loadu_ps(lanes_left(left), from)));
}

// x [M, K] -> out [M][P] pairs of bf16 (element 2p in the low half: little-endian, so a row
// is its K bf16 values in order), K padded with a zero.
HEED_AVX512_TARGET void convert_rows_bf16_avx512(const ConstMatrixView& x, Index P, std::uint32_t* out) {
  const Index M = x.rows(), K = x.cols();
  for (Index i = 0; i < M; ++i) {
    const float* row = x.row(i).data();
    auto* values = reinterpret_cast<std::uint16_t*>(out + i * P);
    for (Index k = 0; k < 2 * P; k += kLanes)
      _mm512_mask_cvtepi32_storeu_epi16(values + k, lanes_left(2 * P - k), load_bf16_bits(row + k, K - k));
  }
}
void convert_rows_bf16(const ConstMatrixView& x, Index P, std::uint32_t* out) {
  if (elementwise_avx512()) return convert_rows_bf16_avx512(x, P, out);
  const Index M = x.rows(), K = x.cols();
  for (Index i = 0; i < M; ++i) {
    const auto* row = reinterpret_cast<const std::uint32_t*>(x.row(i).data());
    auto* values = reinterpret_cast<std::uint16_t*>(out + i * P);
    for (Index k = 0; k < K; ++k) values[k] = bf16_bits(row[k]);
    if (K % 2) values[K] = 0;
  }
}

// Rows 2p and 2p + 1 of x [M, K] side by side in bf16: the 32-bit word out[p * ld + k] holds
// x(2p, k) in its low half and x(2p + 1, k) in its high half (0 past the last row), columns K
// to ld - 1 zero. The layout of a packed weight's pairs, and of the weight gradient's left
// operand (its rows are x's columns, its pairs run down x's rows): both are written row after
// row of x, never one value per cache line.
HEED_AVX512_TARGET void pair_rows_bf16_avx512(const ConstMatrixView& x, Index ld, std::uint32_t* out) {
  const Index M = x.rows(), K = x.cols();
  for (Index p = 0; p < (M + 1) / 2; ++p, out += ld) {
    const float* even = x.row(2 * p).data();
    const float* odd = 2 * p + 1 < M ? x.row(2 * p + 1).data() : nullptr;
    for (Index k = 0; k < ld; k += kLanes) {
      const __m512i low = load_bf16_bits(even + k, K - k);
      const __m512i high = odd ? load_bf16_bits(odd + k, K - k) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(out + k, lanes_left(ld - k), _mm512_or_si512(low, _mm512_slli_epi32(high, 16)));
    }
  }
}
void pair_rows_bf16(const ConstMatrixView& x, Index ld, std::uint32_t* out) {
  if (elementwise_avx512()) return pair_rows_bf16_avx512(x, ld, out);
  const Index M = x.rows(), K = x.cols();
  for (Index p = 0; p < (M + 1) / 2; ++p, out += ld) {
    const float* even = x.row(2 * p).data();
    const float* odd = 2 * p + 1 < M ? x.row(2 * p + 1).data() : nullptr;
    for (Index k = 0; k < ld; ++k) {
      const std::uint32_t low = k < K ? round_bf16(even[k]) : 0, high = k < K && odd ? round_bf16(odd[k]) : 0;
      const std::uint32_t pair = low | high << 16;
      std::memcpy(out + k, &pair, sizeof pair);  // `out` may be a packed weight's 16-bit halves
    }
  }
}

// Where the bf16 kernels find row i's pair p of x_packed: x_packed[i * row + p * pair]. A
// product's rows hold their pairs side by side ({P, 1}, convert_rows_bf16); the weight
// gradient's rows are columns of pair_rows_bf16's layout ({1, K}).
struct PairLayout {
  Index row, pair;
};

// One fp32 lane of vdpbf16ps: the odd element's product first, each a single rounding (the
// products of two bf16 values are exact in fp32, so a fused multiply-add is that step).
void bf16_portable(Index M, Index P, PairLayout at, const PackedWeight& w, MatrixView y, bool accumulate) {
  const Index N = w.n, NP = w.n_padded;
  std::vector<float> acc(static_cast<std::size_t>(NP));
  for (Index i = 0; i < M; ++i) {
    for (Index n = 0; n < NP; ++n) acc[static_cast<std::size_t>(n)] = accumulate && n < N ? y(i, n) : 0.0f;
    const std::uint32_t* a = x_packed.data() + i * at.row;
    for (Index p = 0; p < P; ++p) {
      const std::uint32_t pair = a[p * at.pair];
      const float a0 = from_bf16(static_cast<std::uint16_t>(pair & 0xffff));
      const float a1 = from_bf16(static_cast<std::uint16_t>(pair >> 16));
      const std::uint16_t* b = w.bf16.data() + p * NP * 2;
      for (Index n = 0; n < NP; ++n) {
        float c = acc[static_cast<std::size_t>(n)];
        c = std::fma(a1, from_bf16(b[2 * n + 1]), c);
        c = std::fma(a0, from_bf16(b[2 * n]), c);
        acc[static_cast<std::size_t>(n)] = c;
      }
    }
    for (Index n = 0; n < N; ++n) y(i, n) = acc[static_cast<std::size_t>(n)];
  }
}

// The lanes of the V vectors of columns from n0 that hold one of the n columns (the last block's
// tail is partial, a block past the end empty).
template <int V>
void column_masks(Index n, Index n0, __mmask16 (&mask)[V]) {
  for (int v = 0; v < V; ++v) {
    const Index left = n - (n0 + v * kLanes);
    mask[v] = lanes_left(left);
  }
}

template <int R, int V>
HEED_BF16_TARGET void bf16_block(const std::uint32_t* a, Index P, PairLayout at, const PackedWeight& w, Index n0,
                                 float* y, Index ldy, bool accumulate) {
  const Index NP = w.n_padded;
  __mmask16 mask[V];
  column_masks<V>(w.n, n0, mask);
  __m512 c[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      c[r][v] = accumulate ? _mm512_maskz_loadu_ps(mask[v], y + r * ldy + n0 + v * kLanes) : _mm512_setzero_ps();
  const std::uint16_t* b = w.bf16.data() + n0 * 2;
  for (Index p = 0; p < P; ++p, b += NP * 2) {
    __m512bh wv[V];
    for (int v = 0; v < V; ++v) wv[v] = (__m512bh)_mm512_loadu_si512(b + v * kLanes * 2);
    for (int r = 0; r < R; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r * at.row + p * at.pair]));
      for (int v = 0; v < V; ++v) c[r][v] = _mm512_dpbf16_ps(c[r][v], av, wv[v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(y + r * ldy + n0 + v * kLanes, mask[v], c[r][v]);
}

// Rows in blocks of 4, columns in blocks of 4 vectors (16 accumulators); a row's lanes see the
// same instructions in the same order whatever block it falls in.
template <class Block>
void for_blocks(Index M, Index NP, Block block) {
  for (Index n0 = 0; n0 < NP; n0 += 4 * kLanes) {
    const Index vectors = std::min<Index>(4, (NP - n0) / kLanes);
    Index i = 0;
    for (; i + 4 <= M; i += 4) block(i, n0, 4, vectors);
    for (; i < M; ++i) block(i, n0, 1, vectors);
  }
}

template <int R>
HEED_BF16_TARGET void bf16_dispatch_v(const std::uint32_t* a, Index P, PairLayout at, const PackedWeight& w, Index n0,
                                      float* y, Index ldy, bool accumulate, Index vectors) {
  switch (vectors) {
    case 1: bf16_block<R, 1>(a, P, at, w, n0, y, ldy, accumulate); break;
    case 2: bf16_block<R, 2>(a, P, at, w, n0, y, ldy, accumulate); break;
    case 3: bf16_block<R, 3>(a, P, at, w, n0, y, ldy, accumulate); break;
    default: bf16_block<R, 4>(a, P, at, w, n0, y, ldy, accumulate); break;
  }
}

HEED_BF16_TARGET void bf16_avx512(Index M, Index P, PairLayout at, const PackedWeight& w, MatrixView y,
                                  bool accumulate) {
  float* out = y.data();
  const Index ldy = y.outerStride();
  for_blocks(M, w.n_padded, [&](Index i, Index n0, Index rows, Index vectors) {
    const std::uint32_t* a = x_packed.data() + i * at.row;
    if (rows == 4) {
      bf16_dispatch_v<4>(a, P, at, w, n0, out + i * ldy, ldy, accumulate, vectors);
    } else {
      bf16_dispatch_v<1>(a, P, at, w, n0, out + i * ldy, ldy, accumulate, vectors);
    }
  });
}

// ---- int8 ----

// Each row of x [M, K] -> [M][Q] groups of four u8 (q + 128, q = round(x / scale) in
// [-127, 127]), and its scale max|x| / 127 (0 for a zero row). Rounding to nearest even by
// the 1.5 * 2^23 shift (|x / scale| <= 127.5), so that the loop vectorizes.
void quantize_rows(const ConstMatrixView& x, Index Q) {
  const Index M = x.rows(), K = x.cols();
  x_packed.resize(static_cast<std::size_t>(M * Q));
  x_scale.resize(static_cast<std::size_t>(M));
  for (Index i = 0; i < M; ++i) {
    const float* row = x.row(i).data();
    // max |x| on the bits (their order is the values' for non-negative floats), so that the
    // loop vectorizes; NaN's bits are above infinity's.
    const auto* bits = reinterpret_cast<const std::uint32_t*>(row);
    std::uint32_t top_bits = 0;
    for (Index k = 0; k < K; ++k) top_bits = std::max(top_bits, bits[k] & 0x7fffffffu);
    float top;
    std::memcpy(&top, &top_bits, sizeof top);
    auto* out = reinterpret_cast<std::uint8_t*>(x_packed.data() + i * Q);
    if (!(top > 0.0f) || !std::isfinite(top)) {  // zero (or NaN/inf: scored as zero input)
      std::memset(out, 128, static_cast<std::size_t>(Q * 4));
      x_scale[static_cast<std::size_t>(i)] = 0.0f;
      continue;
    }
    const float inverse = 127.0f / top;
    for (Index k = 0; k < K; ++k) {
      const float r = (row[k] * inverse + 12582912.0f) - 12582912.0f;
      out[k] = static_cast<std::uint8_t>(static_cast<int>(std::clamp(r, -127.0f, 127.0f)) + 128);
    }
    for (Index k = K; k < Q * 4; ++k) out[k] = 128;
    x_scale[static_cast<std::size_t>(i)] = top / 127.0f;
  }
}

// What both int8 kernels do with a lane's exact sum.
inline float int8_finish(std::int32_t sum, float x_scale_value, float w_scale, float prior, bool accumulate) {
  const float s = x_scale_value * w_scale;
  return accumulate ? std::fma(static_cast<float>(sum), s, prior) : static_cast<float>(sum) * s;
}

void int8_portable(Index M, Index Q, const PackedWeight& w, MatrixView y, bool accumulate) {
  const Index N = w.n, NP = w.n_padded;
  std::vector<std::int32_t> acc(static_cast<std::size_t>(NP));
  for (Index i = 0; i < M; ++i) {
    std::fill(acc.begin(), acc.end(), 0);
    const auto* a = reinterpret_cast<const std::uint8_t*>(x_packed.data() + i * Q);
    for (Index q = 0; q < Q; ++q) {
      const std::int8_t* b = w.int8.data() + q * NP * 4;
      for (Index n = 0; n < NP; ++n) {
        std::int32_t s = 0;
        for (int t = 0; t < 4; ++t) s += std::int32_t{a[q * 4 + t]} * std::int32_t{b[n * 4 + t]};
        acc[static_cast<std::size_t>(n)] += s;
      }
    }
    for (Index n = 0; n < N; ++n)
      y(i, n) = int8_finish(acc[static_cast<std::size_t>(n)] - w.offset[static_cast<std::size_t>(n)],
                            x_scale[static_cast<std::size_t>(i)], w.scale[static_cast<std::size_t>(n)], y(i, n),
                            accumulate);
  }
}

template <int R, int V>
HEED_VNNI_TARGET void int8_block(const std::uint32_t* a, const float* a_scale, Index Q, const PackedWeight& w,
                                 Index n0, float* y, Index ldy, bool accumulate) {
  const Index NP = w.n_padded;
  __mmask16 mask[V];
  column_masks<V>(w.n, n0, mask);
  __m512i c[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) c[r][v] = _mm512_setzero_si512();
  const std::int8_t* b = w.int8.data() + n0 * 4;
  for (Index q = 0; q < Q; ++q, b += NP * 4) {
    __m512i wv[V];
    for (int v = 0; v < V; ++v) wv[v] = _mm512_loadu_si512(b + v * kLanes * 4);
    for (int r = 0; r < R; ++r) {
      const __m512i av = _mm512_set1_epi32(static_cast<int>(a[r * Q + q]));
      for (int v = 0; v < V; ++v) c[r][v] = _mm512_dpbusd_epi32(c[r][v], av, wv[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    const __m512i offset = _mm512_loadu_si512(w.offset.data() + n0 + v * kLanes);
    const __m512 w_scale = _mm512_loadu_ps(w.scale.data() + n0 + v * kLanes);
    for (int r = 0; r < R; ++r) {
      const __m512 sum = _mm512_cvtepi32_ps(_mm512_sub_epi32(c[r][v], offset));
      const __m512 s = _mm512_mul_ps(_mm512_set1_ps(a_scale[r]), w_scale);
      float* out = y + r * ldy + n0 + v * kLanes;
      const __m512 result = accumulate ? _mm512_fmadd_ps(sum, s, _mm512_maskz_loadu_ps(mask[v], out))
                                       : _mm512_mul_ps(sum, s);
      _mm512_mask_storeu_ps(out, mask[v], result);
    }
  }
}

template <int R>
HEED_VNNI_TARGET void int8_dispatch_v(const std::uint32_t* a, const float* a_scale, Index Q, const PackedWeight& w,
                                      Index n0, float* y, Index ldy, bool accumulate, Index vectors) {
  switch (vectors) {
    case 1: int8_block<R, 1>(a, a_scale, Q, w, n0, y, ldy, accumulate); break;
    case 2: int8_block<R, 2>(a, a_scale, Q, w, n0, y, ldy, accumulate); break;
    case 3: int8_block<R, 3>(a, a_scale, Q, w, n0, y, ldy, accumulate); break;
    default: int8_block<R, 4>(a, a_scale, Q, w, n0, y, ldy, accumulate); break;
  }
}

HEED_VNNI_TARGET void int8_avx512(Index M, Index Q, const PackedWeight& w, MatrixView y, bool accumulate) {
  float* out = y.data();
  const Index ldy = y.outerStride();
  for_blocks(M, w.n_padded, [&](Index i, Index n0, Index rows, Index vectors) {
    const std::uint32_t* a = x_packed.data() + i * Q;
    const float* s = x_scale.data() + i;
    if (rows == 4) {
      int8_dispatch_v<4>(a, s, Q, w, n0, out + i * ldy, ldy, accumulate, vectors);
    } else {
      int8_dispatch_v<1>(a, s, Q, w, n0, out + i * ldy, ldy, accumulate, vectors);
    }
  });
}

// ---- sigmoid ----

// exp(-x) = 2^k e^r with k = round(-x / ln 2) and r = -x - k ln 2 (ln 2 in two parts, so r
// keeps its digits), e^r by its Taylor polynomial to degree 7 (|r| <= ln 2 / 2: error 5e-9),
// then 1 / (1 + exp(-x)) by the reciprocal estimate and one Newton step.
HEED_AVX512_TARGET void sigmoid_avx512(const float* in, float* out, Index n) {
  const __m512 lo = _mm512_set1_ps(-87.0f), hi = _mm512_set1_ps(87.0f);
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
  const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
  const float taylor[] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
  for (Index i = 0; i < n; i += kLanes) {
    const __mmask16 m = lanes_left(n - i);
    __m512 z = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_maskz_loadu_ps(m, in + i));  // -x
    z = _mm512_min_ps(_mm512_max_ps(z, lo), hi);
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(z, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, ln2_hi, z);
    r = _mm512_fnmadd_ps(k, ln2_lo, r);
    __m512 p = _mm512_set1_ps(taylor[0]);
    for (int c = 1; c < 8; ++c) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(taylor[c]));
    const __m512 d = _mm512_add_ps(one, _mm512_scalef_ps(p, k));
    __m512 q = _mm512_rcp14_ps(d);
    q = _mm512_mul_ps(q, _mm512_fnmadd_ps(d, q, two));
    _mm512_mask_storeu_ps(out + i, m, q);
  }
}

// Dice's evaluation, fused: the gate (core/avx512.h) from t = (s - mean) a, then
// y = s (alpha + keep gate), one pass per row.
HEED_AVX512_TARGET void dice_avx512(const ConstMatrixView& s, MatrixView y, MatrixView* p, const float* mean,
                                    const float* a, const float* keep, const float* alpha) {
  const Index D = s.cols();
  for (Index r = 0; r < s.rows(); ++r) {
    const float* in = s.row(r).data();
    float* out = y.row(r).data();
    float* gate = p ? p->row(r).data() : nullptr;
    for (Index i = 0; i < D; i += kLanes) {
      const __mmask16 m = lanes_left(D - i);
      const __m512 v = _mm512_maskz_loadu_ps(m, in + i);
      const __m512 q = avx512::dice_gate(_mm512_sub_ps(v, _mm512_maskz_loadu_ps(m, mean + i)),
                                         _mm512_maskz_loadu_ps(m, a + i));
      if (gate) _mm512_mask_storeu_ps(gate + i, m, q);
      const __m512 w = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(m, keep + i), _mm512_maskz_loadu_ps(m, alpha + i));
      _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(v, w));
    }
  }
}

}  // namespace

std::uint16_t to_bf16(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return bf16_bits(u);
}

float from_bf16(std::uint16_t v) {
  const std::uint32_t u = std::uint32_t{v} << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

Isa isa_for(Precision precision) {
  static const bool env_portable = env_forces_portable();
  static const bool bf16 = cpu_has_bf16(), vnni = cpu_has_vnni();
  if (env_portable || forced.load(std::memory_order_relaxed) == 1) return Isa::kPortable;
  switch (precision) {
    case Precision::kBf16: return bf16 ? Isa::kAvx512 : Isa::kPortable;
    case Precision::kInt8: return vnni ? Isa::kAvx512 : Isa::kPortable;
    default: return Isa::kPortable;
  }
}

void force_portable(bool portable) { forced.store(portable ? 1 : -1, std::memory_order_relaxed); }

const char* isa_name(Precision precision) {
  if (isa_for(precision) == Isa::kPortable) return "portable";
  return precision == Precision::kInt8 ? "avx512-vnni" : "avx512-bf16";
}

PackedWeight pack(const ConstMatrixView& w, Precision precision) {
  HEED_CHECK(precision != Precision::kFp32, "lowp::pack: fp32 weights are not packed");
  PackedWeight p;
  p.precision = precision;
  p.k = w.rows();
  p.n = w.cols();
  p.n_padded = round_up(std::max<Index>(p.n, 1), kLanes);
  const Index K = p.k, N = p.n, NP = p.n_padded;
  if (precision == Precision::kBf16) {
    pack_bf16(w, p);
    return p;
  }
  const Index Q = (K + 3) / 4;
  p.int8.assign(static_cast<std::size_t>(Q * NP * 4), 0);
  p.scale.assign(static_cast<std::size_t>(NP), 0.0f);
  p.offset.assign(static_cast<std::size_t>(NP), 0);
  for (Index n = 0; n < N; ++n) {
    float top = 0.0f;
    for (Index k = 0; k < K; ++k) top = std::max(top, std::abs(w(k, n)));
    if (!(top > 0.0f)) continue;
    const float inverse = 127.0f / top;
    std::int32_t sum = 0;
    for (Index k = 0; k < K; ++k) {
      const auto q = static_cast<std::int8_t>(std::clamp<long>(std::lrint(w(k, n) * inverse), -127, 127));
      p.int8[static_cast<std::size_t>(((k / 4) * NP + n) * 4 + k % 4)] = q;
      sum += q;
    }
    p.scale[static_cast<std::size_t>(n)] = top / 127.0f;
    p.offset[static_cast<std::size_t>(n)] = 128 * sum;
  }
  return p;
}

void multiply(const ConstMatrixView& x, const PackedWeight& w, MatrixView y, bool accumulate) {
  HEED_CHECK(x.cols() == w.k && y.cols() == w.n && y.rows() == x.rows(),
             "lowp::multiply: [{}, {}] x [{}, {}] into [{}, {}]", x.rows(), x.cols(), w.k, w.n, y.rows(), y.cols());
  const Index M = x.rows();
  if (M == 0) return;
  counted_multiply_adds += static_cast<std::uint64_t>(M * w.k * w.n);
  const bool native = isa_for(w.precision) == Isa::kAvx512;
  if (w.precision == Precision::kBf16) {
    const Index P = (w.k + 1) / 2;
    x_packed.resize(static_cast<std::size_t>(M * P));
    convert_rows_bf16(x, P, x_packed.data());
    if (native) {
      bf16_avx512(M, P, {P, 1}, w, y, accumulate);
    } else {
      bf16_portable(M, P, {P, 1}, w, y, accumulate);
    }
    return;
  }
  HEED_CHECK(w.precision == Precision::kInt8, "lowp::multiply: weights not packed");
  const Index Q = (w.k + 3) / 4;
  quantize_rows(x, Q);
  if (native) {
    int8_avx512(M, Q, w, y, accumulate);
  } else {
    int8_portable(M, Q, w, y, accumulate);
  }
}

void pack_bf16(const ConstMatrixView& w, PackedWeight& into) {
  const Index K = w.rows(), N = w.cols(), NP = round_up(std::max<Index>(N, 1), kLanes), P = (K + 1) / 2;
  into.precision = Precision::kBf16;
  into.k = K;
  into.n = N;
  into.n_padded = NP;
  into.bf16.resize(static_cast<std::size_t>(P * NP * 2));
  pair_rows_bf16(w, NP, reinterpret_cast<std::uint32_t*>(into.bf16.data()));
}

void pack_transposed_bf16(const ConstMatrixView& w, PackedWeight& into) {
  // W^T [N, K]: pair q holds W^T's rows 2q and 2q + 1, i.e. W's columns 2q and 2q + 1: the
  // pairs of W's rows side by side (convert_rows_bf16), transposed.
  const Index K = w.rows(), N = w.cols(), KP = round_up(std::max<Index>(K, 1), kLanes), P = (N + 1) / 2;
  into.precision = Precision::kBf16;
  into.k = N;
  into.n = K;
  into.n_padded = KP;
  into.bf16.resize(static_cast<std::size_t>(P * KP * 2));
  for (Index q = 0; q < P; ++q)  // the padding past W's K rows; the transpose writes the rest
    std::fill(into.bf16.data() + (q * KP + K) * 2, into.bf16.data() + (q * KP + KP) * 2, std::uint16_t{0});
  thread_local std::vector<std::uint32_t> rows;  // [K][P]
  rows.resize(static_cast<std::size_t>(K * P));
  convert_rows_bf16(w, P, rows.data());
  // In tiles, so that both sides of the transpose stay in cache.
  constexpr Index kTile = 32;
  std::uint16_t* out = into.bf16.data();
  for (Index k0 = 0; k0 < K; k0 += kTile)
    for (Index q0 = 0; q0 < P; q0 += kTile)
      for (Index q = q0; q < std::min(P, q0 + kTile); ++q)
        for (Index k = k0; k < std::min(K, k0 + kTile); ++k)
          std::memcpy(out + (q * KP + k) * 2, &rows[static_cast<std::size_t>(k * P + q)], sizeof(std::uint32_t));
}

void multiply_transposed_a_bf16(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, bool accumulate) {
  HEED_CHECK(a.rows() == b.rows() && c.rows() == a.cols() && c.cols() == b.cols(),
             "lowp::multiply_transposed_a: [{}, {}]^T x [{}, {}] into [{}, {}]", a.rows(), a.cols(), b.rows(),
             b.cols(), c.rows(), c.cols());
  const Index M = a.rows(), K = a.cols();
  if (K == 0 || b.cols() == 0) return;
  if (M == 0) {
    if (!accumulate) c.setZero();
    return;
  }
  counted_multiply_adds += static_cast<std::uint64_t>(M * K * b.cols());
  // b is the "weight" here (pairs of its rows along M), a^T the rows: pair p of row k is a's
  // column k at rows 2p and 2p + 1, in the same layout (a's rows paired, then read down).
  thread_local PackedWeight b_packed;
  pack_bf16(b, b_packed);
  const Index P = (M + 1) / 2;
  x_packed.resize(static_cast<std::size_t>(P * K));
  pair_rows_bf16(a, K, x_packed.data());
  if (isa_for(Precision::kBf16) == Isa::kAvx512) {
    bf16_avx512(K, P, {1, K}, b_packed, c, accumulate);
  } else {
    bf16_portable(K, P, {1, K}, b_packed, c, accumulate);
  }
}

std::uint64_t multiply_adds() { return counted_multiply_adds; }

bool elementwise_avx512() {
  static const bool env_portable = env_forces_portable();
  return avx512::cpu_has_avx512f() && !env_portable && forced.load(std::memory_order_relaxed) != 1;
}

void sigmoid(const float* in, float* out, Index n) {
  if (elementwise_avx512()) {
    sigmoid_avx512(in, out, n);
    return;
  }
  for (Index i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + std::exp(-in[i]));
}

void dice_eval(const ConstMatrixView& s, MatrixView y, MatrixView* p, const DiceColumns& columns) {
  const Index D = s.cols();
  HEED_CHECK(y.rows() == s.rows() && y.cols() == D && (!p || (p->rows() == s.rows() && p->cols() == D)),
             "dice_eval: input [{}, {}], output [{}, {}]", s.rows(), D, y.rows(), y.cols());
  if (elementwise_avx512()) {
    thread_local std::vector<float> a;
    a.resize(static_cast<std::size_t>(D));
    constexpr float log2e = 1.44269504088896341f;
    for (Index d = 0; d < D; ++d) a[static_cast<std::size_t>(d)] = -columns.inv_std[d] * log2e;
    dice_avx512(s, y, p, columns.mean, a.data(), columns.keep, columns.alpha);
    return;
  }
  using Row = Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>>;
  const Row mean(columns.mean, D), inv_std(columns.inv_std, D), alpha(columns.alpha, D), keep(columns.keep, D);
  // The gate goes through memory with or without p, so both compute the same bits (Eigen may
  // contract a fused expression differently).
  thread_local Eigen::Array<float, 1, Eigen::Dynamic> own_gate;
  own_gate.resize(D);
  for (Index r = 0; r < s.rows(); ++r) {
    const auto v = s.row(r).array();
    float* gate_row = p ? p->row(r).data() : own_gate.data();
    Eigen::Map<Eigen::Array<float, 1, Eigen::Dynamic>> gate(gate_row, D);
    gate = ((v - mean) * inv_std).logistic();
    y.row(r).array() = v * (gate * keep + alpha);  // coefficient-wise, so y may be s
  }
}

}  // namespace heed::lowp
