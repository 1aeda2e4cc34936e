#include "core/params.h"

namespace heed {

ParamId ParamSet::add(std::string name, Index rows, Index cols) { return add(std::move(name), rows, cols, true); }

ParamId ParamSet::add(std::string name, Index rows, Index cols, bool trainable) {
  params_.push_back({std::move(name), Matrix::Zero(rows, cols), trainable});
  return params_.size() - 1;
}

std::size_t ParamSet::count() const {
  std::size_t n = 0;
  for (const auto& p : params_) n += static_cast<std::size_t>(p.value.size());
  return n;
}

void ParamSet::init_uniform(ParamId id, float limit, Rng& rng) {
  Matrix& m = params_[id].value;
  for (Index i = 0; i < m.size(); ++i)
    m.data()[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * limit);
}

Gradients::Gradients(const ParamSet& params) {
  grads_.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i)
    grads_.push_back(Matrix::Zero(params[i].rows(), params[i].cols()));
}

void Gradients::zero() {
  for (auto& g : grads_) g.setZero();
}

double Gradients::squared_norm() const {
  double squares = 0;
  for (const auto& g : grads_) squares += g.cast<double>().squaredNorm();
  return squares;
}

void Gradients::scale(float factor) {
  for (auto& g : grads_) g *= factor;
}

void Gradients::add(const Gradients& other) {
  for (std::size_t i = 0; i < grads_.size(); ++i) grads_[i] += other.grads_[i];
}

}  // namespace heed
