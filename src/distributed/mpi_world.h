#pragma once
// The Open MPI communicator (built with HEED_MPI only; nothing else in heed includes mpi.h).
#include <memory>
#include <string>

#include "distributed/communicator.h"

namespace heed {

// Whether this process was started by mpirun (Open MPI's launcher sets OMPI_COMM_WORLD_SIZE).
// Without it heed never initializes MPI: a plain run is a single process as before.
bool launched_by_mpirun();

// MPI_COMM_WORLD, initialized on the first call (MPI_Finalize when the object goes). Errors on
// the communicator return to heed, which turns them into heed::Error. With more than one rank, a
// watchdog thread ends this process (exit status 1, a message naming the call) when one
// collective waits longer than HEED_MPI_TIMEOUT_SECONDS (default 1800); mpirun then ends the
// others.
std::unique_ptr<Communicator> mpi_world();

// Ends every rank of the job after this one failed: `message` on stderr with the rank, then
// MPI_Abort, which makes mpirun stop the other ranks wherever they wait.
[[noreturn]] void abort_world(const Communicator& world, const std::string& message);

}  // namespace heed
