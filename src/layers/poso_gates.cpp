#include "layers/poso_gates.h"

#include <cmath>

#include "core/error.h"
#include "core/lowp.h"

namespace heed {

namespace {
// The output layer starts with Glorot weights scaled by this, so its pre-activations are small.
constexpr float kOutputInitScale = 0.1f;
}  // namespace

PosoGates::PosoGates(ParamSet& params, const std::string& name, Index pc_width,
                     const std::vector<Index>& layer_widths, const std::vector<bool>& gated,
                     const PosoOptions& options, Rng& rng)
    : pc_width_(pc_width), widths_(layer_widths), gated_(gated), options_(options) {
  HEED_CHECK(layer_widths.size() == gated.size(), "poso '{}': {} hidden layers but {} gated flags",
             name, layer_widths.size(), gated.size());
  HEED_CHECK(pc_width >= 1, "poso '{}': needs at least one personalization input (got width {})",
             name, pc_width);
  HEED_CHECK(options.gate_hidden >= 1, "poso '{}': gate_hidden must be >= 1 (got {})", name,
             options.gate_hidden);
  HEED_CHECK(options.scale > 1.0f,
             "poso '{}': scale must be > 1 so that gates can start at 1 (got {})", name,
             options.scale);
  // A fresh model should behave like the plain MLP, so every gate starts near 1: the output
  // layer's weights are small and its bias b solves C * sigmoid(b) = 1, i.e. b = -ln(C - 1)
  // (0 for the usual C = 2).
  const float bias = -std::log(options.scale - 1.0f);
  net_.assign(layer_widths.size(), 0);
  for (std::size_t l = 0; l < layer_widths.size(); ++l) {
    if (!gated[l]) continue;
    HEED_CHECK(layer_widths[l] >= 1, "poso '{}': hidden layer {} has width {}", name, l,
               layer_widths[l]);
    const std::string prefix = name + "." + std::to_string(l);
    Dense hidden(params, prefix + ".hidden", pc_width, options.gate_hidden, rng);
    Dense out(params, prefix + ".gate", options.gate_hidden, layer_widths[l], rng);
    params[out.weight()] *= kOutputInitScale;
    params[out.bias()].setConstant(bias);
    net_[l] = nets_.size();
    nets_.push_back({hidden, out});
  }
}

PosoGates::Cache PosoGates::make_cache(Index max_rows) const {
  const std::size_t L = widths_.size();
  Cache c;
  c.gate.resize(L);
  c.d_gate.resize(L);
  c.hidden_pre.resize(L);
  c.hidden.resize(L);
  c.d_pre.resize(L);
  c.d_hidden.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    if (!gated_[l]) continue;
    c.gate[l].resize(max_rows, widths_[l]);
    c.d_gate[l].resize(max_rows, widths_[l]);
    c.hidden_pre[l].resize(max_rows, options_.gate_hidden);
    c.hidden[l].resize(max_rows, options_.gate_hidden);
    c.d_pre[l].resize(max_rows, widths_[l]);
    c.d_hidden[l].resize(max_rows, options_.gate_hidden);
  }
  c.d_pc_part.resize(max_rows, pc_width_);
  c.gate_list.resize(L);
  c.d_gate_list.resize(L);
  point_lists(c);  // the matrices' storage stays where it is when the cache moves
  return c;
}

void PosoGates::forward(const ParamSet& params, const ConstMatrixView& pc, Index rows,
                        Cache& cache) const {
  point_lists(cache);  // a copied cache points at its own gates
  const float C = options_.scale;
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    if (!gated_[l]) continue;
    const Net& net = nets_[net_[l]];
    net.hidden.forward(params, pc.topRows(rows), cache.hidden_pre[l].topRows(rows));
    cache.hidden[l].topRows(rows) = cache.hidden_pre[l].topRows(rows).cwiseMax(0.0f);
    auto gate = cache.gate[l].topRows(rows);  // [B, width_l]
    net.out.forward(params, cache.hidden[l].topRows(rows), gate);
    // One array expression, so Eigen evaluates the logistic on whole vector registers (a
    // rational approximation within a few ulps; a scalar std::exp per gate was 9% of training).
    if (params.reduced()) {  // whole rows of a row-major buffer: contiguous
      lowp::sigmoid(gate.data(), gate.data(), gate.size());
      gate *= C;
    } else {
      gate = C * gate.array().logistic();
    }
  }
}

void PosoGates::point_lists(Cache& cache) const {
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    cache.gate_list[l] = gated_[l] ? &cache.gate[l] : nullptr;
    cache.d_gate_list[l] = gated_[l] ? &cache.d_gate[l] : nullptr;
  }
}

const std::vector<const Matrix*>& PosoGates::gates(const Cache& cache) const { return cache.gate_list; }

const std::vector<Matrix*>& PosoGates::d_gates(Cache& cache) const {
  point_lists(cache);
  return cache.d_gate_list;
}

void PosoGates::backward(const ParamSet& params, const ConstMatrixView& pc, Index rows,
                         Cache& cache, MatrixView* d_pc, Gradients& grads) const {
  const float C = options_.scale;
  bool first = true;  // the first gate network overwrites d_pc, the others add to it
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    if (!gated_[l]) continue;
    const Net& net = nets_[net_[l]];
    // gate = C s, s = sigmoid(pre):  d pre = d gate * C s (1 - s) = d gate * gate * (1 - gate/C)
    const auto gate = cache.gate[l].topRows(rows).array();
    MatrixView d_pre = cache.d_pre[l].topRows(rows);
    d_pre = cache.d_gate[l].topRows(rows).array() * gate * (1.0f - gate / C);
    MatrixView d_hidden = cache.d_hidden[l].topRows(rows);
    net.out.backward(params, cache.hidden[l].topRows(rows), d_pre, &d_hidden, grads);
    d_hidden = (cache.hidden_pre[l].topRows(rows).array() > 0.0f).select(d_hidden, 0.0f);
    if (!d_pc) {
      net.hidden.backward(params, pc.topRows(rows), d_hidden, nullptr, grads);
    } else if (first) {
      MatrixView target = d_pc->topRows(rows);
      net.hidden.backward(params, pc.topRows(rows), d_hidden, &target, grads);
    } else {
      MatrixView part = cache.d_pc_part.topRows(rows);
      net.hidden.backward(params, pc.topRows(rows), d_hidden, &part, grads);
      d_pc->topRows(rows) += part;
    }
    first = false;
  }
  if (d_pc && first) d_pc->topRows(rows).setZero();  // no gated layer: pc does not matter
}

}  // namespace heed
