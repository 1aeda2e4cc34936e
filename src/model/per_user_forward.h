#pragma once
// The model's second schedule: one user's candidates, with what depends only on the user
// computed once. Model::forward repeats the user's features in every candidate's row; this
// schedule runs the same stages (Model's pool_feature, attend, build_input, gather_poso_input,
// the MLP) on the rows each needs:
//
//   stage            user-only input (shared)                     otherwise
//   pooling          pooled once from the user's row, copied      per candidate
//   DIN              the history's distinct keys and their key    the plain attend stage
//                    terms once, forward_shared per candidate
//   dense inputs     the user's value, copied                     per candidate
//   SENet            per candidate (its weights depend on every field)
//   POSO gates       once, when every gate input is the user's    the plain stage per candidate
//   first MLP layer  pre_0 = [candidate columns | a_f of the gated user fields] [W_cand; u_f W_f]
//                    + b_0 + the ungated user fields' and user dense inputs' u W
//                    (exact: SENet's field axis scales a whole field, and x W is linear in each
//                    field); without a hidden layer, the plain forward_fields
//   other layers     Mlp::forward_after_first, the user's gates shared by every row
//
// A stage the schedule has no split for runs as the plain forward runs it, so a model option
// it does not know about changes both schedules alike. The numbers equal Model::forward's to
// float rounding (tests/model/per_user_forward_test.cpp compares them to 1e-6 over every
// model-shaping option). Chunks hold at most kChunkRows candidates and about kChunkKeys
// history values laid out per candidate, so memory is bounded by the longest request.
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "embedding/batch.h"
#include "embedding/batch_builder.h"
#include "model/model.h"

namespace heed {

// What an explanation holds, per candidate.
struct CandidateExplanation {
  // Per DIN attention (Model::din() order), per candidate: the weight of each history value the
  // model kept, oldest first.
  std::vector<std::vector<std::vector<float>>> din;
  Matrix senet;  // [candidates, weight width] SENet's weights (no columns without SENet)
};

class PerUserForward {
 public:
  static constexpr Index kChunkRows = 128;
  static constexpr Index kChunkKeys = 128 * 64;

  explicit PerUserForward(const Model& model);

  // Click probability of every row of `candidates`, in order. `user` holds one row (or none)
  // with the features every candidate shares; shared[feature] says whether `user` holds it
  // (and then `candidates` does not). Fills `explain` when given.
  std::vector<float> score(const Dataset& user, const Dataset& candidates, const std::vector<char>& shared,
                           CandidateExplanation* explain = nullptr);

 private:
  // Per DIN attention: the user's history (unused when the candidates carry their own).
  struct History {
    bool shared = false;
    Index length = 0;                     // T: values in the user's history
    Matrix keys;                          // [T, Q] value by value
    std::vector<Index> distinct_of;       // [T] each value's distinct key
    DinAttention::SharedKeys distinct;    // the distinct keys, their counts and key terms
    DinAttention::SharedScratch scratch;  // forward_shared's buffers
    Matrix weights;                       // [chunk rows, distinct keys] for explain
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
  Index next_chunk(Index begin, Index candidates, std::vector<Index>& chunk_keys) const;
  void attend_shared(std::size_t group, Index count, bool explain);
  void prepare_history(std::size_t group);
  void prepare_first_layer(const std::vector<char>& shared);
  bool prepare_user_gates(const std::vector<char>& shared);
  void forward_chunk(Index count);
  void explain_chunk(Index begin, Index count, CandidateExplanation& explain) const;

  const Model& model_;
  BatchBuilder builder_;
  std::unique_ptr<Model::Workspace> ws_;
  Batch user_batch_, candidate_batch_;
  std::vector<std::size_t> rows_;
  Matrix user_fields_;  // [1, F*E] the pooled shared features (others unused)
  Matrix dense_;        // [kChunkRows, D]
  std::vector<History> history_;
  FirstLayer first_;
  std::unique_ptr<PosoGates::Cache> user_poso_;  // the user's gate networks' buffers
  std::unique_ptr<PosoGates::Gates> user_poso_gates_;  // the user's gates, one row per gated layer
  Matrix user_poso_input_;                      // [1, P]
  bool user_gates_ = false;                     // this request's gates are the user's
};

}  // namespace heed
