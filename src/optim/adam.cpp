#include "optim/adam.h"

#include <algorithm>
#include <cmath>

#include "core/binary_io.h"

namespace heed {

Adam::Adam(const ParamSet& params, const OptimizerConfig& config)
    : lr_(static_cast<float>(config.lr)), beta1_(static_cast<float>(config.beta1)),
      beta2_(static_cast<float>(config.beta2)), epsilon_(static_cast<float>(config.epsilon)),
      l2_(static_cast<float>(config.l2_dense)) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    m_.push_back(Matrix::Zero(params[i].rows(), params[i].cols()));
    v_.push_back(Matrix::Zero(params[i].rows(), params[i].cols()));
    if (!params.param(i).trainable) continue;  // running statistics: updated by their layer, not learned
    for (Index begin = 0; begin < params[i].size(); begin += kPieceSize)
      pieces_.push_back({i, begin, std::min(params[i].size(), begin + kPieceSize)});
  }
}

void Adam::step(ParamSet& params, const Gradients& grads, int threads) {
  ++t_;
  const float correction1 = 1.0f - std::pow(beta1_, static_cast<float>(t_));
  const float correction2 = 1.0f - std::pow(beta2_, static_cast<float>(t_));
  const float step_size = lr_ * std::sqrt(correction2) / correction1;
  const float epsilon = epsilon_ * std::sqrt(correction2);
  const auto n = static_cast<std::int64_t>(pieces_.size());
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && n > 1)
  for (std::int64_t p = 0; p < n; ++p) {
    const Piece& piece = pieces_[static_cast<std::size_t>(p)];
    float* w = params[piece.param].data();
    const float* g = grads[piece.param].data();
    float* m = m_[piece.param].data();
    float* v = v_[piece.param].data();
    for (Index k = piece.begin; k < piece.end; ++k) {
      const float gk = g[k] + l2_ * w[k];
      m[k] = beta1_ * m[k] + (1.0f - beta1_) * gk;
      v[k] = beta2_ * v[k] + (1.0f - beta2_) * gk * gk;
      w[k] -= step_size * m[k] / (std::sqrt(v[k]) + epsilon);
    }
  }
}

void Adam::save(std::ostream& out) const {
  write_pod(out, t_);
  write_pod<std::uint64_t>(out, m_.size());
  for (std::size_t i = 0; i < m_.size(); ++i) {
    out.write(reinterpret_cast<const char*>(m_[i].data()), static_cast<std::streamsize>(m_[i].size() * sizeof(float)));
    out.write(reinterpret_cast<const char*>(v_[i].data()), static_cast<std::streamsize>(v_[i].size() * sizeof(float)));
  }
}

void Adam::load(std::istream& in) {
  t_ = read_pod<std::int64_t>(in);
  if (read_pod<std::uint64_t>(in) != m_.size()) throw Error("checkpoint's optimizer state does not match the model");
  for (std::size_t i = 0; i < m_.size(); ++i) {
    const auto bytes = static_cast<std::streamsize>(m_[i].size() * sizeof(float));
    if (!in.read(reinterpret_cast<char*>(m_[i].data()), bytes) || !in.read(reinterpret_cast<char*>(v_[i].data()), bytes))
      throw Error("checkpoint's optimizer state ends early");
  }
}

}  // namespace heed
