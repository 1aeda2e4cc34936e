// The reduced-precision kernels against an fp32/double reference, the portable code against
// the AVX-512 code, and the property the two scoring schedules rely on: a row's result does
// not depend on the rows multiplied with it.
#include "config/choices.h"
#include "core/lowp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace heed {
namespace {

Matrix random_matrix(Index rows, Index cols, float scale, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  Matrix m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = normal(gen);
  return m;
}

// Restores the CPU's choice of kernel when a test that forced the portable one ends.
struct PortableScope {
  explicit PortableScope(bool portable) { lowp::force_portable(portable); }
  ~PortableScope() { lowp::force_portable(false); }
};

Matrix multiply(const Matrix& x, const lowp::PackedWeight& w, bool portable) {
  PortableScope scope(portable);
  Matrix y(x.rows(), w.n);
  lowp::multiply(x, w, y, /*accumulate=*/false);
  return y;
}

// Odd shapes: K not a multiple of 2 or 4, N not a multiple of 16, rows not a multiple of 4.
constexpr Index kRows = 37, kK = 67, kN = 45;

TEST(Lowp, Bf16IsTheExactProductOfRoundedOperandsToFp32Accumulation) {
  const Matrix x = random_matrix(kRows, kK, 1.0f, 1), w = random_matrix(kK, kN, 0.1f, 2);
  const Matrix y = multiply(x, lowp::pack(w, Precision::kBf16), false);
  for (Index i = 0; i < kRows; ++i)
    for (Index n = 0; n < kN; ++n) {
      double rounded = 0.0, exact = 0.0, magnitude = 0.0;
      for (Index k = 0; k < kK; ++k) {
        const double a = lowp::from_bf16(lowp::to_bf16(x(i, k))), b = lowp::from_bf16(lowp::to_bf16(w(k, n)));
        rounded += a * b;
        exact += static_cast<double>(x(i, k)) * w(k, n);
        magnitude += std::abs(a * b);
      }
      // fp32 accumulation of K terms: at most K roundings of 2^-24 of the running magnitude.
      EXPECT_NEAR(y(i, n), rounded, static_cast<double>(kK) * 0x1p-24 * magnitude) << i << "," << n;
      // Against the fp32 operands: each operand within 2^-9 of itself, so each product within 2^-8.
      EXPECT_NEAR(y(i, n), exact, 0x1p-8 * magnitude * 1.01) << i << "," << n;
    }
}

TEST(Lowp, Int8IsWithinItsQuantizationStepsOfTheFp32Product) {
  const Matrix x = random_matrix(kRows, kK, 1.0f, 3), w = random_matrix(kK, kN, 0.1f, 4);
  const Matrix y = multiply(x, lowp::pack(w, Precision::kInt8), false);
  for (Index i = 0; i < kRows; ++i) {
    const float x_step = x.row(i).cwiseAbs().maxCoeff() / 127.0f;
    for (Index n = 0; n < kN; ++n) {
      const float w_step = w.col(n).cwiseAbs().maxCoeff() / 127.0f;
      double exact = 0.0, bound = 0.0;
      for (Index k = 0; k < kK; ++k) {
        exact += static_cast<double>(x(i, k)) * w(k, n);
        // |x dw| + |w dx| + |dx dw| with each operand within half a step
        bound += std::abs(x(i, k)) * w_step / 2 + std::abs(w(k, n)) * x_step / 2 + x_step * w_step / 4;
      }
      EXPECT_NEAR(y(i, n), exact, bound * 1.001 + 1e-6) << i << "," << n;
    }
  }
}

TEST(Lowp, ARowsResultDoesNotDependOnTheOtherRows) {
  const Matrix x = random_matrix(kRows, kK, 1.0f, 5), w = random_matrix(kK, kN, 0.1f, 6);
  for (Precision p : {Precision::kBf16, Precision::kInt8}) {
    const lowp::PackedWeight packed = lowp::pack(w, p);
    const Matrix all = multiply(x, packed, false);
    for (Index i = 0; i < kRows; ++i) {  // alone, and as the last of a block of 5
      const Matrix one = multiply(x.middleRows(i, 1), packed, false);
      EXPECT_EQ(one.row(0), all.row(i)) << choice_name(p) << " row " << i;
      if (i >= 4) {
        EXPECT_EQ(multiply(x.middleRows(i - 4, 5), packed, false).row(4), all.row(i));
      }
    }
  }
}

TEST(Lowp, AccumulateAddsTheProductToWhatTheOutputHolds) {
  const Matrix x = random_matrix(kRows, kK, 1.0f, 7), w = random_matrix(kK, kN, 0.1f, 8);
  const Matrix bias = random_matrix(1, kN, 1.0f, 9);
  for (Precision p : {Precision::kBf16, Precision::kInt8}) {
    const lowp::PackedWeight packed = lowp::pack(w, p);
    const Matrix product = multiply(x, packed, false);
    Matrix y(kRows, kN);
    y.rowwise() = bias.row(0);
    lowp::multiply(x, packed, y, /*accumulate=*/true);
    for (Index i = 0; i < kRows; ++i)
      for (Index n = 0; n < kN; ++n) EXPECT_NEAR(y(i, n), bias(0, n) + product(i, n), 1e-5f) << choice_name(p);
  }
}

TEST(Lowp, ThePortableFallbackComputesWhatTheCpusUnitsDo) {
  const Matrix x = random_matrix(kRows, kK, 1.0f, 10), w = random_matrix(kK, kN, 0.1f, 11);
  bool compared = false;
  for (Precision p : {Precision::kBf16, Precision::kInt8}) {
    const lowp::PackedWeight packed = lowp::pack(w, p);
    {
      PortableScope scope(true);
      EXPECT_EQ(lowp::isa_for(p), lowp::Isa::kPortable);
      EXPECT_STREQ(lowp::isa_name(p), "portable");
    }
    if (lowp::isa_for(p) != lowp::Isa::kAvx512) continue;
    compared = true;
    // int8 sums are exact integers; bf16 follows vdpbf16ps's order (odd element first, one
    // rounding per multiply-add), so both agree bit for bit on normal numbers.
    EXPECT_EQ(multiply(x, packed, true), multiply(x, packed, false)) << choice_name(p);
  }
  if (!compared) GTEST_SKIP() << "this CPU has neither AVX512-BF16 nor AVX512-VNNI: only the fallback ran";
}

// Mixed-precision training's products: the transposed packing is the plain packing of the
// transposed matrix, and a^T b is the plain kernel on a^T's rows, on either path.
TEST(Lowp, PackTransposedIsThePackOfTheTransposedWeight) {
  const Matrix w = random_matrix(kK, kN, 0.1f, 20);
  const Matrix wt = w.transpose();
  const lowp::PackedWeight plain = lowp::pack(wt, Precision::kBf16);
  lowp::PackedWeight transposed;
  transposed.bf16.assign(5, 0xffff);  // stale contents of a reused buffer are overwritten
  lowp::pack_transposed_bf16(w, transposed);
  EXPECT_EQ(transposed.k, plain.k);
  EXPECT_EQ(transposed.n, plain.n);
  EXPECT_EQ(transposed.n_padded, plain.n_padded);
  EXPECT_EQ(transposed.bf16, plain.bf16);
  lowp::PackedWeight again;
  again.bf16.assign(100000, 0xffff);
  lowp::pack_bf16(wt, again);
  EXPECT_EQ(again.bf16, plain.bf16);
}

// The values whose rounding has a special case: ties either way, the largest float (rounds to
// infinity), infinities, NaN, zeros of both signs, subnormals.
std::vector<float> rounding_cases() {
  const float big = std::numeric_limits<float>::max();
  std::vector<float> v = {0.0f,  -0.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f,
                          -(1.0f + 0x1p-8f), big, -big, std::numeric_limits<float>::denorm_min(), 1e-40f,
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::nanf(""), 0x1.fffep127f};
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  while (v.size() < 64) v.push_back(normal(gen));
  return v;
}

// Training packs its bf16 operands with vectorized code where the CPU has AVX-512F: every
// value, and every padding slot, as to_bf16 and the portable loops have it.
TEST(Lowp, Bf16PackingRoundsEveryValueAsToBf16OnEitherPath) {
  const std::vector<float> cases = rounding_cases();
  Matrix w(7, 21);  // odd K (a half-empty last pair), N not a multiple of 16
  for (Index i = 0; i < w.size(); ++i) w.data()[i] = cases[static_cast<std::size_t>(i) % cases.size()];
  const Matrix wt = w.transpose();
  for (bool portable : {true, false}) {
    PortableScope scope(portable);
    lowp::PackedWeight packed;
    lowp::pack_bf16(w, packed);
    ASSERT_EQ(packed.n_padded, 32);
    for (Index p = 0; p < 4; ++p)
      for (Index n = 0; n < packed.n_padded; ++n)
        for (Index half = 0; half < 2; ++half) {
          const Index k = 2 * p + half;
          const std::uint16_t expected = k < w.rows() && n < w.cols() ? lowp::to_bf16(w(k, n)) : 0;
          EXPECT_EQ(packed.bf16[static_cast<std::size_t>((p * packed.n_padded + n) * 2 + half)], expected)
              << "k " << k << " n " << n << (portable ? " portable" : " native");
        }
    lowp::PackedWeight transposed, plain;
    lowp::pack_transposed_bf16(w, transposed);
    lowp::pack_bf16(wt, plain);
    EXPECT_EQ(transposed.bf16, plain.bf16) << (portable ? "portable" : "native");
  }
  // The rows of a product: x times the identity is x rounded, on either path (finite, normal
  // values: the instruction reads subnormals as zero).
  Matrix x(3, 37);
  for (Index i = 0; i < x.size(); ++i) {
    const float v = cases[static_cast<std::size_t>(i) % cases.size()];
    x.data()[i] = std::isnormal(v) && std::abs(v) < 1e30f ? v : 1.0f + 0x1p-8f;
  }
  const lowp::PackedWeight identity = lowp::pack(Matrix::Identity(37, 37), Precision::kBf16);
  for (bool portable : {true, false}) {
    const Matrix y = multiply(x, identity, portable);
    for (Index i = 0; i < x.rows(); ++i)
      for (Index k = 0; k < x.cols(); ++k)
        EXPECT_EQ(y(i, k), lowp::from_bf16(lowp::to_bf16(x(i, k)))) << i << "," << k << (portable ? " portable" : "");
  }
}

TEST(Lowp, TransposedAIsTheProductOfRoundedOperandsOnEitherPath) {
  const Matrix a = random_matrix(kRows, kK, 1.0f, 21), b = random_matrix(kRows, kN, 0.1f, 22);
  const Matrix at = a.transpose();
  const Matrix bias = random_matrix(kK, kN, 1.0f, 23);
  Matrix native = bias, portable = bias;
  lowp::multiply_transposed_a_bf16(a, b, native, /*accumulate=*/true);
  {
    PortableScope scope(true);
    lowp::multiply_transposed_a_bf16(a, b, portable, /*accumulate=*/true);
  }
  EXPECT_EQ(native, portable);
  // The same bits as the plain kernel with a^T as the rows and b as the weight.
  Matrix plain = bias;
  lowp::multiply(at, lowp::pack(b, Precision::kBf16), plain, /*accumulate=*/true);
  EXPECT_EQ(native, plain);
  for (Index k = 0; k < kK; ++k)
    for (Index n = 0; n < kN; ++n) {
      double rounded = bias(k, n), magnitude = std::abs(bias(k, n));
      for (Index m = 0; m < kRows; ++m) {
        const double x = lowp::from_bf16(lowp::to_bf16(a(m, k))), y = lowp::from_bf16(lowp::to_bf16(b(m, n)));
        rounded += x * y;
        magnitude += std::abs(x * y);
      }
      EXPECT_NEAR(native(k, n), rounded, static_cast<double>(kRows + 1) * 0x1p-24 * magnitude) << k << "," << n;
    }
  Matrix overwritten = bias;
  lowp::multiply_transposed_a_bf16(a, b, overwritten, /*accumulate=*/false);
  EXPECT_NEAR((overwritten + bias - native).cwiseAbs().maxCoeff(), 0.0f, 1e-5f);
}

TEST(Lowp, SigmoidIsWithin5e7OfTheExactValueOnEitherPath) {
  std::vector<float> in;
  for (float v = -100.0f; v <= 100.0f; v += 0.0137f) in.push_back(v);
  in.push_back(std::numeric_limits<float>::infinity());
  in.push_back(-std::numeric_limits<float>::infinity());
  for (bool portable : {false, true}) {
    PortableScope scope(portable);
    std::vector<float> out(in.size());
    lowp::sigmoid(in.data(), out.data(), static_cast<Index>(in.size()));
    for (std::size_t i = 0; i < in.size(); ++i) {
      const double exact = 1.0 / (1.0 + std::exp(-static_cast<double>(in[i])));
      EXPECT_NEAR(out[i], exact, 5e-7 * exact + 1e-37) << in[i] << (portable ? " portable" : "");
    }
  }
}

// Dice's evaluation on either path: the gate near the exact sigmoid of the float
// (s - mean) inv_std, y = s (alpha + keep gate) to match, in place as well, over widths
// that end inside a vector (40, 21) and inputs that overflow a naive exp.
TEST(Lowp, DiceEvalMatchesTheExactGateOnEitherPath) {
  for (const Index D : {Index{40}, Index{21}, Index{80}}) {
    const Index rows = 37;
    Matrix s(rows, D);
    Eigen::ArrayXf mean(D), inv_std(D), alpha(D), keep(D);
    for (Index d = 0; d < D; ++d) {
      mean[d] = 0.37f * static_cast<float>(d % 7) - 1.0f;
      inv_std[d] = 0.05f + 0.9f * static_cast<float>(d % 5);
      alpha[d] = 0.1f * static_cast<float>(d % 3) - 0.05f;
      keep[d] = 1.0f - alpha[d];
    }
    for (Index r = 0; r < rows; ++r)
      for (Index d = 0; d < D; ++d) s(r, d) = 0.73f * static_cast<float>((r * 13 + d * 7) % 41 - 20);
    s(0, 0) = 1e30f, s(1, 0) = -1e30f, s(2, 1) = 300.0f, s(3, 1) = -300.0f;
    for (bool portable : {false, true}) {
      PortableScope scope(portable);
      Matrix y(rows, D), p(rows, D), in_place = s;
      MatrixView gate(p);
      lowp::dice_eval(s, y, &gate, {mean.data(), inv_std.data(), alpha.data(), keep.data()});
      lowp::dice_eval(in_place, in_place, nullptr, {mean.data(), inv_std.data(), alpha.data(), keep.data()});
      for (Index r = 0; r < rows; ++r)
        for (Index d = 0; d < D; ++d) {
          const float x = (s(r, d) - mean[d]) * inv_std[d];
          const double exact = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
          // Eigen's logistic (the portable path) is within 1e-7 absolute, the AVX-512 kernel 1e-9.
          EXPECT_NEAR(p(r, d), exact, 5e-7 * exact + (portable ? 1e-7 : 1e-9)) << r << "," << d << (portable ? " portable" : "");
          const double want = static_cast<double>(s(r, d)) * (alpha[d] + keep[d] * exact);
          EXPECT_NEAR(y(r, d), want, 1e-6 * std::abs(want) + 2e-7 * std::abs(s(r, d))) << r << "," << d;
          EXPECT_EQ(in_place(r, d), y(r, d)) << r << "," << d;
        }
    }
  }
}

TEST(Lowp, Bf16RoundsToNearestEven) {
  EXPECT_EQ(lowp::to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(lowp::to_bf16(1.0f + 0x1p-8f), 0x3f80);            // the tie goes to the even value
  EXPECT_EQ(lowp::to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);        // ... which is above here
  EXPECT_EQ(lowp::to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);  // past the tie: up
  EXPECT_TRUE(std::isnan(lowp::from_bf16(lowp::to_bf16(std::nanf("")))));
}

}  // namespace
}  // namespace heed
