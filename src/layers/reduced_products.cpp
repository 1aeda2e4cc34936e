#include "layers/reduced_products.h"

namespace heed {

void run_training_packs(std::span<const TrainingPack> packs, int threads) {
  const auto count = static_cast<std::ptrdiff_t>(packs.size());
  // One pack per turn, taken as threads come free: the layers differ in size by 10x and more.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    const TrainingPack& pack = packs[static_cast<std::size_t>(i)];
    if (pack.transposed)
      lowp::pack_transposed_bf16(*pack.weight, *pack.into);
    else
      lowp::pack_bf16(*pack.weight, *pack.into);
  }
}

}  // namespace heed
