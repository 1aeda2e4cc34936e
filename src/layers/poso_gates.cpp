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

PosoGates::Gates PosoGates::make_gates(Index max_rows) const {
  Gates g;
  g.value.resize(widths_.size());
  g.list.assign(widths_.size(), nullptr);
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    if (!gated_[l]) continue;
    g.value[l].resize(max_rows, widths_[l]);
    g.list[l] = &g.value[l];  // the vector's storage stays where it is when the struct moves
  }
  return g;
}

PosoGates::GateGradients PosoGates::make_gate_gradients(Index max_rows) const {
  GateGradients g;
  g.value.resize(widths_.size());
  g.list.assign(widths_.size(), nullptr);
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    if (!gated_[l]) continue;
    g.value[l].resize(max_rows, widths_[l]);
    g.list[l] = &g.value[l];
  }
  return g;
}

PosoGates::Cache PosoGates::make_cache(Index max_rows) const {
  const std::size_t L = widths_.size();
  Cache c;
  c.hidden_pre.resize(L);
  c.hidden.resize(L);
  c.d_pre.resize(L);
  c.d_hidden.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    if (!gated_[l]) continue;
    c.hidden_pre[l].resize(max_rows, options_.gate_hidden);
    c.hidden[l].resize(max_rows, options_.gate_hidden);
    c.d_pre[l].resize(max_rows, widths_[l]);
    c.d_hidden[l].resize(max_rows, options_.gate_hidden);
  }
  c.d_pc_part.resize(max_rows, pc_width_);
  return c;
}

namespace {
// Dense keeps nothing between passes.
NoCache kNone;
}  // namespace

void PosoGates::forward(const ParamSet& params, const ConstMatrixView& pc, Index rows, Gates& gates,
                        Cache& cache, Pass pass) const {
  cache.gates = &gates;
  const float C = options_.scale;
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    if (!gated_[l]) continue;
    const Net& net = nets_[net_[l]];
    net.hidden.forward(params, pc, rows, cache.hidden_pre[l], kNone, pass);
    cache.hidden[l].topRows(rows) = cache.hidden_pre[l].topRows(rows).cwiseMax(0.0f);
    net.out.forward(params, cache.hidden[l], rows, gates.value[l], kNone, pass);
    auto gate = gates.value[l].topRows(rows);  // [B, width_l]
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

void PosoGates::backward(const ParamSet& params, const ConstMatrixView& pc, Index rows,
                         const GateGradients& d_gates, MatrixView* d_pc, Cache& cache, Gradients& grads) const {
  HEED_CHECK(cache.gates, "poso: backward before a forward");
  const float C = options_.scale;
  bool first = true;  // the first gate network overwrites d_pc, the others add to it
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    if (!gated_[l]) continue;
    const Net& net = nets_[net_[l]];
    // gate = C s, s = sigmoid(pre):  d pre = d gate * C s (1 - s) = d gate * gate * (1 - gate/C)
    const auto gate = cache.gates->value[l].topRows(rows).array();
    MatrixView d_pre = cache.d_pre[l].topRows(rows);
    d_pre = d_gates.value[l].topRows(rows).array() * gate * (1.0f - gate / C);
    MatrixView d_hidden = cache.d_hidden[l].topRows(rows);
    net.out.backward(params, cache.hidden[l], rows, d_pre, &d_hidden, kNone, grads);
    d_hidden = (cache.hidden_pre[l].topRows(rows).array() > 0.0f).select(d_hidden, 0.0f);
    if (!d_pc) {
      net.hidden.backward(params, pc, rows, d_hidden, nullptr, kNone, grads);
    } else if (first) {
      MatrixView target = d_pc->topRows(rows);
      net.hidden.backward(params, pc, rows, d_hidden, &target, kNone, grads);
    } else {
      MatrixView part = cache.d_pc_part.topRows(rows);
      net.hidden.backward(params, pc, rows, d_hidden, &part, kNone, grads);
      d_pc->topRows(rows) += part;
    }
    first = false;
  }
  if (d_pc && first) d_pc->topRows(rows).setZero();  // no gated layer: pc does not matter
}

}  // namespace heed
