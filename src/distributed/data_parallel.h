#pragma once
// Data-parallel steps over the ranks of a run (docs/distributed.md). Every rank builds the same
// global batch (the same rows, the same embedding rows inserted, so the tables stay the same on
// every rank), trains on its contiguous share of it, and the ranks then sum their gradients:
// afterwards each rank holds the whole batch's gradient and takes the same optimizer step.
#include <cstddef>
#include <vector>

#include "distributed/communicator.h"
#include "model/model.h"
#include "train/train_step.h"

namespace heed {

// Rank r of N trains on rows [size*r/N, size*(r+1)/N) of a batch of `size` rows (a batch smaller
// than N leaves some ranks none: they add zeros).
BatchShare share_of(std::size_t size, const Communicator& peers, int threads);

class GradientExchange {
 public:
  explicit GradientExchange(Communicator& peers) : peers_(peers) {}

  // Sums every rank's dense gradients and embedding-row gradients (for the rows the batch
  // touched, the same list on every rank) in `total`, and their losses; returns the batch's loss.
  // Without `rows` (sharded embeddings, whose row gradients go to their owners instead), the
  // dense gradients only.
  double sum(Model::Workspace& total, double loss, bool rows = true);
  // Each rank folded its own shares' batch statistics into the running statistics (Dice's mean
  // and variance, the parameters no optimizer trains); this replaces them by their mean over
  // the ranks, so every rank evaluates with the same model.
  void average_running_statistics(ParamSet& params);

 private:
  Communicator& peers_;
  std::vector<float> buffer_;
};

}  // namespace heed
