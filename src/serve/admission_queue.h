#pragma once
// The server's workers, with a bounded wait list. cpp-httplib hands every accepted connection
// over as a task; a connection holds a worker while it is served (keep-alive included). A task
// that finds every worker busy and `max_waiting` tasks already waiting goes to a small shedding
// pool instead, whose threads read the request's head and answer 503 with Retry-After (the
// server's pre-routing handler asks shedding()). When even the shedding pool's short list is
// full, enqueue waits, which stops the accept loop: the kernel's listen backlog takes the rest.
// So threads, queued connections and memory all stay bounded under any load.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "serve/httplib.h"

namespace heed::serve {

class AdmissionQueue : public httplib::TaskQueue {
 public:
  static constexpr std::size_t kShedThreads = 2;
  static constexpr std::size_t kShedWaiting = 32;

  // waiting: a gauge kept equal to the number of tasks waiting for a worker.
  AdmissionQueue(std::size_t workers, std::size_t max_waiting, std::atomic<long>& waiting);
  ~AdmissionQueue() override;

  void enqueue(std::function<void()> task) override;
  // Runs every task already accepted, then joins the threads.
  void shutdown() override;

  // True on a shedding thread: the request it reads is to be refused with 503.
  static bool shedding();

 private:
  struct Lane {
    std::mutex mutex;
    std::condition_variable ready, space;
    std::deque<std::function<void()>> tasks;
    std::size_t busy = 0;  // tasks running
    bool stopping = false;
    std::vector<std::thread> threads;
  };
  static void work(Lane& lane, bool shedding, std::atomic<long>* gauge);

  std::size_t max_waiting_;
  std::atomic<long>& waiting_;
  Lane workers_, shed_;
  bool shut_down_ = false;
};

}  // namespace heed::serve
