#pragma once
// Finding where a NaN or Inf entered a training step. A step is checked in the order it runs:
// the loss (and, when it is not finite, every stage of the forward pass in order, so the
// message names the first layer whose output went bad and the rows that carried it), then the
// summed gradients, then the weights after the update. The trainer stops on the first finding,
// before anything is saved, so the last checkpoint on disk stays the last good one.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "train/train_step.h"

namespace heed {

struct NonFinite {
  std::string where;                // "output of mlp.1", "gradient of senet.excite.0.weight", ...
  std::vector<std::size_t> rows;    // batch rows whose values went bad (forward stages only)
};

// The first forward stage whose output holds a NaN or Inf. workspaces[t] scored its thread's
// part of the share of batch rows train_step was given in the step just taken.
std::optional<NonFinite> first_non_finite_stage(const Model& model, const Batch& batch,
                                                const std::vector<std::unique_ptr<Model::Workspace>>& workspaces,
                                                int threads, BatchShare share = {});

// The first dense parameter (in declaration order) whose gradient is not finite, else the
// first table whose row gradients are not.
std::optional<NonFinite> first_non_finite_gradient(const Model& model, const Model::Workspace& summed);

// The first dense parameter, else table row among `touched`, holding a NaN or Inf.
std::optional<NonFinite> first_non_finite_weight(const Model& model, const Batch& batch);

// Scales the summed gradients (dense and embedding together) so their global L2 norm is at
// most max_norm; returns the norm before clipping.
double clip_gradients(Model::Workspace& summed, double max_norm);

}  // namespace heed
