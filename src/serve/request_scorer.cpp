#include "serve/request_scorer.h"

#include "model/scorer.h"

namespace heed::serve {

std::vector<float> score_plain(const ScoreRequest& request, const ServedModel& model) {
  return score_dataset(model.model(), encode_rows(request, model), 1);
}

}  // namespace heed::serve
