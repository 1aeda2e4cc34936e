#pragma once
// Scores rows with a trained model: batches in file order, each cut into fixed-size chunks
// that threads share, so the numbers do not depend on the thread count;
// unseen keys read as the config says (zero or the learned default). Used by evaluation
// (eval/evaluation.h), `heed predict` and explanations, so all compute the same numbers.
#include <vector>

#include "data/dataset.h"
#include "model/model.h"

namespace heed {

// Click probabilities of every row of `data`, in order.
std::vector<float> score_dataset(const Model& model, const Dataset& data, int threads);

}  // namespace heed
