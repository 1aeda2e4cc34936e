#pragma once
// The server's scoring threads: a fixed number of them, fed by the I/O thread through a bounded
// list of waiting requests. Connections never hold a thread: only a request that has been read
// completely is handed over, so idle or slow clients cost a socket, not a worker.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace heed::serve {

class ScoringPool {
 public:
  // waiting: a gauge kept equal to the number of jobs waiting for a thread.
  ScoringPool(std::size_t threads, std::size_t max_waiting, std::atomic<long>& waiting);
  ~ScoringPool();
  ScoringPool(const ScoringPool&) = delete;
  ScoringPool& operator=(const ScoringPool&) = delete;

  // Queues `job` unless every thread is busy and `max_waiting` jobs already wait (false then:
  // the caller answers 503). Thread-safe.
  bool try_submit(std::function<void()> job);
  // Runs every job already accepted, then joins the threads. Idempotent.
  void finish();

 private:
  void work();

  std::size_t threads_count_, max_waiting_;
  std::atomic<long>& waiting_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace heed::serve
