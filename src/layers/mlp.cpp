#include "layers/mlp.h"

#include "core/error.h"

namespace heed {
namespace {

// Dense and Activation keep nothing between passes.
NoCache kNone;

}  // namespace

Mlp::Mlp(ParamSet& params, const std::string& name, Index in, const std::vector<Index>& hidden,
         ActivationKind activation, float dropout, Rng& rng)
    : in_(in), hidden_(hidden), dropout_(dropout) {
  Index width = in;
  for (std::size_t l = 0; l < hidden.size(); ++l) {
    const std::string layer = name + "." + std::to_string(l);
    layers_.emplace_back(params, layer, width, hidden[l], rng);
    activations_.emplace_back(params, layer + ".act", activation, hidden[l]);
    width = hidden[l];
  }
  layers_.emplace_back(params, name + ".output", width, 1, rng);
}

Mlp::Cache Mlp::make_cache(Index max_rows) const {
  Cache c;
  for (Index w : hidden_) {
    c.pre.emplace_back(max_rows, w);
    c.act.emplace_back(max_rows, w);
    c.out.emplace_back(max_rows, w);
    c.mask.emplace_back(max_rows, w);
    c.d_out.emplace_back(max_rows, w);
    c.d_pre.emplace_back(max_rows, w);
  }
  c.live.resize(hidden_.size());
  return c;
}

void Mlp::forward(const ParamSet& params, const Input& input, Index rows, MatrixView logit, Cache& cache,
                  Pass pass) const {
  const ConstMatrixView& x = input.x;
  const std::span<const Matrix* const> gates = input.gates;
  for (std::size_t l = 0; l < hidden_.size(); ++l) {
    const ConstMatrixView layer_input = l == 0 ? x.topRows(rows) : ConstMatrixView(cache.out[l - 1].topRows(rows));
    layers_[l].forward(params, layer_input, rows, cache.pre[l], kNone, pass);
    activations_[l].forward(params, cache.pre[l], rows, cache.act[l], kNone, pass);
    auto out = cache.out[l].topRows(rows);
    if (!gates.empty() && gates[l]) {
      out = cache.act[l].topRows(rows).cwiseProduct(gates[l]->topRows(rows));
    } else {
      out = cache.act[l].topRows(rows);
    }
    if (pass.training && dropout_ > 0.0f) {
      auto mask = cache.mask[l].topRows(rows);
      const float keep = 1.0f - dropout_;
      for (Index i = 0; i < mask.size(); ++i) mask.data()[i] = pass.rng->uniform() < keep ? 1.0f / keep : 0.0f;
      out.array() *= mask.array();
    }
  }
  const ConstMatrixView last = hidden_.empty() ? ConstMatrixView(x.topRows(rows))
                                               : ConstMatrixView(cache.out.back().topRows(rows));
  layers_.back().forward(params, last, rows, logit, kNone, pass);
}

void Mlp::forward_after_first(const ParamSet& params, Index rows, Cache& cache,
                              std::span<const Matrix* const> gates, MatrixView logit) const {
  HEED_CHECK(!hidden_.empty(), "mlp: forward_after_first needs a hidden layer");
  const Pass pass = Pass::evaluation();
  for (std::size_t l = 0; l < hidden_.size(); ++l) {
    if (l > 0)
      layers_[l].forward_live_inputs(params, cache.out[l - 1].topRows(rows), cache.pre[l].topRows(rows),
                                     cache.live[l]);
    activations_[l].forward(params, cache.pre[l], rows, cache.act[l], kNone, pass);
    auto out = cache.out[l].topRows(rows);
    const Matrix* gate = gates.empty() ? nullptr : gates[l];
    if (!gate) {
      out = cache.act[l].topRows(rows);
    } else if (gate->rows() == 1) {
      out = cache.act[l].topRows(rows).array().rowwise() * gate->row(0).array();
    } else {
      out = cache.act[l].topRows(rows).cwiseProduct(gate->topRows(rows));
    }
  }
  layers_.back().forward(params, cache.out.back(), rows, logit, kNone, pass);
}

void Mlp::backward(const ParamSet& params, const Input& input, Index rows, const ConstMatrixView& d_logit,
                   InputGrad* d_input, Cache& cache, Gradients& grads) const {
  const ConstMatrixView& x = input.x;
  const std::span<const Matrix* const> gates = input.gates;
  MatrixView* dx = d_input ? &d_input->dx : nullptr;
  const std::span<Matrix* const> d_gates = d_input ? d_input->d_gates : std::span<Matrix* const>{};
  const std::size_t L = hidden_.size();
  if (L == 0) {
    layers_.back().backward(params, x, rows, d_logit, dx, kNone, grads);
    return;
  }
  {
    MatrixView d_last = cache.d_out[L - 1];
    layers_.back().backward(params, cache.out[L - 1], rows, d_logit, &d_last, kNone, grads);
  }
  for (std::size_t l = L; l-- > 0;) {
    auto d_out = cache.d_out[l].topRows(rows);
    if (dropout_ > 0.0f) {  // backward only follows a training pass, which drew the mask
      d_out.array() *= cache.mask[l].topRows(rows).array();
    }
    // d_act = d_out * gate; d_gate = d_out * act. d_pre reuses as scratch for d_act.
    auto d_act = cache.d_pre[l].topRows(rows);
    if (!gates.empty() && gates[l]) {
      if (!d_gates.empty() && d_gates[l])
        d_gates[l]->topRows(rows) = d_out.cwiseProduct(cache.act[l].topRows(rows));
      d_act = d_out.cwiseProduct(gates[l]->topRows(rows));
    } else {
      d_act = d_out;
    }
    // The activation's input gradient goes into d_out (free now), then the dense layer's.
    MatrixView d_out_view = cache.d_out[l];
    activations_[l].backward(params, cache.pre[l], rows, d_act, &d_out_view, kNone, grads);
    if (l == 0) {
      layers_[0].backward(params, x, rows, d_out, dx, kNone, grads);
    } else {
      MatrixView d_prev = cache.d_out[l - 1];
      layers_[l].backward(params, cache.out[l - 1], rows, d_out, &d_prev, kNone, grads);
    }
  }
}

}  // namespace heed
