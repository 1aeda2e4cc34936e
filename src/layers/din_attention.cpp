#include "layers/din_attention.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/error.h"
#include "core/gemm.h"
#include "core/lowp.h"
#include "layers/reduced_products.h"

namespace heed {
namespace {
// Dense and Activation keep nothing between passes.
NoCache kNone;
}  // namespace
namespace {

// The first layer's three terms in ReducedProducts, under the first weight's id.
enum Term { kQueryTerm = 1, kKeyTerm = 2, kProductTerm = 3 };

const lowp::PackedWeight& term(const ParamSet& params, ParamId first_weight, Term t) {
  const lowp::PackedWeight* packed = params.reduced()->find(first_weight, t);
  HEED_CHECK(packed, "din attention: scoring in reduced precision without its packed first layer");
  return *packed;
}

// How a row's raw scores become weights, in reduced precision.
struct Normalizer {
  bool softmax = false;
  float top = 0.0f, total = 0.0f, scale = 1.0f;
  float weight(float score) const { return softmax ? std::exp(score - top) / total : scale * score; }
};

// Reduced precision: one row's pooled vector [Q] from its m values' scores, value by value in
// sequence order; value j reads score and key row index[j] (j itself when index is null).
Normalizer pool_in_order(DinNormalize normalize, const float* score, const Index* index, Index m,
                         const ConstMatrixView& keys, float* pooled, float* weights) {
  const Index Q = keys.cols();
  std::fill(pooled, pooled + Q, 0.0f);
  Normalizer norm;
  if (m == 0) return norm;
  auto at = [&](Index j) { return index ? index[j] : j; };
  if (normalize == DinNormalize::kSoftmax) {
    norm.softmax = true;
    norm.top = score[at(0)];
    for (Index j = 1; j < m; ++j) norm.top = std::max(norm.top, score[at(j)]);
    for (Index j = 0; j < m; ++j) norm.total += std::exp(score[at(j)] - norm.top);
  } else {
    norm.scale = din_score_scale(normalize, m);
  }
  for (Index j = 0; j < m; ++j) {
    const Index k = at(j);
    const float w = norm.weight(score[k]);
    if (weights) weights[j] = w;
    const float* key = keys.row(k).data();
    for (Index q = 0; q < Q; ++q) pooled[q] += w * key[q];
  }
  return norm;
}

// Training and batch scoring run the unit tile by tile: whole rows, about kTileKeys keys at a
// time (a row with more is a tile of its own). A tile's activations (about 1 KB per key
// forward, 2 KB backward with the reference model's 80 -> 40 unit) then stay in the core's
// cache from one stage to the next, where whole-batch stages, tens of thousands of keys each,
// went to memory and back between every two of them. Dice is one tile: in training it
// normalizes with statistics over every key before any key can go on.
constexpr Index kTileKeys = 256;
// The tiles of `rows` rows into `tiles`, whose buffer is reused (no allocation per batch).
void key_tiles(const std::uint32_t* offsets, Index rows, bool one_tile,
               std::vector<DinAttention::KeyTile>& tiles) {
  tiles.clear();
  Index r0 = 0;
  do {  // at least one tile, so that a call without rows still runs its (empty) stages
    Index r1 = one_tile ? rows : std::min(r0 + 1, rows);
    while (r1 < rows && offsets[r1 + 1] - offsets[r0] <= static_cast<std::uint32_t>(kTileKeys))
      ++r1;
    tiles.push_back(
        {r0, r1, static_cast<Index>(offsets[r0]), static_cast<Index>(offsets[r1] - offsets[r0])});
    r0 = r1;
  } while (r0 < rows);
}

// Grows forward_shared's buffers for blocks of whole rows' sequences, about 256 (row, key)
// pairs at a time, so a block's products stay in cache; returns the rows per block.
Index size_for_blocks(DinAttention::SharedScratch& scratch, Index T, Index Q, const std::vector<Index>& hidden) {
  constexpr Index kBlockPairs = 256;
  const Index block_rows = std::max<Index>(1, kBlockPairs / T);
  const Index capacity = block_rows * T;
  if (scratch.product.rows() < capacity) {
    scratch.product.resize(capacity, Q);
    scratch.hidden.assign(std::max<std::size_t>(hidden.size(), 1), Matrix());
    for (std::size_t l = 0; l < hidden.size(); ++l) scratch.hidden[l].resize(capacity, hidden[l]);
    if (hidden.empty()) scratch.hidden[0].resize(capacity, 1);
    scratch.score.resize(capacity);
  }
  return block_rows;
}

}  // namespace

float din_score_scale(DinNormalize normalize, Index m) {
  if (m <= 0) return 1.0f;
  switch (normalize) {
    case DinNormalize::kMean:
      return 1.0f / static_cast<float>(m);
    case DinNormalize::kSqrtN:
      return 1.0f / std::sqrt(static_cast<float>(m));
    default:
      return 1.0f;
  }
}

DinAttention::DinAttention(ParamSet& params, const std::string& name, Index width,
                           const DinOptions& options, Rng& rng)
    : width_(width), options_(options) {
  HEED_CHECK(width > 0, "{}: the query/key width must be positive, got {}", name, width);
  Index in = 4 * width;
  for (std::size_t l = 0; l < options.hidden.size(); ++l) {
    const Index out = options.hidden[l];
    HEED_CHECK(out > 0, "{}: hidden layer {} must have a positive width, got {}", name, l, out);
    const std::string layer = name + "." + std::to_string(l);
    layers_.emplace_back(params, layer, in, out, rng);
    if (options.activation == DinActivation::kDice) {
      dice_.emplace_back(params, layer + ".dice", out);
    } else {
      activations_.emplace_back(params, layer + ".act", ActivationKind::kPrelu, out);
    }
    in = out;
  }
  layers_.emplace_back(params, name + ".output", in, 1, rng);
}

DinAttention::Cache DinAttention::make_cache(Index max_rows, Index max_keys) const {
  const Index Q = width_, h1 = first_width();
  // Left uninitialized: every pass writes the rows it reads first, and these buffers are
  // sized for the longest batch, so zeroing them touched every page of a large allocation.
  Cache c;
  c.query_weight = Matrix(Q, h1);
  c.key_weight = Matrix(Q, h1);
  c.query_term = Matrix(max_rows, h1);
  c.product = Matrix(max_keys, Q);
  for (std::size_t l = 0; l < options_.hidden.size(); ++l) {
    const Index w = options_.hidden[l];
    c.pre.push_back(Matrix(max_keys, w));
    c.act.push_back(Matrix(max_keys, w));
    c.d_act.push_back(Matrix(max_keys, w));
    c.d_pre.push_back(Matrix(max_keys, w));
    if (!dice_.empty()) c.dice.push_back(dice_[l].make_cache(max_keys));
  }
  c.score = Matrix(max_keys, 1);
  c.weight = Matrix(max_keys, 1);
  c.d_score = Matrix(max_keys, 1);
  c.d_product = Matrix(max_keys, Q);
  c.d_query_term = Matrix(max_rows, h1);
  c.d_weight_share = Matrix(Q, h1);
  c.d_key_share = Matrix(Q, h1);
  c.tiles.reserve(static_cast<std::size_t>(max_rows) + 1);
  return c;
}

void DinAttention::check_shapes(const ConstMatrixView& queries, const ConstMatrixView& keys,
                                const std::uint32_t* offsets, Index rows,
                                const Cache& cache) const {
  HEED_CHECK(queries.cols() == width_ && keys.cols() == width_,
             "din attention: queries and keys must be {} wide, got {} and {}", width_,
             queries.cols(), keys.cols());
  HEED_CHECK(rows <= queries.rows() && rows <= cache.query_term.rows(),
             "din attention: {} rows, but {} queries and a cache for {}", rows, queries.rows(),
             cache.query_term.rows());
  HEED_CHECK(offsets[0] == 0, "din attention: offsets must start at 0, got {}", offsets[0]);
  const Index n = offsets[rows];
  HEED_CHECK(n <= keys.rows() && n <= cache.product.rows(),
             "din attention: {} keys, but {} given and a cache for {}", n, keys.rows(),
             cache.product.rows());
#ifndef NDEBUG
  for (Index i = 0; i < rows; ++i) assert(offsets[i] <= offsets[i + 1]);
#endif
}

void DinAttention::key_terms(const ParamSet& params, const ConstMatrixView& keys,
                             MatrixView out) const {
  const Index Q = width_;
  const Matrix& w1 = params[first_weight()];
  out.noalias() = keys * w1.middleRows(Q, Q);
  out.noalias() -= keys * w1.middleRows(2 * Q, Q);
}

void DinAttention::pack_products(const ParamSet& params, ReducedProducts& reduced) const {
  const Index Q = width_;
  const Matrix& w1 = params[first_weight()];
  const Precision p = reduced.precision();
  reduced.add(first_weight(), lowp::pack(w1.topRows(Q) + w1.middleRows(2 * Q, Q), p), kQueryTerm);
  reduced.add(first_weight(), lowp::pack(w1.middleRows(Q, Q) - w1.middleRows(2 * Q, Q), p), kKeyTerm);
  reduced.add(first_weight(), lowp::pack(w1.bottomRows(Q), p), kProductTerm);
  for (std::size_t l = 1; l < layers_.size(); ++l) layers_[l].pack_products(params, reduced);
}

void DinAttention::forward_reduced(const ParamSet& params, const ConstMatrixView& queries,
                                   const ConstMatrixView& keys, const std::uint32_t* offsets, Index rows,
                                   MatrixView pooled, Cache& cache) const {
  const Pass pass = Pass::evaluation();
  const Index n = offsets[rows];
  const std::size_t L = options_.hidden.size();
  cache.rows = rows;
  cache.keys = n;
  // The key terms k (Wk - Wd) + b go into a buffer the unit fills only after the first layer.
  MatrixView key_terms = L == 0 ? MatrixView(cache.d_score.topRows(n)) : MatrixView(cache.act[0].topRows(n));
  key_terms.rowwise() = params[first_bias()].row(0);
  lowp::multiply(keys.topRows(n), term(params, first_weight(), kKeyTerm), key_terms, /*accumulate=*/true);
  auto query_term = cache.query_term.topRows(rows);
  lowp::multiply(queries.topRows(rows), term(params, first_weight(), kQueryTerm), query_term, false);
  auto product = cache.product.topRows(n);
  auto first = (L == 0 ? cache.score : cache.pre[0]).topRows(n);
  for (Index i = 0; i < rows; ++i)
    for (Index j = offsets[i]; j < offsets[i + 1]; ++j) {
      product.row(j) = queries.row(i).cwiseProduct(keys.row(j));
      first.row(j) = key_terms.row(j) + query_term.row(i);
    }
  lowp::multiply(product, term(params, first_weight(), kProductTerm), first, /*accumulate=*/true);
  for (std::size_t l = 0; l < L; ++l) {
    if (l > 0) layers_[l].forward(params, cache.act[l - 1], n, cache.pre[l], kNone, pass);
    if (dice_.empty()) {
      activations_[l].forward(params, cache.pre[l], n, cache.act[l], kNone, pass);
    } else {
      dice_[l].forward(params, cache.pre[l], n, cache.act[l], cache.dice[l], pass);
    }
  }
  if (L > 0) layers_[L].forward(params, cache.act[L - 1], n, cache.score, kNone, pass);
  for (Index i = 0; i < rows; ++i) {
    const Index begin = offsets[i], m = offsets[i + 1] - offsets[i];
    pool_in_order(options_.normalize, cache.score.data() + begin, nullptr, m, keys.middleRows(begin, m),
                  pooled.row(i).data(), cache.weight.data() + begin);
  }
}

void DinAttention::forward(const ParamSet& params, const Input& input, Index rows, MatrixView pooled,
                           Cache& cache, Pass pass) const {
  const ConstMatrixView& queries = input.queries;
  const ConstMatrixView& keys = input.keys;
  const std::uint32_t* offsets = input.offsets;
  check_shapes(queries, keys, offsets, rows, cache);
  if (!pass.training && params.reduced()) {
    forward_reduced(params, queries, keys, offsets, rows, pooled, cache);
    return;
  }
  const Index Q = width_;
  const Matrix& w1 = params[first_weight()];
  cache.key_weight = w1.middleRows(Q, Q) - w1.middleRows(2 * Q, Q);
  forward_from_key_terms(params, queries, keys, nullptr, offsets, rows, pooled, cache, pass);
}

void DinAttention::forward_with_key_terms(const ParamSet& params, const ConstMatrixView& queries,
                                          const ConstMatrixView& keys,
                                          const ConstMatrixView& key_terms,
                                          const std::uint32_t* offsets, Index rows,
                                          MatrixView pooled, Cache& cache) const {
  check_shapes(queries, keys, offsets, rows, cache);
  HEED_CHECK(key_terms.rows() >= offsets[rows] && key_terms.cols() == first_width(),
             "din attention: key terms must be [{}, {}], got [{}, {}]", offsets[rows],
             first_width(), key_terms.rows(), key_terms.cols());
  if (params.reduced()) {  // the key terms are recomputed from the packed weights
    forward_reduced(params, queries, keys, offsets, rows, pooled, cache);
    return;
  }
  forward_from_key_terms(params, queries, keys, &key_terms, offsets, rows, pooled, cache, Pass::evaluation());
}

// One tile up to the output of the unit's last hidden layer, everything in the first rows of its
// buffer (the tile's own: the next tile overwrites it). Training keeps none of it for backward,
// which calls this again for the tile: recomputing the tile in cache costs less than sending
// every key's pre-activations (about 1 KB a key) to memory and back. Dice's single tile is the
// whole batch and is kept (its statistics span every key).
void DinAttention::tile_hidden(const ParamSet& params, const ConstMatrixView& queries, const ConstMatrixView& keys,
                               const ConstMatrixView* key_terms, const std::uint32_t* offsets, const KeyTile& tile,
                               Cache& cache, Pass pass) const {
  const Index Q = width_, k0 = tile.first_key, nk = tile.keys;
  const std::size_t L = options_.hidden.size();
  const Matrix& w1 = params[first_weight()];
  auto product = cache.product.topRows(nk);  // [nk, Q] q * k
  for (Index i = tile.first_row; i < tile.end_row; ++i)
    for (Index j = offsets[i]; j < offsets[i + 1]; ++j) product.row(j - k0) = queries.row(i).cwiseProduct(keys.row(j));
  // The query term (and the given key terms) first, then the GEMMs accumulate onto them: an
  // assigned product would zero `first` and need more passes to add the terms.
  auto first = L == 0 ? cache.score.middleRows(k0, nk) : cache.pre[0].topRows(nk);  // [nk, h1]
  const auto query_term = cache.query_term.topRows(tile.end_row);
  for (Index i = tile.first_row; i < tile.end_row; ++i) {
    const Index begin = offsets[i] - k0, m = offsets[i + 1] - offsets[i];
    if (key_terms) {
      first.middleRows(begin, m) = key_terms->middleRows(offsets[i], m).rowwise() + query_term.row(i);
    } else {
      first.middleRows(begin, m).rowwise() = query_term.row(i);
    }
  }
  if (!key_terms) gemm(keys.middleRows(k0, nk), cache.key_weight, first);
  gemm(product, w1.bottomRows(Q), first);
  for (std::size_t l = 0; l < L; ++l) {
    if (l > 0) layers_[l].forward(params, cache.act[l - 1].topRows(nk), nk, cache.pre[l].topRows(nk), kNone, pass);
    if (dice_.empty()) {
      activations_[l].forward(params, cache.pre[l].topRows(nk), nk, cache.act[l].topRows(nk), kNone, pass);
    } else {  // its tile is the whole batch (key_tiles)
      dice_[l].forward(params, cache.pre[l].topRows(nk), nk, cache.act[l].topRows(nk), cache.dice[l], pass);
    }
  }
}

void DinAttention::forward_from_key_terms(const ParamSet& params, const ConstMatrixView& queries,
                                          const ConstMatrixView& keys,
                                          const ConstMatrixView* key_terms,
                                          const std::uint32_t* offsets, Index rows,
                                          MatrixView pooled, Cache& cache, Pass pass) const {
  const Index Q = width_, n = offsets[rows];
  const std::size_t L = options_.hidden.size();
  cache.rows = rows;
  cache.keys = n;
  const Matrix& w1 = params[first_weight()];

  // First layer: q (Wq + Wd) + b per row, k (Wk - Wd) per key (given, or a GEMM here),
  // (q * k) Wp per key.
  cache.query_weight = w1.topRows(Q) + w1.middleRows(2 * Q, Q);
  auto query_term = cache.query_term.topRows(rows);  // [R, h1]
  gemm(queries.topRows(rows), cache.query_weight, query_term, {.beta = 0.0f});
  query_term.rowwise() += params[first_bias()].row(0);

  // Every stage below, tile by tile: each tile's keys go through the whole unit while its
  // activations are still in cache (kTileKeys).
  key_tiles(offsets, rows, /*one_tile=*/!dice_.empty(), cache.tiles);
  for (const KeyTile& tile : cache.tiles) {
    const Index k0 = tile.first_key, nk = tile.keys;
    tile_hidden(params, queries, keys, key_terms, offsets, tile, cache, pass);
    if (L > 0)
      layers_[L].forward(params, cache.act[L - 1].topRows(nk), nk, cache.score.middleRows(k0, nk), kNone, pass);

    // Weights and pooling, row by row.
    for (Index i = tile.first_row; i < tile.end_row; ++i) {
      const Index begin = offsets[i], m = offsets[i + 1] - offsets[i];
      if (m == 0) {
        pooled.row(i).setZero();
        continue;
      }
      auto score = cache.score.middleRows(begin, m);
      auto weight = cache.weight.middleRows(begin, m);
      if (options_.normalize == DinNormalize::kSoftmax) {
        const float top = score.maxCoeff();
        weight = (score.array() - top).exp().matrix();
        weight /= weight.sum();
      } else {
        weight = din_score_scale(options_.normalize, m) * score;
      }
      pooled.row(i).noalias() = weight.transpose() * keys.middleRows(begin, m);
    }
  }
}

void DinAttention::backward(const ParamSet& params, const Input& input, Index rows,
                            const ConstMatrixView& d_pooled, InputGrad* d_input, Cache& cache,
                            Gradients& grads) const {
  const ConstMatrixView& queries = input.queries;
  const ConstMatrixView& keys = input.keys;
  const std::uint32_t* offsets = input.offsets;
  check_shapes(queries, keys, offsets, rows, cache);
  const Index Q = width_, n = offsets[rows];
  HEED_CHECK(rows == cache.rows && n == cache.keys,
             "din attention: backward over {} rows, {} keys after a forward over {}, {}", rows, n,
             cache.rows, cache.keys);
  HEED_CHECK(!d_input || (d_input->d_keys.rows() == keys.rows() && d_input->d_queries.rows() >= rows),
             "din attention: d_keys needs {} rows (got {}), d_queries {} (got {})", keys.rows(),
             d_input->d_keys.rows(), rows, d_input->d_queries.rows());
  const std::size_t L = options_.hidden.size();
  const Matrix& w1 = params[first_weight()];
  // The input gradients' combined weights, recomputed (forward_with_key_terms skips one).
  if (d_input) {
    cache.query_weight = w1.topRows(Q) + w1.middleRows(2 * Q, Q);
    cache.key_weight = w1.middleRows(Q, Q) - w1.middleRows(2 * Q, Q);
  }
  Matrix& g = grads[first_weight()];
  // The key term's share of dW1 ([Q, h1], summed over the tiles), added to the two blocks it
  // feeds after the loop (the key's spans every history item: computing it twice would double
  // the costliest one).
  Matrix& key_share = cache.d_key_share;
  key_share.setZero();
  auto d_query_term = cache.d_query_term.topRows(rows);  // [R, h1] sum of the row's d_first

  // The forward's tiles, in the same order.
  for (const KeyTile& tile : cache.tiles) {
    const Index k0 = tile.first_key, nk = tile.keys;
    // Pooling: d k_j = w_j d pooled_i, d w_j = d pooled_i . k_j; then through the softmax.
    for (Index i = tile.first_row; i < tile.end_row; ++i) {
      const Index begin = offsets[i], m = offsets[i + 1] - offsets[i];
      if (m == 0) continue;
      auto weight = cache.weight.middleRows(begin, m);
      auto d = cache.d_score.middleRows(begin, m);
      d.noalias() = keys.middleRows(begin, m) * d_pooled.row(i).transpose();
      if (d_input) d_input->d_keys.middleRows(begin, m).noalias() = weight * d_pooled.row(i);
      if (options_.normalize == DinNormalize::kSoftmax) {
        const float expected = weight.col(0).dot(d.col(0));  // sum_l w_l d w_l
        d = weight.cwiseProduct((d.array() - expected).matrix());
      } else {
        d *= din_score_scale(options_.normalize, m);
      }
    }

    // Back through the activation unit to the first layer's pre-activation: the tile's forward
    // again (tile_hidden), then its gradients, also in the first rows of their buffers.
    if (dice_.empty()) tile_hidden(params, queries, keys, nullptr, offsets, tile, cache, Pass::train());
    for (std::size_t l = L; l-- > 0;) {
      const auto pre = cache.pre[l].topRows(nk);
      const auto act = cache.act[l].topRows(nk);
      MatrixView d_act = cache.d_act[l].topRows(nk);
      const ConstMatrixView d_out = l + 1 == L ? ConstMatrixView(cache.d_score.middleRows(k0, nk))
                                               : ConstMatrixView(cache.d_pre[l + 1].topRows(nk));
      layers_[l + 1].backward(params, act, nk, d_out, &d_act, kNone, grads);
      MatrixView d_pre = cache.d_pre[l].topRows(nk);
      if (dice_.empty()) {
        activations_[l].backward(params, pre, nk, d_act, &d_pre, kNone, grads);
      } else {
        dice_[l].backward(params, pre, nk, d_act, &d_pre, cache.dice[l], grads);
      }
    }
    const ConstMatrixView d_first =  // [nk, h1]
        L == 0 ? ConstMatrixView(cache.d_score.middleRows(k0, nk)) : ConstMatrixView(cache.d_pre[0].topRows(nk));

    // The first layer, term by term. W1 = [Wq; Wk; Wd; Wp]: d(Wq + Wd) from the query term
    // (after the loop), d(Wk - Wd) from the key term, dWp from the product term.
    for (Index i = tile.first_row; i < tile.end_row; ++i)
      d_query_term.row(i) =
          d_first.middleRows(offsets[i] - k0, offsets[i + 1] - offsets[i]).colwise().sum();
    gemm(keys.middleRows(k0, nk), d_first, key_share, {.transpose_a = true});
    gemm(cache.product.topRows(nk), d_first, g.bottomRows(Q), {.transpose_a = true});

    if (!d_input) continue;
    // Input gradients.
    MatrixView& d_queries = d_input->d_queries;
    MatrixView& d_keys = d_input->d_keys;
    auto d_product = cache.d_product.topRows(nk);  // [nk, Q], this tile's
    const Index r0 = tile.first_row, nr = tile.end_row - tile.first_row;
    gemm(d_first, w1.bottomRows(Q), d_product, {.transpose_b = true, .beta = 0.0f});
    gemm(d_query_term.middleRows(r0, nr), cache.query_weight, d_queries.middleRows(r0, nr),
         {.transpose_b = true, .beta = 0.0f});
    gemm(d_first, cache.key_weight, d_keys.middleRows(k0, nk), {.transpose_b = true});
    for (Index i = tile.first_row; i < tile.end_row; ++i)
      for (Index j = offsets[i]; j < offsets[i + 1]; ++j) {
        d_queries.row(i) += d_product.row(j - k0).cwiseProduct(keys.row(j));
        d_keys.row(j) += d_product.row(j - k0).cwiseProduct(queries.row(i));
      }
  }
  if (d_input) d_input->d_keys.bottomRows(d_input->d_keys.rows() - n).setZero();

  // The query's share of dW1, one product over the rows, added to the two blocks it feeds; then
  // the key's.
  Matrix& share = cache.d_weight_share;  // [Q, h1]
  gemm(queries.topRows(rows), d_query_term, share, {.transpose_a = true, .beta = 0.0f});
  g.topRows(Q) += share;
  g.middleRows(2 * Q, Q) += share;
  g.middleRows(Q, Q) += key_share;
  g.middleRows(2 * Q, Q) -= key_share;
  grads[first_bias()] += d_query_term.colwise().sum();
}

void DinAttention::prepare_shared_keys(const ParamSet& params, SharedKeys& shared) const {
  HEED_CHECK(shared.keys.cols() == width_ && shared.counts.size() == shared.keys.rows(),
             "din attention: shared keys must be [T, {}] with T counts, got [{}, {}] and {}",
             width_, shared.keys.rows(), shared.keys.cols(), shared.counts.size());
  shared.key_terms.resize(shared.keys.rows(), first_width());
  if (params.reduced()) {  // as forward_reduced computes them
    shared.key_terms.rowwise() = params[first_bias()].row(0);
    lowp::multiply(shared.keys, term(params, first_weight(), kKeyTerm), shared.key_terms, /*accumulate=*/true);
    return;
  }
  key_terms(params, shared.keys, shared.key_terms);
  shared.key_terms.rowwise() += params[first_bias()].row(0);
  if (!lowp::elementwise_avx512()) return;
  const Index T = shared.keys.rows(), T16 = din_key_lanes::padded(T);
  shared.lane_keys.setZero(width_, T16);
  shared.lane_keys.leftCols(T) = shared.keys.transpose();
  shared.lane_key_terms.setZero(first_width(), T16);
  shared.lane_key_terms.leftCols(T) = shared.key_terms.transpose();
}

void DinAttention::forward_shared_reduced(const ParamSet& params, const SharedKeys& shared,
                                          const ConstMatrixView& queries, Index rows, MatrixView pooled,
                                          SharedScratch& scratch, float* weights) const {
  const Pass pass = Pass::evaluation();
  const Index Q = width_, T = shared.keys.rows(), h1 = first_width();
  const std::size_t L = options_.hidden.size();
  const auto m = static_cast<Index>(shared.sequence.size());
  HEED_CHECK(m == static_cast<Index>(std::lround(shared.counts.sum())),
             "din attention: reduced precision needs the shared sequence's order ({} values, {} counted)", m,
             shared.counts.sum());
  if (scratch.query_terms.rows() < rows) scratch.query_terms.resize(rows, h1);
  lowp::multiply(queries.topRows(rows), term(params, first_weight(), kQueryTerm), scratch.query_terms.topRows(rows),
                 false);
  const Index block_rows = size_for_blocks(scratch, T, Q, options_.hidden);
  for (Index begin = 0; begin < rows; begin += block_rows) {
    const Index count = std::min(block_rows, rows - begin), n = count * T;
    auto product = scratch.product.topRows(n);
    auto first = scratch.hidden[0].topRows(n);
    for (Index i = 0; i < count; ++i) {
      product.middleRows(i * T, T) = shared.keys.array().rowwise() * queries.row(begin + i).array();
      first.middleRows(i * T, T) = shared.key_terms.rowwise() + scratch.query_terms.row(begin + i);
    }
    lowp::multiply(product, term(params, first_weight(), kProductTerm), first, /*accumulate=*/true);
    for (std::size_t l = 0; l < L; ++l) {
      if (l > 0) layers_[l].forward(params, scratch.hidden[l - 1], n, scratch.hidden[l], kNone, pass);
      if (dice_.empty()) {
        activations_[l].forward(params, scratch.hidden[l], n, scratch.hidden[l], kNone, pass);
      } else {
        dice_[l].forward_eval_in_place(params, scratch.hidden[l].topRows(n));
      }
    }
    if (L > 0) {
      Eigen::Map<Matrix> score(scratch.score.data(), n, 1);
      layers_[L].forward(params, scratch.hidden[L - 1], n, score, kNone, pass);
    } else {
      scratch.score.head(n) = scratch.hidden[0].topRows(n).col(0);
    }
    for (Index i = 0; i < count; ++i) {
      const float* score = scratch.score.data() + i * T;
      const Normalizer norm = pool_in_order(options_.normalize, score, shared.sequence.data(), m, shared.keys,
                                            pooled.row(begin + i).data(), nullptr);
      if (weights)
        for (Index d = 0; d < T; ++d) weights[(begin + i) * T + d] = norm.weight(score[d]);
    }
  }
}

void DinAttention::forward_shared(const ParamSet& params, const SharedKeys& shared,
                                  const ConstMatrixView& queries, Index rows, MatrixView pooled,
                                  SharedScratch& scratch, float* weights) const {
  const Pass pass = Pass::evaluation();
  const Index Q = width_, T = shared.keys.rows(), h1 = first_width();
  const std::size_t L = options_.hidden.size();
  HEED_CHECK(queries.cols() == Q && pooled.cols() == Q && queries.rows() >= rows &&
                 pooled.rows() >= rows && shared.key_terms.rows() == T,
             "din attention: forward_shared needs [{}, {}] queries and pooled and prepared keys",
             rows, Q);
  if (T == 0) {
    pooled.topRows(rows).setZero();
    return;
  }
  if (params.reduced()) {
    forward_shared_reduced(params, shared, queries, rows, pooled, scratch, weights);
    return;
  }
  if (lowp::elementwise_avx512() && shared.lane_keys.rows() == Q &&
      shared.lane_keys.cols() == din_key_lanes::padded(T)) {
    forward_shared_key_lanes(params, shared, queries, rows, pooled, scratch, weights);
    return;
  }
  const Matrix& w1 = params[first_weight()];
  scratch.query_weight = w1.topRows(Q) + w1.middleRows(2 * Q, Q);
  if (scratch.query_terms.rows() < rows) scratch.query_terms.resize(rows, h1);
  gemm(queries.topRows(rows), scratch.query_weight, scratch.query_terms.topRows(rows), {.beta = 0.0f});

  const Index block_rows = size_for_blocks(scratch, T, Q, options_.hidden);
  for (Index begin = 0; begin < rows; begin += block_rows) {
    const Index count = std::min(block_rows, rows - begin), n = count * T;
    auto product = scratch.product.topRows(n);
    for (Index i = 0; i < count; ++i)
      product.middleRows(i * T, T) =
          shared.keys.array().rowwise() * queries.row(begin + i).array();
    // First layer: the key and query terms of each pair, then the product term's GEMM
    // accumulates onto them (an assigned product would zero `first` first).
    auto first = scratch.hidden[0].topRows(n);  // [n, h1]
    for (Index i = 0; i < count; ++i)
      first.middleRows(i * T, T) =
          shared.key_terms.rowwise() + scratch.query_terms.row(begin + i);
    gemm(product, w1.bottomRows(Q), first);
    for (std::size_t l = 0; l < L; ++l) {
      if (l > 0) layers_[l].forward(params, scratch.hidden[l - 1], n, scratch.hidden[l], kNone, pass);
      if (dice_.empty()) {
        activations_[l].forward(params, scratch.hidden[l], n, scratch.hidden[l], kNone, pass);
      } else {
        dice_[l].forward_eval_in_place(params, scratch.hidden[l].topRows(n));
      }
    }
    auto score = scratch.score.head(n);
    if (L > 0) {
      score.setConstant(params[layers_[L].bias()](0, 0));
      score.noalias() += scratch.hidden[L - 1].topRows(n) * params[layers_[L].weight()].col(0);
    } else {
      score = scratch.hidden[0].topRows(n).col(0);
    }
    for (Index i = 0; i < count; ++i)
      pool_distinct(shared, score.data() + i * T, pooled.row(begin + i).data(),
                    weights ? weights + (begin + i) * T : nullptr);
  }
}

void DinAttention::pool_distinct(const SharedKeys& shared, float* score, float* pooled, float* weights) const {
  const Index T = shared.keys.rows();
  const auto counts = shared.counts.transpose().array();
  Eigen::Map<Eigen::RowVectorXf> map(score, T);
  auto s = map.array();
  if (options_.normalize == DinNormalize::kSoftmax) {
    s = (s - s.maxCoeff()).exp();
    s /= (s * counts).sum();
  } else {
    s *= din_score_scale(options_.normalize, static_cast<Index>(std::lround(shared.counts.sum())));
  }
  if (weights) Eigen::Map<Eigen::RowVectorXf>(weights, T) = map;
  Eigen::Map<Eigen::RowVectorXf>(pooled, width_).noalias() = (s * counts).matrix() * shared.keys;
}

void DinAttention::forward_shared_key_lanes(const ParamSet& params, const SharedKeys& shared,
                                            const ConstMatrixView& queries, Index rows, MatrixView pooled,
                                            SharedScratch& scratch, float* weights) const {
  using din_key_lanes::kChunk;
  const Index Q = width_, T = shared.keys.rows(), T16 = din_key_lanes::padded(T), h1 = first_width();
  const std::size_t L = options_.hidden.size();
  const Matrix& w1 = params[first_weight()];
  scratch.query_weight = w1.topRows(Q) + w1.middleRows(2 * Q, Q);
  if (scratch.query_terms.rows() < rows) scratch.query_terms.resize(rows, h1);
  gemm(queries.topRows(rows), scratch.query_weight, scratch.query_terms.topRows(rows), {.beta = 0.0f});

  // Each hidden layer's activation, per unit.
  std::vector<din_key_lanes::Activation>& acts = scratch.lane_activations;
  acts.assign(L, {});
  scratch.lane_hidden.resize(L);
  scratch.dice_constants.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const Index h = options_.hidden[l];
    if (scratch.lane_hidden[l].rows() != h) scratch.lane_hidden[l].resize(h, kChunk);
    if (dice_.empty()) {
      acts[l] = {.kind = din_key_lanes::Activation::Kind::kPrelu, .alpha = params[activations_[l].alpha()].data()};
      continue;
    }
    // As Dice::forward_eval_in_place computes them, so that both schedules gate alike.
    constexpr float log2e = 1.44269504088896341f;
    Matrix& constants = scratch.dice_constants[l];
    constants.resize(2, h);
    constants.row(0) = -(params[dice_[l].running_var()].row(0).array() + Dice::kEpsilon).rsqrt() * log2e;
    constants.row(1) = 1.0f - params[dice_[l].alpha()].row(0).array();
    acts[l] = {.kind = din_key_lanes::Activation::Kind::kDice,
               .alpha = params[dice_[l].alpha()].data(),
               .mean = params[dice_[l].running_mean()].data(),
               .scale = constants.row(0).data(),
               .keep = constants.row(1).data()};
  }
  if (scratch.lane_score.size() < T16) scratch.lane_score.resize(T16);

  // Per row, the product term's weights diag(q) Wp: then the first layer over the keys is
  // sum_d (q_d Wp[d, f]) k_d, its key terms and the query term added as it is stored.
  const auto product_weight = w1.bottomRows(Q);
  scratch.query_product.resize(Q, h1);
  for (Index i = 0; i < rows; ++i) {
    scratch.query_product = product_weight.array().colwise() * queries.row(i).transpose().array();
    const float* query_term = scratch.query_terms.row(i).data();
    for (Index j0 = 0; j0 < T; j0 += kChunk) {
      const Index keys = std::min(kChunk, T - j0);
      const float* lane_keys = shared.lane_keys.data() + j0;
      const float* lane_key_terms = shared.lane_key_terms.data() + j0;
      float* score = scratch.lane_score.data() + j0;
      if (L == 0) {  // the first layer is the output layer
        din_key_lanes::dense(scratch.query_product.data(), Q, 1, lane_keys, T16, query_term, lane_key_terms, T16, {},
                             keys, score, 0);
        continue;
      }
      din_key_lanes::dense(scratch.query_product.data(), Q, h1, lane_keys, T16, query_term, lane_key_terms, T16,
                           acts[0], keys, scratch.lane_hidden[0].data(), kChunk);
      for (std::size_t l = 1; l < L; ++l)
        din_key_lanes::dense(params[layers_[l].weight()].data(), options_.hidden[l - 1], options_.hidden[l],
                             scratch.lane_hidden[l - 1].data(), kChunk, params[layers_[l].bias()].data(), nullptr, 0,
                             acts[l], keys, scratch.lane_hidden[l].data(), kChunk);
      din_key_lanes::score(params[layers_[L].weight()].data(), options_.hidden[L - 1], params[layers_[L].bias()](0, 0),
                           scratch.lane_hidden[L - 1].data(), kChunk, keys, score);
    }
    pool_distinct(shared, scratch.lane_score.data(), pooled.row(i).data(), weights ? weights + i * T : nullptr);
  }
}

void DinAttention::update_running_statistics(ParamSet& params,
                                             const std::vector<const Cache*>& caches) const {
  std::vector<const Dice::Cache*> layer(caches.size());
  for (std::size_t l = 0; l < dice_.size(); ++l) {
    for (std::size_t c = 0; c < caches.size(); ++c)
      layer[c] = caches[c] ? &caches[c]->dice[l] : nullptr;
    dice_[l].update_running_statistics(params, layer);
  }
}

}  // namespace heed
