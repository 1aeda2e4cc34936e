#pragma once
// Adam for the dense weights, with bias correction and optional L2 (added to the gradient).
// Parameters marked non-trainable (running statistics) are left untouched.
#include <iosfwd>
#include <vector>

#include "config/config.h"
#include "layers/params.h"

namespace heed {

class Adam {
 public:
  Adam(const ParamSet& params, const OptimizerConfig& config);

  void step(ParamSet& params, const Gradients& grads);
  std::int64_t steps() const { return t_; }

  void save(std::ostream& out) const;
  void load(std::istream& in);

 private:
  float lr_, beta1_, beta2_, epsilon_, l2_;
  std::int64_t t_ = 0;
  std::vector<Matrix> m_, v_;
};

}  // namespace heed
