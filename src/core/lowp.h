#pragma once
// Reduced-precision products for scoring (never training): y = x W with W packed once.
//
//   bf16  x and W rounded to bfloat16 (round to nearest even), products summed in fp32: the
//         AVX512-BF16 instruction vdpbf16ps (two multiply-adds per fp32 lane, 32 per
//         instruction), or the same arithmetic in portable code.
//   int8  W quantized per output column (symmetric, scale = max|W[:, n]| / 127); each row of x
//         quantized when it is multiplied (dynamic, per row: scale = max|x[i, :]| / 127), the
//         products summed exactly in int32 (AVX512-VNNI vpdpbusd, four per lane, or portable
//         code), then y = sum * (x scale * column scale).
//
// A row's result depends on that row and W only, never on the other rows or on how many rows
// a call multiplies: the per-user schedule and the plain one (serving and `heed predict`)
// compute the same bits from the same inputs. The kernel is chosen once per process from the
// CPU (HEED_LOWP_ISA=portable forces the portable one); int8 is bit-identical on both, bf16
// agrees to the fp32 rounding of each sum (tests/core/lowp_test.cpp).
#include <cstdint>
#include <vector>

#include "core/precision.h"
#include "core/tensor.h"

namespace heed::lowp {

// Which code runs the reduced products.
enum class Isa { kPortable, kAvx512 };
// What the CPU supports (avx512f+bw+vl with bf16 for bf16, vnni for int8), unless
// HEED_LOWP_ISA=portable says otherwise; the first call decides.
Isa isa_for(Precision precision);
// true: every precision runs the portable code (tests of the fallback); false: the CPU decides
// again (HEED_LOWP_ISA still applies).
void force_portable(bool portable);
// "avx512-bf16", "avx512-vnni" or "portable": what isa_for(precision) means, for reports.
const char* isa_name(Precision precision);

// W [K, N] in the layout a precision's kernel reads; built once when a model is loaded.
struct PackedWeight {
  Precision precision = Precision::kFp32;
  Index k = 0, n = 0, n_padded = 0;  // n_padded: N rounded up to 16 lanes
  std::vector<std::uint16_t> bf16;   // [ceil(K/2)][n_padded][2]: rows 2p and 2p+1 side by side
  std::vector<std::int8_t> int8;     // [ceil(K/4)][n_padded][4]
  std::vector<float> scale;          // [n_padded] int8: each column's scale
  std::vector<std::int32_t> offset;  // [n_padded] int8: 128 * sum of the column's int8 values
};
PackedWeight pack(const ConstMatrixView& w, Precision precision);

// y = x W, or y += x W when accumulate. x [M, K], y [M, N]; precision from `w`.
void multiply(const ConstMatrixView& x, const PackedWeight& w, MatrixView y, bool accumulate);

// Multiply-adds this thread's multiply calls have done (M K N per call): for the benchmark's
// fraction of peak.
std::uint64_t multiply_adds();

// The rounding bf16 applies (to nearest even; what vcvtne2ps2bf16 does), and back.
std::uint16_t to_bf16(float v);
float from_bf16(std::uint16_t v);

// out[i] = 1 / (1 + exp(-in[i])), vectorized (within 5e-7 of the exact value, relative; the portable
// code computes it exactly in float). in and out may be the same array.
void sigmoid(const float* in, float* out, Index n);

}  // namespace heed::lowp
