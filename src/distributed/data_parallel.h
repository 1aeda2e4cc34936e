#pragma once
// Data-parallel steps over the ranks of a run (docs/distributed.md). Each rank trains on its own
// batch (drawn from its part of the training files), and the ranks then sum their gradients:
// afterwards each rank holds the whole step's gradient and takes the same optimizer step.
#include <cstddef>
#include <vector>

#include "distributed/communicator.h"
#include "model/model.h"
#include "train/train_step.h"

namespace heed {

class GradientExchange {
 public:
  explicit GradientExchange(Communicator& peers) : peers_(peers) {}

  // Sums every rank's dense gradients in `total`, and their losses; returns the step's loss. (The
  // embedding rows' gradients go to the rows' owners instead: sharded_embeddings.h.)
  double sum(Model::Workspace& total, double loss);
  // Each rank folded its own shares' batch statistics into the running statistics (Dice's mean
  // and variance, the parameters no optimizer trains); this replaces them by their mean over
  // the ranks, so every rank evaluates with the same model.
  void average_running_statistics(ParamSet& params);

 private:
  Communicator& peers_;
  std::vector<float> buffer_;
};

}  // namespace heed
