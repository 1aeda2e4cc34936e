#include "core/threads.h"

#include <algorithm>

#include <omp.h>

namespace heed {

int resolve_threads(std::int64_t configured) {
  return configured > 0 ? static_cast<int>(configured) : std::max(1, omp_get_num_procs());
}

}  // namespace heed
