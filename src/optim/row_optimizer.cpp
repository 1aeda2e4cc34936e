#include "optim/row_optimizer.h"

#include <cmath>
#include <istream>
#include <ostream>

#include "core/binary_io.h"
#include "core/error.h"

namespace heed {

RowOptimizer::RowOptimizer(const OptimizerConfig& config, std::size_t tables)
    : adam_(config.embedding == EmbeddingOptimizer::kAdam), slots_(adam_ ? 2 : 1),
      lr_(static_cast<float>(config.embedding_lr)), beta1_(static_cast<float>(config.beta1)),
      beta2_(static_cast<float>(config.beta2)), epsilon_(static_cast<float>(config.epsilon)),
      l2_(static_cast<float>(config.l2_embedding)), adagrad_initial_(static_cast<float>(config.adagrad_initial)),
      state_(tables) {}

void RowOptimizer::update(std::size_t k, EmbeddingTable& table, const std::vector<std::uint32_t>& touched,
                          const float* grad, std::int64_t step, int threads) {
  const std::size_t dim = table.dim();
  std::vector<float>& state = state_.at(k);
  // Rows the batch added since the last update start with zero state.
  if (state.size() < table.rows() * slots_ * dim) state.resize(table.rows() * slots_ * dim, 0.0f);
  const auto n = static_cast<std::int64_t>(touched.size());
  const float correction1 = 1.0f - std::pow(beta1_, static_cast<float>(step));
  const float correction2 = 1.0f - std::pow(beta2_, static_cast<float>(step));
  const float step_size = lr_ * std::sqrt(correction2) / correction1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && n > 1024)
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t r = touched[static_cast<std::size_t>(i)];
    float* w = table.row(r);
    const float* g = grad + static_cast<std::size_t>(i) * dim;
    float* row_state = state.data() + static_cast<std::size_t>(r) * slots_ * dim;
    if (adam_) {
      float* m = row_state;
      float* v = row_state + dim;
      for (std::size_t j = 0; j < dim; ++j) {
        const float gj = g[j] + l2_ * w[j];
        m[j] = beta1_ * m[j] + (1.0f - beta1_) * gj;
        v[j] = beta2_ * v[j] + (1.0f - beta2_) * gj * gj;
        w[j] -= step_size * m[j] / (std::sqrt(v[j]) + epsilon_ * std::sqrt(correction2));
      }
    } else {
      float* acc = row_state;
      for (std::size_t j = 0; j < dim; ++j) {
        const float gj = g[j] + l2_ * w[j];
        acc[j] += gj * gj;
        // The accumulator starts at zero; adding the initial value here is the same as
        // starting it there.
        w[j] -= lr_ * gj / (std::sqrt(acc[j] + adagrad_initial_) + epsilon_);
      }
    }
  }
}

const float* RowOptimizer::state(std::size_t k, std::uint32_t r, std::size_t slot, std::size_t dim) const {
  const std::vector<float>& state = state_.at(k);
  const std::size_t at = (static_cast<std::size_t>(r) * slots_ + slot) * dim;
  return at + dim <= state.size() ? state.data() + at : nullptr;
}

void RowOptimizer::save(std::ostream& out) const {
  write_pod<std::uint64_t>(out, slots_);
  write_pod<std::uint64_t>(out, state_.size());
  for (const auto& s : state_) write_vector(out, s);
}

void RowOptimizer::load(std::istream& in) {
  const auto slots = read_pod<std::uint64_t>(in);
  const auto tables = read_pod<std::uint64_t>(in);
  if (slots != slots_ || tables != state_.size())
    throw Error(fmt::format("the embedding optimizer state holds {} slots per row for {} tables; the config's "
                            "optimizer needs {} for {}",
                            slots, tables, slots_, state_.size()));
  for (auto& s : state_) s = read_vector<float>(in);
}

void RowOptimizer::adopt(std::size_t k, std::vector<float> state) { state_.at(k) = std::move(state); }

std::size_t RowOptimizer::memory_bytes() const {
  std::size_t bytes = 0;
  for (const auto& s : state_) bytes += s.capacity() * sizeof(float);
  return bytes;
}

}  // namespace heed
