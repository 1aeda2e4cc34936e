#pragma once
// POSO personalized gates: small gate networks that read personalization features (pc: e.g. a
// user-group embedding and an is-new-user flag, concatenated) and scale the MLP's hidden
// activations per example.
//
//   pc [B, P] -> Dense(P, H) -> ReLU -> Dense(H, width_l) -> C * sigmoid  =>  gate_l [B, width_l]
//
// one gate network per hidden layer l that is gated; the MLP multiplies its activations by
// gate_l (see Mlp::forward's `gates`). Gates lie in (0, C) (in float they can reach 0 or C
// when the sigmoid saturates). The integration is:
//
//   poso.forward(params, pc, B, pcache);
//   mlp.forward(params, x, B, mcache, training, rng, poso.gates(pcache));
//   mlp.backward(params, x, B, d_logit, mcache, dx, grads, poso.gates(pcache),
//                poso.d_gates(pcache));
//   poso.backward(params, pc, B, pcache, d_pc, grads);
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

  // Per hidden layer l (ungated layers hold empty matrices), sized once for max_rows.
  struct Cache {
    std::vector<Matrix> gate;        // [B, width_l] the multipliers of the last forward
    std::vector<Matrix> d_gate;      // [B, width_l] dL/dgate, written by Mlp::backward
    std::vector<Matrix> hidden_pre;  // [B, H] gate network's first layer, before ReLU
    std::vector<Matrix> hidden;      // [B, H] after ReLU
    std::vector<Matrix> d_pre;       // [B, width_l] backward scratch: dL/d(pre-sigmoid)
    std::vector<Matrix> d_hidden;    // [B, H] backward scratch
    Matrix d_pc_part;                // [B, P] one gate network's share of d_pc
    // What gates() and d_gates() return: per hidden layer, &gate[l] / &d_gate[l] or nullptr
    // where ungated; sized once, so that handing the gates to the MLP allocates nothing.
    std::vector<const Matrix*> gate_list;
    std::vector<Matrix*> d_gate_list;
  };
  Cache make_cache(Index max_rows) const;

  // pc: [rows, P]. Fills cache.gate.
  void forward(const ParamSet& params, const ConstMatrixView& pc, Index rows, Cache& cache) const;

  // The gate networks' weights packed for scoring in reduced precision (whose sigmoid is then
  // lowp::sigmoid).
  void pack_products(const ParamSet& params, ReducedProducts& reduced) const {
    for (const Net& net : nets_) {
      net.hidden.pack_products(params, reduced);
      net.out.pack_products(params, reduced);
    }
  }

  // Exactly what Mlp::forward/backward take: one pointer per hidden layer, nullptr where ungated.
  // The lists live in `cache` (no allocation per call) and point into it.
  const std::vector<const Matrix*>& gates(const Cache& cache) const;
  const std::vector<Matrix*>& d_gates(Cache& cache) const;

  // Reads cache.d_gate (filled by Mlp::backward) after a forward of the same pc; accumulates
  // parameter gradients; overwrites *d_pc ([rows, P]) when d_pc is non-null.
  void backward(const ParamSet& params, const ConstMatrixView& pc, Index rows, Cache& cache,
                MatrixView* d_pc, Gradients& grads) const;

 private:
  void point_lists(Cache& cache) const;
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

}  // namespace heed
