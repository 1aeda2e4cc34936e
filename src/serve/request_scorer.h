#pragma once
// Scores one request's candidates with a shared, read-only model: the model's per-user
// schedule (model/per_user_forward.h) on the request's encoded rows. The user's share of the
// work is done once per request; the numbers equal `heed predict`'s on the same rows to float
// rounding. Serving holds no forward pass of its own.
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "model/per_user_forward.h"
#include "serve/score_request.h"

namespace heed::serve {

using Explanation = CandidateExplanation;

class RequestScorer {
 public:
  explicit RequestScorer(const Model& model) : forward_(model) {}

  // Click probability of every candidate, in order; fills `explain` when given.
  std::vector<float> score(const EncodedRequest& request, Explanation* explain = nullptr) {
    return forward_.score(request.user, request.candidates, request.shared, explain);
  }

 private:
  PerUserForward forward_;
};

// A request's explanation as /v1/score answers it under "explain": per DIN attention (named by
// its lead feature) each candidate's weights, and SENet's field weights per candidate.
nlohmann::ordered_json explanation_json(const ServedModel& model, const Explanation& explanation);

// The plain path, for tests and comparisons: every candidate as a full row through the batch
// scorer that `heed predict` uses.
std::vector<float> score_plain(const ScoreRequest& request, const ServedModel& model);

}  // namespace heed::serve
