#pragma once
// Reduced-precision products: y = x W with W packed once, for scoring (scoring.precision) and
// for mixed-precision training (train.precision = "bf16", bf16 only: the products below).
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
// Whether the fp32 AVX-512F kernels run (sigmoid, dice_eval, DIN's key-lane unit): the CPU has
// AVX-512F and neither HEED_LOWP_ISA=portable nor force_portable(true) says otherwise.
bool elementwise_avx512();

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

// Mixed-precision training: the three products of a dense layer in bf16 with fp32 sums, the
// same kernel and the same rounding as multiply's (so the portable code agrees bit for bit).
// pack_transposed(W) is pack(W^T) without building W^T: the input gradient dx = dy W^T is then
// multiply(dy, pack_transposed(W)). `into` reuses its buffers (weights are re-packed every step).
void pack_transposed_bf16(const ConstMatrixView& w, PackedWeight& into);
void pack_bf16(const ConstMatrixView& w, PackedWeight& into);
// c = a^T b, or c += a^T b when accumulate: a [M, K], b [M, N], c [K, N], both operands rounded
// to bf16 when multiplied, the products summed over the M rows in pairs (the weight gradient
// x^T dy of a batch). A column of c depends on those columns of a and b alone.
void multiply_transposed_a_bf16(const ConstMatrixView& a, const ConstMatrixView& b, MatrixView c, bool accumulate);

// Multiply-adds this thread's multiply calls have done (M K N per call): for the benchmark's
// fraction of peak.
std::uint64_t multiply_adds();

// The rounding bf16 applies (to nearest even; what vcvtne2ps2bf16 does), and back.
std::uint16_t to_bf16(float v);
float from_bf16(std::uint16_t v);

// out[i] = 1 / (1 + exp(-in[i])), vectorized (within 5e-7 of the exact value, relative; the portable
// code computes it exactly in float). in and out may be the same array.
void sigmoid(const float* in, float* out, Index n);

// Dice's evaluation form (layers/dice.h) from fixed statistics, each row of s in one pass:
//   p = sigmoid((s - mean) inv_std),   y = s (alpha + keep p),   keep = 1 - alpha.
// With AVX-512 the gate is 1 / (1 + 2^t), t = (s - mean) a with a = -inv_std log2(e) folded
// per column, and 2^t from a polynomial: about 20 instructions per 16 values, no division
// (Eigen's logistic, used elsewhere, divides); within 5e-7 (relative) + 1e-9 of the exact gate
// of the float (s - mean) inv_std, where Eigen's is within 5e-7 + 1e-7. y may alias s; p, when given ([rows, D]), receives the gate
// (what a backward pass reads).
struct DiceColumns {
  const float* mean;     // [D]
  const float* inv_std;  // [D]
  const float* alpha;    // [D]
  const float* keep;     // [D]
};
void dice_eval(const ConstMatrixView& s, MatrixView y, MatrixView* p, const DiceColumns& columns);

}  // namespace heed::lowp
