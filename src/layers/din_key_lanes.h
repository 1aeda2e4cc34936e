#pragma once
// DIN's activation unit for one candidate against a request's shared history, with the
// history's distinct keys across the SIMD lanes (fp32, AVX-512F). Every activation is held as
// [units, keys], so a layer is
//   y[f, :] = act_f( sum_g W[g, f] x[g, :] + bias[f] + rows[f, :] )
// and a block of 8 units by 48 keys accumulates in 24 registers, each weight one broadcast;
// the bias, the key terms and the activation are applied to the block before it is stored.
//
// Why: the pair-major schedule (one GEMM per layer over blocks of (candidate, key) pairs, then
// Dice over the result in memory) gives the BLAS products of K = 16 and N = 40, narrow enough
// that packing, the padded tail of N and a second pass for Dice cost as much as the
// arithmetic. Here nothing is packed (the weights are read in place: W [in, out] row-major
// gives a block's 8 weights of one input side by side) and the lanes pad only the key count,
// to a multiple of 16.
//
// Buffers hold whole registers: x and rows are read 16 lanes at a time up to `keys` rounded up
// to 16, so their rows must be that long (pad with zeros); y's rows are written that far.
#include "core/tensor.h"

namespace heed::din_key_lanes {

inline constexpr Index kLanes = 16;   // floats per register
inline constexpr Index kChunk = 48;   // keys per pass: three registers per unit

inline Index padded(Index keys) { return (keys + kLanes - 1) / kLanes * kLanes; }

// What follows a hidden layer's product, per unit (each array [out]); nothing for the output.
struct Activation {
  enum class Kind { kNone, kPrelu, kDice } kind = Kind::kNone;
  const float* alpha = nullptr;  // PReLU's slope, or Dice's alpha
  // Dice in evaluation: y = s (alpha + keep gate), gate = sigmoid((s - mean) inv_std), computed
  // as core/avx512.h does from scale = -inv_std log2(e); keep = 1 - alpha.
  const float* mean = nullptr;
  const float* scale = nullptr;
  const float* keep = nullptr;
};

// y [out, ldy] = act(W^T x + bias + rows) over keys lanes (keys <= kChunk): W [in, out]
// row-major, x [in, ldx], bias [out] or null, rows [out, ldr] or null.
void dense(const float* w, Index in, Index out, const float* x, Index ldx, const float* bias, const float* rows,
           Index ldr, const Activation& act, Index keys, float* y, Index ldy);

// score[j] = b + sum_g w[g] x[g, j] for j < keys rounded up to 16 (keys <= kChunk): the unit's
// one-wide output layer.
void score(const float* w, Index in, float b, const float* x, Index ldx, Index keys, float* score);

}  // namespace heed::din_key_lanes
