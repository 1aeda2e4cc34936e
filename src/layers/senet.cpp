#include "layers/senet.h"

#include <algorithm>

#include "core/error.h"
#include "core/lowp.h"
#include "core/sigmoid.h"

namespace heed {
namespace {
// Dense keeps nothing between passes.
NoCache kNone;
}  // namespace

Senet::Senet(ParamSet& params, const std::string& name, Index num_fields, Index dim,
             const SenetOptions& options, Rng& rng)
    : num_fields_(num_fields), dim_(dim), options_(options), fields_(options.fields) {
  HEED_CHECK(num_fields >= 1 && dim >= 1,
             "senet '{}': needs fields of dimension >= 1 (got {} x {})", name, num_fields, dim);
  HEED_CHECK(options.reduction >= 1, "senet '{}': reduction must be >= 1 (got {})", name,
             options.reduction);
  if (fields_.empty()) {
    for (Index f = 0; f < num_fields; ++f) fields_.push_back(f);
  }
  std::vector<bool> seen(static_cast<std::size_t>(num_fields), false);
  for (Index f : fields_) {
    HEED_CHECK(f >= 0 && f < num_fields, "senet '{}': gated field position {} is outside [0, {})",
               name, f, num_fields);
    HEED_CHECK(!seen[static_cast<std::size_t>(f)], "senet '{}': field position {} is listed twice",
               name, f);
    seen[static_cast<std::size_t>(f)] = true;
  }
  const Index n = static_cast<Index>(fields_.size());
  squeeze_width_ = options.axis == SenetAxis::kDim ? dim : n;
  hidden_width_ = std::max<Index>(1, squeeze_width_ / options.reduction);
  weight_width_ = options.axis == SenetAxis::kField ? n
                  : options.axis == SenetAxis::kDim ? dim
                                                    : n * dim;

  if (options.squeeze == SenetSqueeze::kDense) {
    // Starts as the mean squeeze.
    if (options.axis == SenetAxis::kDim) {
      squeeze_weight_ = params.add(name + ".squeeze.weight", 1, n);  // w [1, n]
      params[squeeze_weight_].setConstant(1.0f / static_cast<float>(n));
      squeeze_bias_ = params.add(name + ".squeeze.bias", 1, dim);  // c [1, E]
    } else {
      squeeze_weight_ = params.add(name + ".squeeze.weight", n, dim);  // s [n, E]
      params[squeeze_weight_].setConstant(1.0f / static_cast<float>(dim));
      squeeze_bias_ = params.add(name + ".squeeze.bias", 1, n);  // c [1, n]
    }
  }
  excitation_.reserve(2);
  excitation_.emplace_back(params, name + ".excite.0", squeeze_width_, hidden_width_, rng);
  excitation_.emplace_back(params, name + ".excite.1", hidden_width_, weight_width_, rng);
}

Senet::Cache Senet::make_cache(Index max_rows) const {
  Cache c;
  c.z.resize(max_rows, squeeze_width_);
  c.hidden_pre.resize(max_rows, hidden_width_);
  c.hidden.resize(max_rows, hidden_width_);
  c.pre.resize(max_rows, weight_width_);
  c.weights.resize(max_rows, weight_width_);
  c.d_pre.resize(max_rows, weight_width_);
  c.d_hidden.resize(max_rows, hidden_width_);
  c.d_hidden_pre.resize(max_rows, hidden_width_);
  c.d_z.resize(max_rows, squeeze_width_);
  return c;
}

void Senet::forward(const ParamSet& params, const ConstMatrixView& x, Index rows, MatrixView y,
                    Cache& cache, Pass pass) const {
  const Index E = dim_;
  const Index n = static_cast<Index>(fields_.size());
  const bool dense = options_.squeeze == SenetSqueeze::kDense;

  // Squeeze.
  auto z = cache.z.topRows(rows);  // [B, n] or [B, E]
  if (options_.axis == SenetAxis::kDim) {
    const float mean = 1.0f / static_cast<float>(n);
    for (Index b = 0; b < rows; ++b) {
      auto zb = z.row(b);
      zb.setZero();
      for (Index g = 0; g < n; ++g) {
        const float w = dense ? params[squeeze_weight_](0, g) : mean;
        zb += w * x.row(b).segment(fields_[g] * E, E);
      }
    }
    if (dense) z.rowwise() += params[squeeze_bias_].row(0);
  } else {
    for (Index b = 0; b < rows; ++b)
      for (Index g = 0; g < n; ++g) {
        const auto xg = x.row(b).segment(fields_[g] * E, E);
        z(b, g) = dense ? xg.dot(params[squeeze_weight_].row(g)) + params[squeeze_bias_](0, g)
                        : xg.mean();
      }
  }

  // Excitation.
  excitation_[0].forward(params, z, rows, cache.hidden_pre, kNone, pass);
  cache.hidden.topRows(rows) = cache.hidden_pre.topRows(rows).cwiseMax(0.0f);
  excitation_[1].forward(params, cache.hidden, rows, cache.pre, kNone, pass);
  const auto pre = cache.pre.topRows(rows);
  auto a = cache.weights.topRows(rows);  // [B, n], [B, E] or [B, n*E]
  switch (options_.gate) {
    case SenetGate::kSigmoid:
      if (params.reduced()) {  // whole rows of row-major buffers: contiguous
        lowp::sigmoid(pre.data(), a.data(), rows * weight_width_);
      } else {
        a = pre.unaryExpr([](float v) { return sigmoid(v); });
      }
      break;
    case SenetGate::kRelu:
      a = pre.cwiseMax(0.0f);
      break;
    case SenetGate::kNone:
      a = pre;
      break;
  }

  // Re-weight. Fields outside the subset keep the copy.
  y.topRows(rows) = x.topRows(rows);
  for (Index b = 0; b < rows; ++b)
    for (Index g = 0; g < n; ++g) {
      const auto xg = x.row(b).segment(fields_[g] * E, E);
      auto yg = y.row(b).segment(fields_[g] * E, E);
      switch (options_.axis) {
        case SenetAxis::kField:
          yg = a(b, g) * xg;
          break;
        case SenetAxis::kDim:
          yg = xg.cwiseProduct(a.row(b));
          break;
        case SenetAxis::kElement:
          yg = xg.cwiseProduct(a.row(b).segment(g * E, E));
          break;
      }
    }
}

void Senet::backward(const ParamSet& params, const ConstMatrixView& x, Index rows,
                     const ConstMatrixView& dy, MatrixView* dx_or_null, Cache& cache,
                     Gradients& grads, float weight_l1) const {
  const Index E = dim_;
  const Index n = static_cast<Index>(fields_.size());
  const bool dense = options_.squeeze == SenetSqueeze::kDense;
  const auto a = cache.weights.topRows(rows);

  // d weights: y_g = a_g * x_g  =>  dL/da = dy_g . x_g (summed over what shares a weight).
  auto d_pre = cache.d_pre.topRows(rows);
  if (options_.axis == SenetAxis::kDim) d_pre.setZero();
  for (Index b = 0; b < rows; ++b)
    for (Index g = 0; g < n; ++g) {
      const auto xg = x.row(b).segment(fields_[g] * E, E);
      const auto dyg = dy.row(b).segment(fields_[g] * E, E);
      switch (options_.axis) {
        case SenetAxis::kField:
          d_pre(b, g) = dyg.dot(xg);
          break;
        case SenetAxis::kDim:
          d_pre.row(b) += dyg.cwiseProduct(xg);
          break;
        case SenetAxis::kElement:
          d_pre.row(b).segment(g * E, E) = dyg.cwiseProduct(xg);
          break;
      }
    }
  // The L1 penalty's share: d|a|/da = sign(a) (sigmoid and relu weights are never negative).
  if (weight_l1 > 0.0f) d_pre.array() += weight_l1 * a.array().sign();
  // Through the gate, in place: d weights -> d pre.
  switch (options_.gate) {
    case SenetGate::kSigmoid:
      d_pre.array() *= a.array() * (1.0f - a.array());
      break;
    case SenetGate::kRelu:
      d_pre = (cache.pre.topRows(rows).array() > 0.0f).select(d_pre, 0.0f);
      break;
    case SenetGate::kNone:
      break;
  }

  // Through the excitation.
  MatrixView d_hidden = cache.d_hidden.topRows(rows);
  excitation_[1].backward(params, cache.hidden, rows, d_pre, &d_hidden, kNone, grads);
  cache.d_hidden_pre.topRows(rows) =
      (cache.hidden_pre.topRows(rows).array() > 0.0f).select(d_hidden, 0.0f);
  MatrixView d_z = cache.d_z.topRows(rows);
  excitation_[0].backward(params, cache.z, rows, cache.d_hidden_pre, &d_z, kNone, grads);

  // dx = weights * dy (the re-weighting) + the squeeze's share; ungated fields pass dy through.
  // Without dx only the dense squeeze's gradients remain.
  if (!dx_or_null) {
    if (!dense) return;
    for (Index b = 0; b < rows; ++b)
      for (Index g = 0; g < n; ++g) {
        const auto xg = x.row(b).segment(fields_[g] * E, E);
        if (options_.axis == SenetAxis::kDim) {
          grads[squeeze_weight_](0, g) += d_z.row(b).dot(xg);
        } else {
          grads[squeeze_weight_].row(g) += d_z(b, g) * xg;
          grads[squeeze_bias_](0, g) += d_z(b, g);
        }
      }
    if (options_.axis == SenetAxis::kDim) grads[squeeze_bias_] += d_z.colwise().sum();
    return;
  }
  MatrixView& dx = *dx_or_null;
  dx.topRows(rows) = dy.topRows(rows);
  if (options_.axis == SenetAxis::kDim) {
    const float mean = 1.0f / static_cast<float>(n);
    for (Index b = 0; b < rows; ++b)
      for (Index g = 0; g < n; ++g) {
        const Index f = fields_[g];
        auto dxg = dx.row(b).segment(f * E, E);
        const float w = dense ? params[squeeze_weight_](0, g) : mean;
        dxg = dxg.cwiseProduct(a.row(b)) + w * d_z.row(b);
        if (dense) grads[squeeze_weight_](0, g) += d_z.row(b).dot(x.row(b).segment(f * E, E));
      }
    if (dense) grads[squeeze_bias_] += d_z.colwise().sum();
    return;
  }
  const float mean = 1.0f / static_cast<float>(E);
  for (Index b = 0; b < rows; ++b)
    for (Index g = 0; g < n; ++g) {
      const Index f = fields_[g];
      auto dxg = dx.row(b).segment(f * E, E);
      if (options_.axis == SenetAxis::kField) {
        dxg *= a(b, g);
      } else {
        dxg = dxg.cwiseProduct(a.row(b).segment(g * E, E));
      }
      if (dense) {
        dxg += d_z(b, g) * params[squeeze_weight_].row(g);
        grads[squeeze_weight_].row(g) += d_z(b, g) * x.row(b).segment(f * E, E);
        grads[squeeze_bias_](0, g) += d_z(b, g);
      } else {
        dxg.array() += d_z(b, g) * mean;
      }
    }
}

ConstMatrixView Senet::weights(const Cache& cache, Index rows) const {
  return cache.weights.topRows(rows);
}

}  // namespace heed
