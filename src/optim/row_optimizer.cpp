#include "optim/row_optimizer.h"

#include <cmath>

namespace heed {

RowOptimizer::RowOptimizer(const OptimizerConfig& config)
    : adam_(config.embedding == "adam"), lr_(static_cast<float>(config.embedding_lr)),
      beta1_(static_cast<float>(config.beta1)), beta2_(static_cast<float>(config.beta2)),
      epsilon_(static_cast<float>(config.epsilon)), l2_(static_cast<float>(config.l2_embedding)),
      adagrad_initial_(static_cast<float>(config.adagrad_initial)) {}

void RowOptimizer::update(EmbeddingTable& table, const std::vector<std::uint32_t>& touched, const float* grad,
                          std::int64_t step, int threads) const {
  const std::size_t dim = table.dim();
  const auto n = static_cast<std::int64_t>(touched.size());
  const float correction1 = 1.0f - std::pow(beta1_, static_cast<float>(step));
  const float correction2 = 1.0f - std::pow(beta2_, static_cast<float>(step));
  const float step_size = lr_ * std::sqrt(correction2) / correction1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && n > 1024)
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t r = touched[static_cast<std::size_t>(i)];
    float* w = table.row(r);
    const float* g = grad + static_cast<std::size_t>(i) * dim;
    if (adam_) {
      float* m = table.state(r, 0);
      float* v = table.state(r, 1);
      for (std::size_t k = 0; k < dim; ++k) {
        const float gk = g[k] + l2_ * w[k];
        m[k] = beta1_ * m[k] + (1.0f - beta1_) * gk;
        v[k] = beta2_ * v[k] + (1.0f - beta2_) * gk * gk;
        w[k] -= step_size * m[k] / (std::sqrt(v[k]) + epsilon_ * std::sqrt(correction2));
      }
    } else {
      float* acc = table.state(r, 0);
      for (std::size_t k = 0; k < dim; ++k) {
        const float gk = g[k] + l2_ * w[k];
        acc[k] += gk * gk;
        // The accumulator starts at zero in the table; adding the initial value here is the same
        // as starting it there.
        w[k] -= lr_ * gk / (std::sqrt(acc[k] + adagrad_initial_) + epsilon_);
      }
    }
  }
}

}  // namespace heed
