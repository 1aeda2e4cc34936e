#include "distributed/data_parallel.h"

#include <algorithm>

namespace heed {

double GradientExchange::sum(Model::Workspace& total, double loss) {
  if (peers_.size() == 1) return loss;
  // One message of floats, every dense gradient in parameter order; the loss, a double, in a
  // second one.
  buffer_.clear();
  Gradients& grads = total.gradients();
  for (std::size_t p = 0; p < grads.size(); ++p) {
    const Matrix& g = grads[p];
    buffer_.insert(buffer_.end(), g.data(), g.data() + g.size());
  }
  peers_.sum(buffer_);
  const float* at = buffer_.data();
  for (std::size_t p = 0; p < grads.size(); ++p) {
    Matrix& g = grads[p];
    std::copy(at, at + g.size(), g.data());
    at += g.size();
  }
  double losses[1] = {loss};
  peers_.sum(losses);
  return losses[0];
}

void GradientExchange::average_running_statistics(ParamSet& params) {
  if (peers_.size() == 1) return;
  buffer_.clear();
  for (std::size_t p = 0; p < params.size(); ++p)
    if (!params.param(p).trainable) buffer_.insert(buffer_.end(), params[p].data(), params[p].data() + params[p].size());
  if (buffer_.empty()) return;
  peers_.sum(buffer_);
  const float ranks = static_cast<float>(peers_.size());
  const float* at = buffer_.data();
  for (std::size_t p = 0; p < params.size(); ++p) {
    if (params.param(p).trainable) continue;
    Matrix& value = params[p];
    for (Index i = 0; i < value.size(); ++i) value.data()[i] = at[i] / ranks;
    at += value.size();
  }
}

}  // namespace heed
