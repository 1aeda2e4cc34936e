// The key-lane layer against the layer written out per unit and key: every unit count (partial
// blocks of 8) and key count (partial registers, up to a pass of 48), each activation.
#include "layers/din_key_lanes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/lowp.h"

namespace heed {
namespace {

using din_key_lanes::Activation;

float reference_activation(const Activation& act, Index f, float s) {
  switch (act.kind) {
    case Activation::Kind::kDice: {
      const double inv_std = -act.scale[f] / std::log2(std::exp(1.0));
      const double gate = 1.0 / (1.0 + std::exp(-(double{s} - act.mean[f]) * inv_std));
      return static_cast<float>(s * (act.alpha[f] + (1.0 - act.alpha[f]) * gate));
    }
    case Activation::Kind::kPrelu:
      return s > 0 ? s : act.alpha[f] * s;
    default:
      return s;
  }
}

TEST(DinKeyLanes, LayerEqualsTheLayerWrittenOutPerUnitAndKey) {
  if (!lowp::elementwise_avx512()) GTEST_SKIP() << "the key-lane layer needs AVX-512F";
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto random = [&](Index n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = uniform(gen);
    return v;
  };
  const Index in = 13, ld = 48;
  for (const Activation::Kind kind : {Activation::Kind::kNone, Activation::Kind::kPrelu, Activation::Kind::kDice}) {
    for (Index out = 1; out <= 17; ++out) {
      for (Index keys = 1; keys <= din_key_lanes::kChunk; keys += (keys < 20 ? 1 : 7)) {
        SCOPED_TRACE(::testing::Message() << out << " units, " << keys << " keys, kind " << static_cast<int>(kind));
        const std::vector<float> w = random(in * out), x = random(in * ld), bias = random(out), rows = random(out * ld),
                                 alpha = random(out), mean = random(out);
        std::vector<float> scale(static_cast<std::size_t>(out)), keep(static_cast<std::size_t>(out));
        for (Index f = 0; f < out; ++f) {
          scale[static_cast<std::size_t>(f)] = -(0.5f + uniform(gen) * uniform(gen)) * 1.44269504f;
          keep[static_cast<std::size_t>(f)] = 1.0f - alpha[static_cast<std::size_t>(f)];
        }
        Activation act{.kind = kind, .alpha = alpha.data(), .mean = mean.data(), .scale = scale.data(), .keep = keep.data()};
        for (const bool with_rows : {false, true}) {
          std::vector<float> y(static_cast<std::size_t>(out * ld), 1e30f);
          din_key_lanes::dense(w.data(), in, out, x.data(), ld, bias.data(), with_rows ? rows.data() : nullptr, ld, act,
                               keys, y.data(), ld);
          for (Index f = 0; f < out; ++f)
            for (Index j = 0; j < keys; ++j) {
              double s = bias[static_cast<std::size_t>(f)] + (with_rows ? rows[static_cast<std::size_t>(f * ld + j)] : 0.0);
              for (Index g = 0; g < in; ++g)
                s += double{w[static_cast<std::size_t>(g * out + f)]} * x[static_cast<std::size_t>(g * ld + j)];
              EXPECT_NEAR(y[static_cast<std::size_t>(f * ld + j)], reference_activation(act, f, static_cast<float>(s)),
                          2e-6f * (1.0f + std::abs(static_cast<float>(s))));
            }
          // Written a whole register far, and no further.
          for (Index f = 0; f < out; ++f)
            for (Index j = din_key_lanes::padded(keys); j < ld; ++j)
              EXPECT_EQ(y[static_cast<std::size_t>(f * ld + j)], 1e30f);
        }
        std::vector<float> score(ld, 1e30f);
        din_key_lanes::score(w.data(), in, 0.25f, x.data(), ld, keys, score.data());
        for (Index j = 0; j < keys; ++j) {
          double s = 0.25;
          for (Index g = 0; g < in; ++g) s += double{w[static_cast<std::size_t>(g)]} * x[static_cast<std::size_t>(g * ld + j)];
          EXPECT_NEAR(score[static_cast<std::size_t>(j)], s, 2e-6 * (1.0 + std::abs(s)));
        }
      }
    }
  }
}

}  // namespace
}  // namespace heed
