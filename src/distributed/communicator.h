#pragma once
// The processes one training run is spread over (docs/distributed.md). The trainer talks to
// its peers only through this interface, so it never sees MPI: a plain `heed train` runs with
// the one-process communicator below, `mpirun -np N heed train` with the MPI one
// (distributed/mpi_world.h, built with HEED_MPI).
//
// Every call is collective: each rank makes the same calls in the same order, or the run hangs
// (the MPI implementation aborts the whole job when one rank fails instead).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace heed {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool leader() const { return rank() == 0; }

  // Replaces `values` on every rank by their elementwise sum over the ranks, added in rank order
  // (rank 0's + rank 1's + ...): the same bits on every rank, and the same every run for the
  // same number of ranks. One rank: the values as they are.
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  // Rank `root`'s bytes on every rank.
  virtual void broadcast(std::string& bytes, int root) = 0;
  virtual void barrier() = 0;
  // Personalized all-to-all: `to_each[d]` (one byte string per rank, this rank's own included)
  // goes to rank d; returns what every rank sent to this one, indexed by the sender. The lengths
  // may differ per pair (they are exchanged first). One rank: `to_each` as it is.
  virtual std::vector<std::string> all_to_all(std::vector<std::string> to_each) = 0;

  // Bytes this rank has handed to the network so far (0 for one process): what a step costs.
  virtual std::uint64_t bytes_sent() const = 0;
};

// One process, no peers: every collective is the identity.
std::unique_ptr<Communicator> single_process();

}  // namespace heed
