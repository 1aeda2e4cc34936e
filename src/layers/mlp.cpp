#include "layers/mlp.h"

#include "core/error.h"

namespace heed {

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
  c.logit.resize(max_rows, 1);
  c.live.resize(hidden_.size());
  return c;
}

void Mlp::forward(const ParamSet& params, const ConstMatrixView& x, Index rows, Cache& cache, bool training,
                  Rng* rng, const std::vector<const Matrix*>& gates) const {
  for (std::size_t l = 0; l < hidden_.size(); ++l) {
    const ConstMatrixView input = l == 0 ? x.topRows(rows) : ConstMatrixView(cache.out[l - 1].topRows(rows));
    layers_[l].forward(params, input, cache.pre[l].topRows(rows));
    activations_[l].forward(params, cache.pre[l].topRows(rows), cache.act[l].topRows(rows));
    auto out = cache.out[l].topRows(rows);
    if (!gates.empty() && gates[l]) {
      out = cache.act[l].topRows(rows).cwiseProduct(gates[l]->topRows(rows));
    } else {
      out = cache.act[l].topRows(rows);
    }
    if (training && dropout_ > 0.0f) {
      auto mask = cache.mask[l].topRows(rows);
      const float keep = 1.0f - dropout_;
      for (Index i = 0; i < mask.size(); ++i) mask.data()[i] = rng->uniform() < keep ? 1.0f / keep : 0.0f;
      out.array() *= mask.array();
    }
  }
  const ConstMatrixView last = hidden_.empty() ? ConstMatrixView(x.topRows(rows))
                                               : ConstMatrixView(cache.out.back().topRows(rows));
  layers_.back().forward(params, last, cache.logit.topRows(rows));
}

void Mlp::forward_after_first(const ParamSet& params, Index rows, Cache& cache,
                              const std::vector<const Matrix*>& gates) const {
  HEED_CHECK(!hidden_.empty(), "mlp: forward_after_first needs a hidden layer");
  for (std::size_t l = 0; l < hidden_.size(); ++l) {
    if (l > 0)
      layers_[l].forward_live_inputs(params, cache.out[l - 1].topRows(rows), cache.pre[l].topRows(rows),
                                     cache.live[l]);
    activations_[l].forward(params, cache.pre[l].topRows(rows), cache.act[l].topRows(rows));
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
  layers_.back().forward(params, cache.out.back().topRows(rows), cache.logit.topRows(rows));
}

void Mlp::backward(const ParamSet& params, const ConstMatrixView& x, Index rows, const ConstMatrixView& d_logit,
                   Cache& cache, MatrixView* dx, Gradients& grads, const std::vector<const Matrix*>& gates,
                   const std::vector<Matrix*>& d_gates) const {
  const std::size_t L = hidden_.size();
  if (L == 0) {
    layers_.back().backward(params, x.topRows(rows), d_logit.topRows(rows), dx, grads);
    return;
  }
  {
    MatrixView d_last = cache.d_out[L - 1].topRows(rows);
    layers_.back().backward(params, cache.out[L - 1].topRows(rows), d_logit.topRows(rows), &d_last, grads);
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
    activations_[l].backward(params, cache.pre[l].topRows(rows), d_act, d_out, grads);
    const ConstMatrixView input = l == 0 ? x.topRows(rows) : ConstMatrixView(cache.out[l - 1].topRows(rows));
    if (l == 0) {
      layers_[0].backward(params, input, d_out, dx, grads);
    } else {
      MatrixView d_prev = cache.d_out[l - 1].topRows(rows);
      layers_[l].backward(params, input, d_out, &d_prev, grads);
    }
  }
}

}  // namespace heed
