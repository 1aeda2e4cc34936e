#pragma once
// A model's weights packed for scoring in reduced precision (core/lowp.h), built once when a
// model is loaded with scoring.precision bf16 or int8 and attached to its ParamSet. The layers'
// evaluation passes multiply with these instead of the fp32 weights; training never sees them
// (a model being trained has none). Each layer packs its own products (pack_products).
// Mixed-precision training (train.precision = "bf16") keeps a second set, the MLP's weights and
// their transposes re-packed every step (ParamSet::training_products, Dense::list_training_packs).
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "core/lowp.h"
#include "core/params.h"

namespace heed {

class ReducedProducts {
 public:
  explicit ReducedProducts(Precision precision) : precision_(precision) {}

  Precision precision() const { return precision_; }

  // The packed form of weight `id` (term 0), or of a matrix derived from it (DIN's first layer
  // splits its weight into three terms).
  void add(ParamId id, lowp::PackedWeight packed, int term = 0) { packed_[{id, term}] = std::move(packed); }
  // The packed form's storage, created empty on first use: mixed-precision training re-packs
  // into it every step, reusing its buffers.
  lowp::PackedWeight& slot(ParamId id, int term = 0) { return packed_[{id, term}]; }
  // nullptr when that weight was not packed: its product stays in fp32.
  const lowp::PackedWeight* find(ParamId id, int term = 0) const {
    const auto it = packed_.find({id, term});
    return it == packed_.end() ? nullptr : &it->second;
  }

 private:
  Precision precision_;
  std::map<std::pair<ParamId, int>, lowp::PackedWeight> packed_;
};

// One weight that mixed-precision training rounds to bf16 every step, as it is (for y = x W) or
// transposed (for dx = dy W^T), into its buffer in a ReducedProducts. The packs are listed on one
// thread (listing creates the buffers' slots); a step's packs are independent of each other, so
// any thread may run any of them.
struct TrainingPack {
  const Matrix* weight;
  lowp::PackedWeight* into;
  bool transposed;
};
using TrainingPacks = std::vector<TrainingPack>;
// Runs every pack, on up to `threads` threads; the packed bits do not depend on how many.
void run_training_packs(std::span<const TrainingPack> packs, int threads);

}  // namespace heed
