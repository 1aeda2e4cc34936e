#include "distributed/mpi_world.h"

#include <mpi.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace heed {
namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("MPI: {} failed: {}", call, std::string(text, static_cast<std::size_t>(length))));
}

template <class T>
MPI_Datatype type_of();
template <>
MPI_Datatype type_of<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype type_of<double>() { return MPI_DOUBLE; }

using Clock = std::chrono::steady_clock;

// HEED_MPI_TIMEOUT_SECONDS, or 1800.
double collective_timeout() {
  const char* text = std::getenv("HEED_MPI_TIMEOUT_SECONDS");
  if (!text || !*text) return 1800;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (*end != '\0' || !(seconds > 0))
    throw Error(fmt::format("HEED_MPI_TIMEOUT_SECONDS='{}': expected a number of seconds above 0", text));
  return seconds;
}

// Ends this process when one collective has waited longer than the timeout: a rank that stopped
// without dying (SIGSTOP, a hung disk, a network that drops packets) would otherwise keep every
// other rank waiting forever. Open MPI notices a rank that exits and then ends the rest.
class Watchdog {
 public:
  Watchdog(double seconds, int rank, int size) : seconds_(seconds), rank_(rank), size_(size) {
    thread_ = std::thread([this] { watch(); });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void enter(const char* call) {
    std::lock_guard<std::mutex> lock(mutex_);
    call_ = call;
    since_ = Clock::now();
  }
  void leave() {
    std::lock_guard<std::mutex> lock(mutex_);
    call_ = nullptr;
  }

 private:
  void watch() {
    const auto period = std::chrono::duration<double>(std::min(1.0, seconds_ / 4));
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
      if (!call_ || std::chrono::duration<double>(Clock::now() - since_).count() < seconds_) continue;
      std::fprintf(stderr,
                   "heed: error on rank %d of %d: %s waited %.0f s for the other ranks (HEED_MPI_TIMEOUT_SECONDS): a "
                   "rank stopped or the network is down; ending this rank so mpirun ends the job\n",
                   rank_, size_, call_, seconds_);
      std::fflush(stderr);
      ::_exit(1);
    }
  }

  const double seconds_;
  const int rank_, size_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  const char* call_ = nullptr;
  Clock::time_point since_;
  std::thread thread_;
};

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    const double timeout = collective_timeout();
    // MPI_Init waits for every rank too: the watchdog starts first, with the rank and size
    // mpirun put in the environment.
    const int launched_rank = std::atoi(std::getenv("OMPI_COMM_WORLD_RANK") ? std::getenv("OMPI_COMM_WORLD_RANK") : "0");
    const int launched_size = std::atoi(std::getenv("OMPI_COMM_WORLD_SIZE") ? std::getenv("OMPI_COMM_WORLD_SIZE") : "1");
    if (launched_size > 1) watchdog_ = std::make_unique<Watchdog>(timeout, launched_rank, launched_size);
    int ready = 0;
    check(MPI_Initialized(&ready), "MPI_Initialized");
    if (!ready) {
      Waiting waiting(*this, "MPI_Init");
      check(MPI_Init(nullptr, nullptr), "MPI_Init");
    }
    // Errors come back as codes (check() makes them heed::Error) instead of ending the process
    // silently; a failed rank then aborts the job (abort_world).
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  ~MpiWorld() override {
    watchdog_.reset();
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> values) override { sum_in_rank_order(values); }
  void sum(std::span<double> values) override { sum_in_rank_order(values); }

  void broadcast(std::string& bytes, int root) override {
    Waiting waiting(*this, "MPI_Bcast");
    std::uint64_t length = bytes.size();
    check(MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
    bytes.resize(length);
    for (std::uint64_t at = 0; at < length;) {  // counts are ints: 1 GiB pieces
      const int piece = static_cast<int>(std::min<std::uint64_t>(length - at, 1u << 30));
      check(MPI_Bcast(bytes.data() + at, piece, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
      if (rank_ == root) sent_ += static_cast<std::uint64_t>(piece) * static_cast<std::uint64_t>(size_ - 1);
      at += static_cast<std::uint64_t>(piece);
    }
  }

  void barrier() override {
    Waiting waiting(*this, "MPI_Barrier");
    check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  }
  std::uint64_t bytes_sent() const override { return sent_; }

  // The lengths first (one 64-bit count per pair), then the bytes in one MPI_Alltoallv.
  std::vector<std::string> all_to_all(std::vector<std::string> to_each) override {
    const auto ranks = static_cast<std::size_t>(size_);
    if (to_each.size() != ranks) throw Error(fmt::format("all_to_all: {} messages for {} ranks", to_each.size(), ranks));
    if (size_ == 1) return to_each;
    Waiting waiting(*this, "the row exchange (MPI_Alltoall, MPI_Alltoallv)");
    std::vector<std::int64_t> lengths(ranks), incoming(ranks);
    for (std::size_t d = 0; d < ranks; ++d) lengths[d] = static_cast<std::int64_t>(to_each[d].size());
    check(MPI_Alltoall(lengths.data(), 1, MPI_INT64_T, incoming.data(), 1, MPI_INT64_T, MPI_COMM_WORLD), "MPI_Alltoall");
    std::vector<int> send_counts(ranks), send_offsets(ranks), receive_counts(ranks), receive_offsets(ranks);
    std::string out, in;
    std::int64_t out_total = 0, in_total = 0;
    for (std::size_t d = 0; d < ranks; ++d) {
      send_counts[d] = static_cast<int>(lengths[d]);
      send_offsets[d] = static_cast<int>(out_total);
      receive_counts[d] = static_cast<int>(incoming[d]);
      receive_offsets[d] = static_cast<int>(in_total);
      out_total += lengths[d];
      in_total += incoming[d];
      if (out_total > (1ll << 31) - 1 || in_total > (1ll << 31) - 1)
        throw Error("MPI: an all-to-all of more than 2 GiB per rank");
      if (static_cast<int>(d) != rank_) sent_ += static_cast<std::uint64_t>(lengths[d]);
    }
    out.reserve(static_cast<std::size_t>(out_total));
    for (const std::string& piece : to_each) out += piece;
    in.resize(static_cast<std::size_t>(in_total));
    check(MPI_Alltoallv(out.data(), send_counts.data(), send_offsets.data(), MPI_BYTE, in.data(), receive_counts.data(),
                        receive_offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Alltoallv");
    std::vector<std::string> from_each(ranks);
    for (std::size_t s = 0; s < ranks; ++s)
      from_each[s] = in.substr(static_cast<std::size_t>(receive_offsets[s]), static_cast<std::size_t>(receive_counts[s]));
    return from_each;
  }

 private:
  // A reduce-scatter then an allgather, each by heed's own arithmetic: the values are cut into
  // one piece per rank; every rank receives everyone's copy of its piece (all-to-all), adds the
  // copies in rank order and hands its summed piece to all (allgather). Each rank sends and
  // receives 2 (N-1)/N of the vector, as a ring allreduce would, but the order of the additions
  // is fixed by heed, not by the MPI library's choice of algorithm, so every rank ends with the
  // same bits.
  template <class T>
  void sum_in_rank_order(std::span<T> values) {
    if (size_ == 1 || values.empty()) return;
    Waiting waiting(*this, "the gradient sum (MPI_Alltoallv, MPI_Allgatherv)");
    const auto n = static_cast<std::int64_t>(values.size());
    const auto N = static_cast<std::int64_t>(size_);
    std::vector<int> counts(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
    for (std::int64_t r = 0; r < N; ++r) {
      const std::int64_t begin = n * r / N, end = n * (r + 1) / N;
      if (end - begin > (1ll << 31) - 1) throw Error("MPI: a sum of more than 2^31 values per rank");
      counts[static_cast<std::size_t>(r)] = static_cast<int>(end - begin);
      offsets[static_cast<std::size_t>(r)] = static_cast<int>(begin);
    }
    if (n > (1ll << 31) - 1) throw Error("MPI: a sum of more than 2^31 values");
    const int mine = counts[static_cast<std::size_t>(rank_)];
    std::vector<T> copies(static_cast<std::size_t>(mine) * static_cast<std::size_t>(size_));
    std::vector<int> copy_counts(static_cast<std::size_t>(size_), mine), copy_offsets(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) copy_offsets[static_cast<std::size_t>(r)] = r * mine;
    check(MPI_Alltoallv(values.data(), counts.data(), offsets.data(), type_of<T>(), copies.data(), copy_counts.data(),
                        copy_offsets.data(), type_of<T>(), MPI_COMM_WORLD),
          "MPI_Alltoallv");
    T* piece = values.data() + offsets[static_cast<std::size_t>(rank_)];
    for (int i = 0; i < mine; ++i) {
      T total = copies[static_cast<std::size_t>(i)];
      for (int r = 1; r < size_; ++r) total += copies[static_cast<std::size_t>(r) * static_cast<std::size_t>(mine) + static_cast<std::size_t>(i)];
      piece[i] = total;
    }
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, type_of<T>(), values.data(), counts.data(), offsets.data(), type_of<T>(),
                         MPI_COMM_WORLD),
          "MPI_Allgatherv");
    const std::uint64_t others = static_cast<std::uint64_t>(n - mine);
    sent_ += (others + static_cast<std::uint64_t>(mine) * static_cast<std::uint64_t>(size_ - 1)) * sizeof(T);
  }

  // The watchdog's view of one collective call, from its start to its end.
  class Waiting {
   public:
    Waiting(MpiWorld& world, const char* call) : dog_(world.watchdog_.get()) {
      if (dog_) dog_->enter(call);
    }
    ~Waiting() {
      if (dog_) dog_->leave();
    }
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

   private:
    Watchdog* dog_;
  };

  int rank_ = 0, size_ = 1;
  std::uint64_t sent_ = 0;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace

bool launched_by_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr; }

std::unique_ptr<Communicator> mpi_world() { return std::make_unique<MpiWorld>(); }

void abort_world(const Communicator& world, const std::string& message) {
  std::fprintf(stderr, "heed: error on rank %d of %d: %s\n", world.rank(), world.size(), message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return
}

}  // namespace heed
