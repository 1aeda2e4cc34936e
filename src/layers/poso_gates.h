#pragma once
// POSO personalized gates: small gate networks that read personalization features (pc: e.g. a
// user-group embedding and an is-new-user flag, concatenated) and scale the MLP's hidden
// activations per example.
//
//   pc [B, P] -> Dense(P, H) -> ReLU -> Dense(H, width_l) -> C * sigmoid  =>  gate_l [B, width_l]
//
// one gate network per hidden layer l that is gated; the MLP multiplies its activations by
// gate_l (see Mlp::Input's `gates`). Gates lie in (0, C) (in float they can reach 0 or C
// when the sigmoid saturates). The integration is:
//
//   poso.forward(params, pc, B, gates, pcache, pass);
//   mlp.forward(params, {x, gates.list}, B, logit, mcache, pass);
//   Mlp::InputGrad d_input{dx, d_gates.list};
//   mlp.backward(params, {x, gates.list}, B, d_logit, &d_input, mcache, grads);
//   poso.backward(params, pc, B, d_gates, &d_pc, pcache, grads);
#include <string>
#include <vector>

#include "core/params.h"
#include "layers/dense.h"
#include "layers/layer_contract.h"

namespace heed {

struct PosoOptions {
  Index gate_hidden = 32;  // H: width of each gate network's hidden layer
  float scale = 2.0f;      // C in C * sigmoid; must exceed 1 so that gates can start at 1
};

class PosoGates {
 public:
  // layer_widths: the MLP's hidden widths; gated[l] says whether hidden layer l gets a gate.
  // Throws heed::Error when the two lists differ in length, or on P < 1, H < 1, C <= 1.
  PosoGates(ParamSet& params, const std::string& name, Index pc_width,
            const std::vector<Index>& layer_widths, const std::vector<bool>& gated,
            const PosoOptions& options, Rng& rng);

  Index pc_width() const { return pc_width_; }
  const std::vector<Index>& layer_widths() const { return widths_; }
  const std::vector<bool>& gated() const { return gated_; }
  const PosoOptions& options() const { return options_; }

  // The gates, per hidden layer l (ungated layers hold empty matrices), sized once for max_rows.
  // `list` is what Mlp::Input takes: &value[l], or nullptr where ungated; it points into
  // `value`, so the struct moves but is never copied (no allocation to hand gates to the MLP).
  struct Gates {
    std::vector<Matrix> value;  // [B, width_l]
    std::vector<const Matrix*> list;
    Gates() = default;
    Gates(Gates&&) = default;
    Gates& operator=(Gates&&) = default;
    Gates(const Gates&) = delete;
    Gates& operator=(const Gates&) = delete;
  };
  // dL/dgate, as Gates: written by Mlp::backward (Mlp::InputGrad's d_gates is `list`).
  struct GateGradients {
    std::vector<Matrix> value;  // [B, width_l]
    std::vector<Matrix*> list;
    GateGradients() = default;
    GateGradients(GateGradients&&) = default;
    GateGradients& operator=(GateGradients&&) = default;
    GateGradients(const GateGradients&) = delete;
    GateGradients& operator=(const GateGradients&) = delete;
  };
  Gates make_gates(Index max_rows) const;
  GateGradients make_gate_gradients(Index max_rows) const;

  // What forward keeps for backward, per hidden layer l, sized once for max_rows.
  struct Cache {
    const Gates* gates = nullptr;    // the last forward's output (backward reads the gates)
    std::vector<Matrix> hidden_pre;  // [B, H] gate network's first layer, before ReLU
    std::vector<Matrix> hidden;      // [B, H] after ReLU
    std::vector<Matrix> d_pre;       // [B, width_l] backward scratch: dL/d(pre-sigmoid)
    std::vector<Matrix> d_hidden;    // [B, H] backward scratch
    Matrix d_pc_part;                // [B, P] one gate network's share of d_pc
  };
  Cache make_cache(Index max_rows) const;

  // The layer contract (layer_contract.h).
  using Input = ConstMatrixView;  // pc [rows, P]
  using Output = Gates&;
  using OutputGrad = GateGradients;
  using InputGrad = MatrixView;  // d_pc [rows, P]

  // Fills the first `rows` rows of gates.value (pass does not matter: no dropout, no statistics).
  void forward(const ParamSet& params, const ConstMatrixView& pc, Index rows, Gates& gates, Cache& cache,
               Pass pass) const;
  // After a forward of the same pc, with d_gates filled (by Mlp::backward): accumulates parameter
  // gradients; overwrites d_pc unless null.
  void backward(const ParamSet& params, const ConstMatrixView& pc, Index rows, const GateGradients& d_gates,
                MatrixView* d_pc, Cache& cache, Gradients& grads) const;

  // Mixed-precision training: the packs of both layers of every gate network for their bf16
  // products (Dense::list_training_packs).
  void list_training_packs(const ParamSet& params, ReducedProducts& packed, TrainingPacks& packs) const {
    for (const Net& net : nets_) {
      net.hidden.list_training_packs(params, packed, packs);
      net.out.list_training_packs(params, packed, packs);
    }
  }

  // The gate networks' weights packed for scoring in reduced precision (whose sigmoid is then
  // lowp::sigmoid).
  void pack_products(const ParamSet& params, ReducedProducts& reduced) const {
    for (const Net& net : nets_) {
      net.hidden.pack_products(params, reduced);
      net.out.pack_products(params, reduced);
    }
  }

 private:
  struct Net {
    Dense hidden, out;
  };
  Index pc_width_;
  std::vector<Index> widths_;
  std::vector<bool> gated_;
  PosoOptions options_;
  std::vector<Net> nets_;         // one per gated layer, in layer order
  std::vector<std::size_t> net_;  // per hidden layer: index into nets_ (unused where ungated)
};
static_assert(Layer<PosoGates>);

}  // namespace heed
