// The cost of Communicator::sum alone (docs/distributed.md): every rank sums a vector of
// --floats floats (default 171,424: the demo model's 0.686 MB of gradients per step) --repeats
// times after a barrier, and rank 0 prints the median time of one sum and the bytes it sent.
//   mpirun -np 2 build/mpi_sum_bench [--floats N] [--repeats R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "distributed/mpi_world.h"

int main(int argc, char** argv) {
  std::size_t floats = 171424;
  int repeats = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--floats") == 0) floats = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);
  }
  auto world = heed::mpi_world();
  std::vector<float> values(floats, 1.0f);
  std::vector<double> seconds;
  const auto sent_before = world->bytes_sent();
  for (int r = 0; r < repeats; ++r) {
    world->barrier();  // time the sum, not a wait for a late rank
    const auto start = std::chrono::steady_clock::now();
    world->sum(values);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    std::fill(values.begin(), values.end(), 1.0f);
  }
  std::sort(seconds.begin(), seconds.end());
  if (world->leader())
    std::printf("{\"ranks\": %d, \"floats\": %zu, \"median_ms\": %.4f, \"p90_ms\": %.4f, \"bytes_sent_per_sum\": %llu}\n",
                world->size(), floats, seconds[seconds.size() / 2] * 1e3, seconds[seconds.size() * 9 / 10] * 1e3,
                static_cast<unsigned long long>((world->bytes_sent() - sent_before) / static_cast<unsigned>(repeats)));
  return 0;
}
