#pragma once
// One optimizer step's arithmetic before the update: the batch split into one contiguous share
// per thread, each share's forward, loss and backward in that thread's workspace, and the
// threads' gradients summed in thread order into workspaces[0] (the same sums for the same
// thread count, whatever the scheduling).
#include <cstdint>
#include <memory>
#include <vector>

#include "model/model.h"

namespace heed {

// The rows of the batch this process trains on (a contiguous part of it, or all) and what every
// row's loss divides by: the batch's size, or in a distributed run the step's rows over every
// rank, so the ranks' sums add up to the whole step's gradient. `first_stream`: the dropout stream
// of the share's first thread (rank * threads), so no two threads of a run draw the same stream.
struct BatchShare {
  Index begin = 0, end = -1;  // end -1: the whole batch
  int first_stream = 0;
  // Rows every row's loss divides by (0: batch.size); a rank of a distributed run gives the
  // step's rows over every rank.
  Index loss_rows = 0;
};

// Returns the share's summed loss; its summed gradients are in workspaces[0] (grads and
// table_grads, over every row the batch touched). step_seed seeds each thread's dropout.
double train_step(Model& model, const Batch& batch, std::vector<std::unique_ptr<Model::Workspace>>& workspaces,
                  int threads, std::uint64_t step_seed, BatchShare share = {});

}  // namespace heed
