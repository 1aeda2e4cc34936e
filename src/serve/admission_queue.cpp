#include "serve/admission_queue.h"

namespace heed::serve {
namespace {
thread_local bool tl_shedding = false;
}

bool AdmissionQueue::shedding() {
  return tl_shedding;
}

AdmissionQueue::AdmissionQueue(std::size_t workers, std::size_t max_waiting,
                               std::atomic<long>& waiting)
    : max_waiting_(max_waiting), waiting_(waiting) {
  for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i)
    workers_.threads.emplace_back(work, std::ref(workers_), false, &waiting_);
  for (std::size_t i = 0; i < kShedThreads; ++i)
    shed_.threads.emplace_back(work, std::ref(shed_), true, nullptr);
}

AdmissionQueue::~AdmissionQueue() {
  shutdown();
}

void AdmissionQueue::work(Lane& lane, bool shedding, std::atomic<long>* gauge) {
  tl_shedding = shedding;
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(lane.mutex);
      lane.ready.wait(lock, [&] { return lane.stopping || !lane.tasks.empty(); });
      if (lane.tasks.empty()) return;  // stopping, and nothing left to run
      task = std::move(lane.tasks.front());
      lane.tasks.pop_front();
      ++lane.busy;
      if (gauge) *gauge = static_cast<long>(lane.tasks.size());
    }
    lane.space.notify_one();
    task();
    std::lock_guard<std::mutex> lock(lane.mutex);
    --lane.busy;
  }
}

void AdmissionQueue::enqueue(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(workers_.mutex);
    // Free workers (counted by what runs, not by who waits: threads still starting count as
    // free) plus the wait list.
    if (workers_.busy + workers_.tasks.size() < workers_.threads.size() + max_waiting_) {
      workers_.tasks.push_back(std::move(task));
      waiting_ = static_cast<long>(workers_.tasks.size());
      workers_.ready.notify_one();
      return;
    }
  }
  std::unique_lock<std::mutex> lock(shed_.mutex);
  shed_.space.wait(lock, [&] { return shed_.tasks.size() < kShedWaiting; });
  shed_.tasks.push_back(std::move(task));
  shed_.ready.notify_one();
}

void AdmissionQueue::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (Lane* lane : {&workers_, &shed_}) {
    {
      std::lock_guard<std::mutex> lock(lane->mutex);
      lane->stopping = true;
    }
    lane->ready.notify_all();
  }
  for (Lane* lane : {&workers_, &shed_})
    for (std::thread& t : lane->threads) t.join();
}

}  // namespace heed::serve
