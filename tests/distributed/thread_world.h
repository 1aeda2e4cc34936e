#pragma once
// N ranks as N threads of one test process: the collectives of Communicator over shared memory,
// with the same promises as the MPI one (sums added in rank order), so the sharded code can be
// tested with several ranks without mpirun (and under the sanitizers).
#include <barrier>
#include <cstring>
#include <span>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "distributed/communicator.h"

namespace heed::testing {

class ThreadWorld {
 public:
  explicit ThreadWorld(int ranks) : ranks_(ranks), meet_(ranks), mail_(static_cast<std::size_t>(ranks)) {}

  // Runs body(rank's communicator) on every rank's thread; returns when all are done.
  void run(const std::function<void(Communicator&)>& body) {
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks_; ++r)
      threads.emplace_back([this, r, &body] {
        Rank rank(*this, r);
        body(rank);
      });
    for (std::thread& t : threads) t.join();
  }

 private:
  class Rank final : public Communicator {
   public:
    Rank(ThreadWorld& world, int rank) : world_(world), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return world_.ranks_; }
    void sum(std::span<float> values) override { sum_of(values); }
    void sum(std::span<double> values) override { sum_of(values); }
    void broadcast(std::string& bytes, int root) override {
      if (rank_ == root) world_.mail_[0] = {bytes};
      world_.meet_.arrive_and_wait();
      bytes = world_.mail_[0][0];
      world_.meet_.arrive_and_wait();
    }
    void barrier() override { world_.meet_.arrive_and_wait(); }
    std::vector<std::string> all_to_all(std::vector<std::string> to_each) override {
      for (std::size_t d = 0; d < to_each.size(); ++d)
        if (static_cast<int>(d) != rank_) sent_ += to_each[d].size();
      world_.mail_[static_cast<std::size_t>(rank_)] = std::move(to_each);
      world_.meet_.arrive_and_wait();
      std::vector<std::string> from_each;
      for (const auto& mail : world_.mail_) from_each.push_back(mail[static_cast<std::size_t>(rank_)]);
      world_.meet_.arrive_and_wait();
      return from_each;
    }
    std::uint64_t bytes_sent() const override { return sent_; }

   private:
    template <class T>
    void sum_of(std::span<T> values) {
      std::string mine(reinterpret_cast<const char*>(values.data()), values.size_bytes());
      world_.mail_[static_cast<std::size_t>(rank_)] = {mine};
      world_.meet_.arrive_and_wait();
      for (std::size_t i = 0; i < values.size(); ++i) {
        T total{};
        for (std::size_t r = 0; r < world_.mail_.size(); ++r) {  // rank order, from rank 0's value
          T v;
          std::memcpy(&v, world_.mail_[r][0].data() + i * sizeof(T), sizeof(T));
          total = r == 0 ? v : total + v;
        }
        values[i] = total;
      }
      world_.meet_.arrive_and_wait();
    }

    ThreadWorld& world_;
    int rank_;
    std::uint64_t sent_ = 0;
  };

  int ranks_;
  std::barrier<> meet_;
  std::vector<std::vector<std::string>> mail_;  // [sender] -> one message per receiver
};

}  // namespace heed::testing
