#pragma once
// Dense parameters and their gradients. A model's weights live in one ParamSet shared
// read-only by every worker; each worker accumulates into its own Gradients of the same
// shapes, and the trainer sums them in a fixed order (that is what keeps multi-threaded runs
// deterministic).
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace heed {

using ParamId = std::size_t;
class ReducedProducts;  // layers/reduced_products.h

struct Param {
  std::string name;  // "mlp.0.weight": unique, used by checkpoints and explanations
  Matrix value;
  // False for state that is saved with the weights but not learned by gradient descent (Dice's
  // running mean and variance): optimizers skip it and its gradient stays zero.
  bool trainable = true;
};

class ParamSet {
 public:
  ParamId add(std::string name, Index rows, Index cols);
  ParamId add(std::string name, Index rows, Index cols, bool trainable);
  Matrix& operator[](ParamId id) { return params_[id].value; }
  const Matrix& operator[](ParamId id) const { return params_[id].value; }
  const Param& param(ParamId id) const { return params_[id]; }
  std::size_t size() const { return params_.size(); }
  std::size_t count() const;  // number of scalars

  // Fills with uniform values in [-limit, limit] (Glorot/He style scales come from callers).
  void init_uniform(ParamId id, float limit, Rng& rng);

  // Scoring in reduced precision: the weights packed for it, or nullptr (fp32, and always in
  // training). Packed from the values as they were when set: Model::set_precision sets it.
  const ReducedProducts* reduced() const { return reduced_.get(); }
  void set_reduced(std::shared_ptr<const ReducedProducts> reduced) { reduced_ = std::move(reduced); }
  // Mixed-precision training (train.precision = "bf16"): the MLP's weights packed for this
  // step's products, or nullptr. Set by train_step for its forward and backward only (so
  // evaluation never sees them); the fp32 values stay the master weights the optimizer updates.
  const ReducedProducts* training_products() const { return training_products_.get(); }
  void set_training_products(std::shared_ptr<const ReducedProducts> packed) { training_products_ = std::move(packed); }

 private:
  std::vector<Param> params_;
  std::shared_ptr<const ReducedProducts> reduced_;
  std::shared_ptr<const ReducedProducts> training_products_;
};

class Gradients {
 public:
  explicit Gradients(const ParamSet& params);
  Matrix& operator[](ParamId id) { return grads_[id]; }
  const Matrix& operator[](ParamId id) const { return grads_[id]; }
  std::size_t size() const { return grads_.size(); }
  void zero();
  void add(const Gradients& other);
  double squared_norm() const;  // the sum of every gradient's squares, in double
  void scale(float factor);

 private:
  std::vector<Matrix> grads_;
};

}  // namespace heed
