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

// Returns the batch's summed loss; the summed gradients are in workspaces[0] (grads and
// table_grads). step_seed seeds each thread's dropout.
double train_step(Model& model, const Batch& batch, std::vector<std::unique_ptr<Model::Workspace>>& workspaces,
                  int threads, std::uint64_t step_seed);

}  // namespace heed
