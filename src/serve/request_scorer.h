#pragma once
// Scores one request's candidates with a shared, read-only model, computing once what depends
// only on the user. The plain way (encode_rows + score_dataset) repeats the user's features in
// every candidate's row; this one, for N candidates:
//
//   user row    -> keys -> rows          once   (BatchBuilder, scoring mode)
//               -> pooled user fields    once   [1, F_u*E]
//               -> history: its distinct keys and their counts, DIN's key terms   once
//               -> POSO gates, when every gate input is the user's                once
//               -> the first MLP layer's user part: u_f W_f per user field        once
//   candidates  -> keys -> rows, pooled candidate fields   per candidate
//   per chunk of candidates:
//     fields [c, F*E] = user fields (copied) | candidate fields
//     DIN: forward_shared over the distinct history keys (per-candidate histories: the keys
//          laid out per candidate, forward_with_key_terms)
//     -> SENet [c, F*E] and its field weights a [c, n]
//     -> first layer: pre_0 = [candidate columns | a_f of the gated user fields] [W_cand; u_f W_f]
//                             + b_0 + the ungated user fields' and user dense inputs' u W
//        (exact: SENet's field axis scales a whole field, and x W is linear in each field)
//     -> the other MLP layers, the user's POSO gates shared by every row -> logits [c, 1]
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
  // Per DIN attention: the user's history (or, per candidate, the chunk's key terms).
  struct History {
    bool shared = false;
    Index length = 0;                     // T: values in the user's history
    Matrix keys;                          // [T, Q] value by value
    std::vector<Index> distinct_of;       // [T] each value's distinct key
    DinAttention::SharedKeys distinct;    // the distinct keys, their counts and key terms
    DinAttention::SharedScratch scratch;  // forward_shared's buffers
    Matrix weights;                       // [chunk rows, distinct keys] for explain
    Matrix chunk_terms;                   // [keys of a chunk, h1] per-candidate histories
  };
  // The first MLP layer split into what each candidate brings and what the user does.
  struct FirstLayer {
    std::vector<char> per_candidate;  // per MLP input column: computed per candidate
    std::vector<Index> columns;       // those columns, in order
    std::vector<Index> user_gated;    // SENet weight index of each user field scaled per candidate
    std::vector<int> user_gated_fields;
    Matrix weight;                    // [columns + user_gated, h0]: W_0's rows, then u_f W_f
    Eigen::RowVectorXf constant;      // [h0] b_0 + what the ungated user fields and dense add
    Matrix x;                         // [kChunkRows, columns + user_gated]
  };
  Index keys_of(std::size_t group, Index candidate) const;
  void attend(std::size_t group, Index begin, Index count, bool explain);
  void reserve_keys(std::size_t group, Index keys);
  void prepare_history(std::size_t group);
  void prepare_first_layer(const EncodedRequest& request);
  bool prepare_user_gates(const EncodedRequest& request);
  void forward_chunk(Index count);

  const Model& model_;
  BatchBuilder builder_;
  std::unique_ptr<Model::Workspace> ws_;
  Batch user_batch_, candidate_batch_;
  std::vector<std::size_t> rows_;
  Matrix user_fields_;  // [1, F*E] the pooled shared features (others unused)
  Matrix dense_;        // [kChunkRows, D]
  std::vector<History> history_;
  FirstLayer first_;
  std::unique_ptr<PosoGates::Cache> user_poso_;  // the user's gates, one row per gated layer
  Matrix user_poso_input_;                      // [1, P]
  bool user_gates_ = false;                     // this request's gates are the user's
};

// The plain path, for tests and comparisons: every candidate as a full row through the batch
// scorer that `heed predict` uses.
std::vector<float> score_plain(const ScoreRequest& request, const ServedModel& model);

}  // namespace heed::serve
