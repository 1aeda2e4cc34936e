#pragma once
// Scores one request's candidates with a shared, read-only model, computing once what depends
// only on the user. The plain way (encode_rows + score_dataset) repeats the user's features in
// every candidate's row; this one, for N candidates:
//
//   user row    -> keys -> rows          once   (BatchBuilder, scoring mode)
//               -> pooled user fields    once   [1, F_u*E]
//               -> history keys [T, Q]   once   and DIN's key terms k (Wk - Wd) [T, h1] once
//   candidates  -> keys -> rows, pooled candidate fields   per candidate
//   per chunk of candidates:
//     fields [c, F*E] = user fields (copied) | candidate fields
//     DIN: queries from the candidates' fields; the history laid out once per candidate
//          (keys and key terms copied, no GEMM): forward_with_key_terms
//     -> Model::forward_fields (SENet, dense inputs, POSO, MLP) -> logits [c, 1]
//
// The numbers equal the plain path's to float rounding (tests/serve compare them to 1e-6).
// Chunks hold at most kChunkRows candidates and about kChunkKeys history keys, so a scorer's
// memory is bounded by the longest request the server lets through, whatever N.
#include <vector>

#include "data/batch.h"
#include "embedding/batch_builder.h"
#include "model/model.h"
#include "serve/score_request.h"

namespace heed::serve {

// What explain asks for, per candidate.
struct Explanation {
  // Per DIN attention (Model::din() order), per candidate: the weight of each history value the
  // model kept, oldest first.
  std::vector<std::vector<std::vector<float>>> din;
  Matrix senet;  // [candidates, weight width] SENet's weights (no columns without SENet)
};

class RequestScorer {
 public:
  static constexpr Index kChunkRows = 128;
  static constexpr Index kChunkKeys = 128 * 64;

  explicit RequestScorer(const Model& model);

  // Click probability of every candidate, in order; fills `explain` when given.
  std::vector<float> score(const EncodedRequest& request, Explanation* explain = nullptr);

 private:
  // Per DIN attention: the shared history, and the key terms of a chunk's keys.
  struct History {
    bool shared = false;
    Index length = 0;    // T: values in the user's history
    Matrix keys;         // [T, Q]
    Matrix key_terms;    // [T, h1]
    Matrix chunk_terms;  // [keys of a chunk, h1]
  };
  Index keys_of(std::size_t group, Index candidate) const;
  void attend(std::size_t group, Index begin, Index count);
  void reserve_keys(std::size_t group, Index keys);

  const Model& model_;
  BatchBuilder builder_;
  std::unique_ptr<Model::Workspace> ws_;
  Batch user_batch_, candidate_batch_;
  std::vector<std::size_t> rows_;
  Matrix user_fields_;  // [1, F*E] the pooled shared features (others unused)
  Matrix dense_;        // [kChunkRows, D]
  std::vector<History> history_;
};

// The plain path, for tests and comparisons: every candidate as a full row through the batch
// scorer that `heed predict` uses.
std::vector<float> score_plain(const ScoreRequest& request, const ServedModel& model);

}  // namespace heed::serve
