#pragma once
// Adam for the dense weights, with bias correction and optional L2 (added to the gradient).
// Parameters marked non-trainable (running statistics) are left untouched.
#include <iosfwd>
#include <vector>

#include "config/config.h"
#include "core/params.h"

namespace heed {

class Adam {
 public:
  Adam(const ParamSet& params, const OptimizerConfig& config);

  // One update of every trainable weight. Each weight's update reads only its own gradient and
  // moments, so `threads` split the weights between them and the result is the same for any count.
  void step(ParamSet& params, const Gradients& grads, int threads = 1);
  std::int64_t steps() const { return t_; }

  void save(std::ostream& out) const;
  void load(std::istream& in);

 private:
  float lr_, beta1_, beta2_, epsilon_, l2_;
  std::int64_t t_ = 0;
  std::vector<Matrix> m_, v_;
  // The trainable weights cut into pieces of about kPieceSize values, for the threads to share.
  struct Piece {
    std::size_t param;
    Index begin, end;
  };
  static constexpr Index kPieceSize = 16384;
  std::vector<Piece> pieces_;
};

}  // namespace heed
