#pragma once
// How many threads a run uses.
#include <cstdint>

namespace heed {

// The thread count to use for a configured value (0: every core).
int resolve_threads(std::int64_t configured);

}  // namespace heed
