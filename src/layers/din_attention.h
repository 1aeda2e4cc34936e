#pragma once
// DIN target attention (Zhou et al. 2018): pools a row's behaviour sequence (keys) with weights
// that depend on the candidate item (query).
//
//   queries [R, Q]   one query per batch row (Q = E times the features of the query tuple)
//   keys    [N, Q]   every row's keys, flattened: row i owns keys[offsets[i], offsets[i+1]),
//                    offsets [R + 1] relative to the chunk, offsets[0] = 0, N = offsets[R]
//   pooled  [R, Q]   pooled_i = sum_j w_ij k_ij   (a row without keys pools to zero)
//
// Activation unit, per key: [q, k, q - k, q * k] [4Q] -> Dense(4Q, h1) -> act -> ... -> Dense(., 1)
// -> score. The weight is, per DinNormalize: the raw score (as in the paper), a softmax over the
// row's keys, or the raw score divided by the row's key count m (mean) or by sqrt(m) (sqrtn).
// Raw weights let a pooled vector grow with the history's length; on logs whose histories range
// from 1 to 50 items that scale swamps the other fields (docs/results.md). Padding never exists
// physically: a key outside its row's range is never read, gets no weight and no gradient.
//
// Fast path: with the first layer's weight W1 = [Wq; Wk; Wd; Wp] ([4Q, h1], stored as one
// parameter "<name>.0.weight"), its pre-activation is
//   q (Wq + Wd) + k (Wk - Wd) + (q * k) Wp + b
// The query term is one GEMM over the R rows, the key term one GEMM over the N keys, the product
// term one GEMM over the N elementwise products; the [N, 4Q] concatenation is never built.
//
// Serving: the key term depends on the keys alone, so a request can compute it once with
// key_terms() and pass it to forward_with_key_terms() (evaluation mode). When every candidate of
// a request shares one behaviour sequence, lay the sequence out once per candidate (keys and
// key-term rows copied, no GEMM) and only the query and product terms are computed per candidate.
//
// Parameters, named after `name`: "<name>.0.weight" [4Q, h1], "<name>.0.bias" [1, h1], then
// "<name>.l.weight"/".bias" for the other hidden layers, "<name>.output.weight"/".bias" [., 1];
// per hidden layer its activation: "<name>.l.act.alpha" (PReLU, starts at 0.25) or
// "<name>.l.dice.{alpha,running_mean,running_var}" (Dice, see dice.h). Without hidden layers
// the first layer is the output layer, "<name>.output.weight" [4Q, 1]: first_weight() names it.
#include <cstdint>
#include <string>
#include <vector>

#include "config/choices.h"  // DinActivation, DinNormalize
#include "layers/activation.h"
#include "layers/dense.h"
#include "layers/dice.h"
#include "layers/din_key_lanes.h"

namespace heed {

// The factor a non-softmax normalization applies to the raw scores of a row with m keys.
float din_score_scale(DinNormalize normalize, Index m);

struct DinOptions {
  // Activation unit MLP widths (may be empty: a linear score).
  std::vector<Index> hidden = {80, 40};
  DinActivation activation = DinActivation::kDice;
  DinNormalize normalize = DinNormalize::kRaw;  // how a row's scores become its weights
};

class DinAttention {
 public:
  DinAttention(ParamSet& params, const std::string& name, Index width, const DinOptions& options,
               Rng& rng);

  Index width() const { return width_; }
  const DinOptions& options() const { return options_; }
  Index first_width() const { return layers_[0].out(); }        // h1 (1 without hidden layers)
  ParamId first_weight() const { return layers_[0].weight(); }  // [4Q, h1]
  ParamId first_bias() const { return layers_[0].bias(); }      // [1, h1]

  // Whole rows [first_row, end_row) and their keys [first_key, first_key + keys): what training
  // and batch scoring run through the unit at a time (din_attention.cpp).
  struct KeyTile {
    Index first_row, end_row, first_key, keys;
  };
  // Per-thread buffers for up to max_rows rows and max_keys keys in all (N).
  struct Cache {
    Index rows = 0, keys = 0;  // of the last forward
    std::vector<KeyTile> tiles;  // of the last forward, which backward follows
    Matrix query_weight;       // [Q, h1] Wq + Wd
    Matrix key_weight;         // [Q, h1] Wk - Wd
    Matrix query_term;         // [R, h1] q (Wq + Wd) + b
    // Only the scores and weights are kept for the whole batch: the rest holds one tile at a
    // time in its first rows, and backward recomputes each tile (tile_hidden). With Dice, the
    // one tile is the whole batch.
    Matrix product;            // [N, Q] q * k
    // [N, h_l] pre-activation of hidden layer l (pre[0]: the split first layer)
    std::vector<Matrix> pre;
    std::vector<Matrix> act;        // [N, h_l]
    std::vector<Dice::Cache> dice;  // per hidden layer (Dice only)
    Matrix score;                   // [N, 1] output of the activation unit
    Matrix weight;                  // [N, 1] pooling weight of each key
    Matrix d_score;                 // [N, 1] backward: first d weight, then d score
    std::vector<Matrix> d_act;      // [N, h_l]
    std::vector<Matrix> d_pre;      // [N, h_l]
    Matrix d_product;               // [N, Q]
    Matrix d_query_term;            // [R, h1]
    Matrix d_weight_share;          // [Q, h1] the query term's gradient, added to two blocks of dW1
    Matrix d_key_share;             // [Q, h1] the key term's, summed over the tiles
  };
  Cache make_cache(Index max_rows, Index max_keys) const;

  // The layer contract (layer_contract.h). keys may hold more rows than offsets[rows]; those
  // are never read.
  struct Input {
    ConstMatrixView queries;        // [rows, Q]
    ConstMatrixView keys;           // [N, Q]
    const std::uint32_t* offsets;   // [rows + 1]
  };
  using Output = MatrixView;           // pooled [rows, Q]
  using OutputGrad = ConstMatrixView;  // d_pooled [rows, Q]
  // Overwritten: d_queries [rows, Q] and d_keys (same rows as keys; rows past offsets[rows] are
  // set to zero).
  struct InputGrad {
    MatrixView d_queries;
    MatrixView d_keys;
  };

  // pass.training: Dice uses the batch statistics of the keys.
  void forward(const ParamSet& params, const Input& input, Index rows, MatrixView pooled, Cache& cache,
               Pass pass) const;
  void backward(const ParamSet& params, const Input& input, Index rows, const ConstMatrixView& d_pooled,
                InputGrad* d_input, Cache& cache, Gradients& grads) const;

  // The key side of the first layer, k (Wk - Wd): keys [n, Q] -> out [n, h1].
  void key_terms(const ParamSet& params, const ConstMatrixView& keys, MatrixView out) const;
  // forward() in evaluation mode with key_terms [N, h1] = key_terms(keys) computed beforehand.
  void forward_with_key_terms(const ParamSet& params, const ConstMatrixView& queries,
                              const ConstMatrixView& keys, const ConstMatrixView& key_terms,
                              const std::uint32_t* offsets, Index rows, MatrixView pooled,
                              Cache& cache) const;

  // Serving, one behaviour sequence shared by every row (a request's user history), evaluation
  // mode. Equal keys get equal weights whatever the query, so the sequence is kept as its
  // distinct keys, each with the number of times it occurs; the key side of the first layer
  // (with its bias) is computed once per request, not once per candidate:
  //   pre_ij = q_i (Wq + Wd)  +  [k_j (Wk - Wd) + b]  +  (q_i * k_j) Wp
  //            per row           per distinct key         per (row, key): one GEMM per block of rows
  // and the rest of the unit runs on blocks of (row, key) pairs small enough to stay in cache,
  // each layer's bias and Dice applied in the same pass as the GEMM's result is read.
  struct SharedKeys {
    Matrix keys;             // [T, Q] distinct keys
    Eigen::VectorXf counts;  // [T] occurrences of each in the sequence
    Matrix key_terms;        // [T, h1] k (Wk - Wd) + b
    // Reduced precision only: the distinct key of each value, in sequence order. The pooled
    // sum then runs value by value in that order, as forward() sums a row's keys.
    std::vector<Index> sequence;
    // fp32 on AVX-512F (din_key_lanes.h): keys and key terms with the keys across lanes,
    // [Q, T16] and [h1, T16], T16 = T rounded up to 16, zero past T.
    Matrix lane_keys, lane_key_terms;
  };
  // Fills shared.key_terms from shared.keys.
  void prepare_shared_keys(const ParamSet& params, SharedKeys& shared) const;
  // Per-scorer buffers of forward_shared; grow on demand, never shrink.
  struct SharedScratch {
    Matrix query_weight;         // [Q, h1] Wq + Wd
    Matrix query_terms;          // [R, h1]
    Matrix product;              // [block, Q] q * k
    std::vector<Matrix> hidden;  // per hidden layer [block, h_l]
    Eigen::VectorXf score;       // [block]
    // The key-lane schedule: one row's q * Wp [Q, h1] (its product term's weights), each hidden
    // layer's activations [h_l, 48 keys], the row's scores [T16], each Dice layer's
    // -inv_std log2(e) and 1 - alpha [2, h_l], each hidden layer's activation.
    Matrix query_product;
    std::vector<Matrix> lane_hidden;
    Eigen::VectorXf lane_score;
    std::vector<Matrix> dice_constants;
    std::vector<din_key_lanes::Activation> lane_activations;
  };
  // pooled [rows, Q]: row i pools the sequence with its query queries.row(i). weights, when not
  // null, receives each distinct key's weight per row ([rows, T], row-major).
  void forward_shared(const ParamSet& params, const SharedKeys& shared,
                      const ConstMatrixView& queries, Index rows, MatrixView pooled,
                      SharedScratch& scratch, float* weights) const;

  // Scoring in reduced precision (params.reduced()): the three terms of the first layer and the
  // unit's other layers packed. Evaluation passes then compute, per (row, key) pair and in
  // either schedule, [(k (Wk - Wd) + b) + q (Wq + Wd)] + (q * k) Wp with lowp::multiply, the
  // unit's layers and Dice per pair, and the pooled sum key by key in sequence order: the same
  // bits from forward() and forward_shared() on the same inputs.
  void pack_products(const ParamSet& params, ReducedProducts& reduced) const;

  // Weight of each key in the last forward, [N] (for explain/serving).
  const float* weights(const Cache& cache) const { return cache.weight.data(); }

  // Dice running statistics: after a training step, fold the batch statistics of each thread's
  // cache (equal weight per cache that saw keys) into the running statistics used in
  // evaluation. Nothing to do with PReLU.
  void update_running_statistics(ParamSet& params, const std::vector<const Cache*>& caches) const;

 private:
  void tile_hidden(const ParamSet& params, const ConstMatrixView& queries, const ConstMatrixView& keys,
                   const ConstMatrixView* key_terms, const std::uint32_t* offsets, const KeyTile& tile, Cache& cache,
                   Pass pass) const;
  void check_shapes(const ConstMatrixView& queries, const ConstMatrixView& keys,
                    const std::uint32_t* offsets, Index rows, const Cache& cache) const;
  // Everything after the key term: the product term, the unit's MLP, the weights, the pooling.
  // key_terms null: the key term's GEMM (keys times cache.key_weight) accumulates into the
  // first layer's pre-activation directly.
  void forward_from_key_terms(const ParamSet& params, const ConstMatrixView& queries,
                              const ConstMatrixView& keys, const ConstMatrixView* key_terms,
                              const std::uint32_t* offsets, Index rows, MatrixView pooled,
                              Cache& cache, Pass pass) const;
  // forward() in evaluation mode, reduced precision.
  void forward_reduced(const ParamSet& params, const ConstMatrixView& queries, const ConstMatrixView& keys,
                       const std::uint32_t* offsets, Index rows, MatrixView pooled, Cache& cache) const;
  // forward_shared() in fp32 with the keys across SIMD lanes (din_key_lanes.h): each row's
  // unit runs over its distinct keys 48 at a time, every layer's bias and activation applied
  // in registers.
  void forward_shared_key_lanes(const ParamSet& params, const SharedKeys& shared, const ConstMatrixView& queries,
                                Index rows, MatrixView pooled, SharedScratch& scratch, float* weights) const;
  // A row's weights from its raw scores over the distinct keys (fp32), and its pooled vector.
  void pool_distinct(const SharedKeys& shared, float* score, float* pooled, float* weights) const;
  // forward_shared() in reduced precision.
  void forward_shared_reduced(const ParamSet& params, const SharedKeys& shared, const ConstMatrixView& queries,
                              Index rows, MatrixView pooled, SharedScratch& scratch, float* weights) const;

  Index width_;
  DinOptions options_;
  std::vector<Dense> layers_;  // layers_[0] on [q, k, q-k, q*k]; the last one outputs the score
  std::vector<Activation> activations_;  // PReLU, per hidden layer
  std::vector<Dice> dice_;               // Dice, per hidden layer
};
static_assert(Layer<DinAttention>);

}  // namespace heed
