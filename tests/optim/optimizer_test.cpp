// Adam on dense weights and the sparse row optimizers (Adam, Adagrad) against references
// written out from the textbook formulas, and the promise that untouched rows never move.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "optim/adam.h"
#include "optim/row_optimizer.h"

namespace heed {
namespace {

OptimizerConfig optimizer_config() {
  OptimizerConfig c;
  c.lr = 0.1;
  c.embedding_lr = 0.05;
  c.embedding = EmbeddingOptimizer::kAdam;
  c.beta1 = 0.9;
  c.beta2 = 0.999;
  c.epsilon = 1e-8;
  c.l2_embedding = 0.0;
  c.l2_dense = 0.0;
  c.adagrad_initial = 0.1;
  return c;
}

// Textbook Adam in double: m, v, bias-corrected m_hat / (sqrt(v_hat) + eps).
struct ReferenceAdam {
  double lr, b1, b2, eps, l2;
  std::vector<double> m, v;
  int t = 0;
  void step(std::vector<double>& w, const std::vector<double>& g) {
    ++t;
    m.resize(w.size()), v.resize(w.size());
    for (std::size_t k = 0; k < w.size(); ++k) {
      const double gk = g[k] + l2 * w[k];
      m[k] = b1 * m[k] + (1 - b1) * gk;
      v[k] = b2 * v[k] + (1 - b2) * gk * gk;
      const double m_hat = m[k] / (1 - std::pow(b1, t)), v_hat = v[k] / (1 - std::pow(b2, t));
      w[k] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

TEST(Adam, FirstStepsMatchTheReference) {
  ParamSet params;
  const ParamId id = params.add("w", 1, 4);
  params[id] << 0.5f, -1.0f, 2.0f, 0.0f;
  const std::vector<std::vector<double>> grad_steps = {{0.2, -0.4, 1e-3, 0.0},
                                                       {-0.1, -0.4, 5.0, 0.3}};
  for (const double l2 : {0.0, 0.01}) {
    SCOPED_TRACE(l2);
    ParamSet p = params;
    OptimizerConfig config = optimizer_config();
    config.l2_dense = l2;
    Adam adam(p, config);
    ReferenceAdam ref{0.1, 0.9, 0.999, 1e-8, l2, {}, {}};
    std::vector<double> w = {0.5, -1.0, 2.0, 0.0};
    Gradients grads(p);
    for (const auto& g : grad_steps) {
      for (int k = 0; k < 4; ++k)
        grads[id](0, k) = static_cast<float>(g[static_cast<std::size_t>(k)]);
      adam.step(p, grads);
      ref.step(w, g);
      for (int k = 0; k < 4; ++k)
        EXPECT_NEAR(p[id](0, k), w[static_cast<std::size_t>(k)], 1e-5)
            << "step " << ref.t << " k " << k;
    }
    EXPECT_EQ(adam.steps(), 2);
  }
  // Hand-computed first step: with bias correction the step is lr * sign(g) (for |g| >> eps).
  ParamSet p = params;
  Adam adam(p, optimizer_config());
  Gradients grads(p);
  grads[id] << 0.2f, -0.4f, 1e-3f, 0.0f;
  adam.step(p, grads);
  EXPECT_NEAR(p[id](0, 0), 0.5f - 0.1f, 1e-6);
  EXPECT_NEAR(p[id](0, 1), -1.0f + 0.1f, 1e-6);
  EXPECT_NEAR(p[id](0, 2), 2.0f - 0.1f, 1e-5);
  EXPECT_EQ(p[id](0, 3), 0.0f) << "a zero gradient does not move the weight";
}

TEST(Adam, SaveLoadContinuesIdentically) {
  ParamSet params;
  const ParamId id = params.add("w", 2, 3);
  params[id] << 1, 2, 3, 4, 5, 6;
  Gradients grads(params);
  grads[id] << 0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f;
  ParamSet a = params;
  Adam adam_a(a, optimizer_config());
  adam_a.step(a, grads);
  std::stringstream saved;
  adam_a.save(saved);
  ParamSet b = a;
  Adam adam_b(b, optimizer_config());
  adam_b.load(saved);
  EXPECT_EQ(adam_b.steps(), 1);
  grads[id] *= -2.0f;
  adam_a.step(a, grads);
  adam_b.step(b, grads);
  EXPECT_EQ(0, std::memcmp(a[id].data(), b[id].data(), 6 * sizeof(float)));
}

TEST(Adam, ThreadsShareTheWeightsAndGiveTheSameBits) {
  // Weights larger than one piece, a small one and a running statistic that must stay put.
  ParamSet params;
  const ParamId big = params.add("big", 300, 100), small = params.add("small", 1, 7);
  const ParamId stat = params.add("stat", 1, 4, /*trainable=*/false);
  Rng rng(3);
  params.init_uniform(big, 1.0f, rng);
  params.init_uniform(small, 1.0f, rng);
  params[stat].setConstant(0.5f);
  ParamSet one = params, four = params;
  Adam adam_one(one, optimizer_config()), adam_four(four, optimizer_config());
  Gradients grads(params);
  for (int s = 0; s < 3; ++s) {
    for (ParamId id : {big, small, stat})
      for (Index k = 0; k < grads[id].size(); ++k) grads[id].data()[k] = rng.uniform() - 0.5f;
    adam_one.step(one, grads, 1);
    adam_four.step(four, grads, 4);
  }
  for (ParamId id : {big, small, stat})
    EXPECT_EQ(0, std::memcmp(one[id].data(), four[id].data(), one[id].size() * sizeof(float))) << id;
  EXPECT_FALSE(one[big].isApprox(params[big]));
  EXPECT_TRUE((four[stat].array() == 0.5f).all());
}

// A table with `n` rows (plus the default row) of distinct values.
EmbeddingTable make_table(std::size_t n, std::size_t dim) {
  EmbeddingTable table("t", dim, 0, 0.3f, 5);
  for (std::uint64_t k = 0; k < n; ++k) table.find_or_insert(k * 7919 + 1);
  return table;
}

// Per row: its weights, then its optimizer state (zeros for a row never updated).
std::vector<float> snapshot(const EmbeddingTable& table, const RowOptimizer& optimizer, std::size_t k = 0) {
  std::vector<float> all;
  for (std::uint32_t r = 0; r < table.rows(); ++r) {
    all.insert(all.end(), table.row(r), table.row(r) + table.dim());
    for (std::size_t s = 0; s < optimizer.slots(); ++s) {
      const float* state = optimizer.state(k, r, s, table.dim());
      if (state)
        all.insert(all.end(), state, state + table.dim());
      else
        all.insert(all.end(), table.dim(), 0.0f);
    }
  }
  return all;
}

// Rows other than `touched` are bit-identical before and after.
void expect_only_touched_changed(const EmbeddingTable& table, const RowOptimizer& optimizer,
                                 const std::vector<float>& before, const std::vector<std::uint32_t>& touched) {
  const std::size_t per_row = table.dim() * (1 + optimizer.slots());
  const std::vector<float> after = snapshot(table, optimizer);
  for (std::uint32_t r = 0; r < table.rows(); ++r) {
    const bool is_touched = std::find(touched.begin(), touched.end(), r) != touched.end();
    const bool same = std::memcmp(after.data() + r * per_row, before.data() + r * per_row, per_row * sizeof(float)) == 0;
    EXPECT_EQ(same, !is_touched) << "row " << r;
  }
}

EmbeddingOptimizer kind_named(const std::string& name) {
  return name == "adam" ? EmbeddingOptimizer::kAdam : EmbeddingOptimizer::kAdagrad;
}

class RowOptimizerKinds : public ::testing::TestWithParam<const char*> {};

TEST_P(RowOptimizerKinds, MovesOnlyTheTouchedRowsAsTheReferenceSays) {
  const std::string kind = GetParam();
  OptimizerConfig config = optimizer_config();
  config.embedding = kind_named(kind);
  const std::size_t dim = 3;
  EmbeddingTable table = make_table(10, dim);
  const std::vector<std::uint32_t> touched = {7, 2, 9};
  const std::vector<float> grad = {0.1f,  -0.2f, 0.3f, 1.0f, 0.0f,
                                   -1.0f, 2e-3f, 5.0f, -0.5f};  // [3, dim]
  // Reference weights and state, per touched row.
  std::vector<double> w, m(9, 0.0), v(9, 0.0), acc(9, config.adagrad_initial);
  for (std::uint32_t r : touched) w.insert(w.end(), table.row(r), table.row(r) + dim);

  RowOptimizer optimizer(config, 1);
  EXPECT_EQ(optimizer.slots(), kind == "adam" ? 2u : 1u);
  for (std::int64_t step = 1; step <= 2; ++step) {
    const std::vector<float> before = snapshot(table, optimizer);
    optimizer.update(0, table, touched, grad.data(), step, 1);
    expect_only_touched_changed(table, optimizer, before, touched);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double g = grad[i];
      if (kind == "adam") {
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        const double m_hat = m[i] / (1 - std::pow(0.9, step)),
                     v_hat = v[i] / (1 - std::pow(0.999, step));
        w[i] -= config.embedding_lr * m_hat / (std::sqrt(v_hat) + config.epsilon);
      } else {
        acc[i] += g * g;
        w[i] -= config.embedding_lr * g / (std::sqrt(acc[i]) + config.epsilon);
      }
    }
    for (std::size_t t = 0; t < touched.size(); ++t)
      for (std::size_t e = 0; e < dim; ++e)
        EXPECT_NEAR(table.row(touched[t])[e], w[t * dim + e], 1e-5)
            << kind << " step " << step << " row " << touched[t];
  }
}

TEST_P(RowOptimizerKinds, L2AppliesOnlyToTouchedRows) {
  OptimizerConfig config = optimizer_config();
  config.embedding = kind_named(GetParam());
  config.l2_embedding = 0.5;
  EmbeddingTable table = make_table(6, 4);
  RowOptimizer optimizer(config, 1);
  const std::vector<std::uint32_t> touched = {3, 5};
  const std::vector<float> zero_grad(2 * 4, 0.0f);
  const std::vector<float> before = snapshot(table, optimizer);
  std::vector<float> touched_before;
  for (std::uint32_t r : touched)
    touched_before.insert(touched_before.end(), table.row(r), table.row(r) + 4);
  optimizer.update(0, table, touched, zero_grad.data(), 1, 1);
  expect_only_touched_changed(table, optimizer, before, touched);
  // With no data gradient, L2 moves each touched weight towards zero (Adam's first step has
  // the size of the learning rate, so small weights may pass zero; the direction is what counts).
  for (std::size_t t = 0; t < touched.size(); ++t)
    for (std::size_t e = 0; e < 4; ++e) {
      const float old = touched_before[t * 4 + e], now = table.row(touched[t])[e];
      ASSERT_NE(old, 0.0f);
      EXPECT_LT((now - old) * old, 0.0f) << "row " << touched[t] << ": " << old << " -> " << now;
    }
}

TEST_P(RowOptimizerKinds, ThreadsGiveIdenticalResults) {
  OptimizerConfig config = optimizer_config();
  config.embedding = kind_named(GetParam());
  const std::size_t dim = 4, n = 6000;  // above the size at which the update runs in parallel
  EmbeddingTable one = make_table(n, dim);
  EmbeddingTable two = make_table(n, dim);
  std::vector<std::uint32_t> touched;
  for (std::uint32_t r = 1; r <= n; r += 1) touched.push_back(r);
  std::vector<float> grad(touched.size() * dim);
  for (std::size_t i = 0; i < grad.size(); ++i) grad[i] = std::sin(static_cast<float>(i));
  RowOptimizer optimizer(config, 2);
  optimizer.update(0, one, touched, grad.data(), 1, 1);
  optimizer.update(1, two, touched, grad.data(), 1, 2);
  EXPECT_EQ(snapshot(one, optimizer, 0), snapshot(two, optimizer, 1));
}

// The state lives in the optimizer, grows with the table (new rows start at zero), and a saved
// and loaded optimizer continues exactly as the original.
TEST_P(RowOptimizerKinds, StateSavedAndLoadedContinuesExactly) {
  OptimizerConfig config = optimizer_config();
  config.embedding = kind_named(GetParam());
  EmbeddingTable table = make_table(5, 3);
  RowOptimizer optimizer(config, 1);
  const std::vector<float> grad = {0.5f, -0.25f, 1.0f, 0.1f, 0.2f, 0.3f};
  optimizer.update(0, table, {2, 4}, grad.data(), 1, 1);
  EXPECT_EQ(optimizer.memory_bytes() >= table.rows() * 3 * optimizer.slots() * sizeof(float), true);
  table.find_or_insert(123456789);  // a row the optimizer has no state for yet
  const std::uint32_t fresh = static_cast<std::uint32_t>(table.rows() - 1);
  EXPECT_EQ(optimizer.state(0, fresh, 0, 3), nullptr);

  std::stringstream saved;
  optimizer.save(saved);
  RowOptimizer loaded(config, 1);
  loaded.load(saved);
  EmbeddingTable copy = table;
  optimizer.update(0, table, {fresh, 2}, grad.data(), 2, 1);
  loaded.update(0, copy, {fresh, 2}, grad.data(), 2, 1);
  EXPECT_EQ(snapshot(table, optimizer), snapshot(copy, loaded));
  const float* state = optimizer.state(0, fresh, 0, 3);
  ASSERT_NE(state, nullptr);
  EXPECT_NE(state[0], 0.0f);

  // Another kind or another table count is refused.
  std::stringstream again;
  optimizer.save(again);
  OptimizerConfig other = config;
  other.embedding = config.embedding == EmbeddingOptimizer::kAdam ? EmbeddingOptimizer::kAdagrad : EmbeddingOptimizer::kAdam;
  RowOptimizer wrong_kind(other, 1);
  EXPECT_THROW(wrong_kind.load(again), Error);
  std::stringstream third;
  optimizer.save(third);
  RowOptimizer wrong_count(config, 2);
  EXPECT_THROW(wrong_count.load(third), Error);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RowOptimizerKinds, ::testing::Values("adam", "adagrad"));

}  // namespace
}  // namespace heed
