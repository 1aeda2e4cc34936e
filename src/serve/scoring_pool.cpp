#include "serve/scoring_pool.h"

namespace heed::serve {

ScoringPool::ScoringPool(std::size_t threads, std::size_t max_waiting, std::atomic<long>& waiting)
    : threads_count_(std::max<std::size_t>(1, threads)),
      max_waiting_(max_waiting),
      waiting_(waiting) {
  threads_.reserve(threads_count_);
  for (std::size_t i = 0; i < threads_count_; ++i) threads_.emplace_back([this] { work(); });
}

ScoringPool::~ScoringPool() {
  finish();
}

bool ScoringPool::try_submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    // A free thread takes the job at once; otherwise it waits, within the bound.
    const bool free_thread = busy_ + jobs_.size() < threads_count_;
    if (!free_thread && jobs_.size() >= max_waiting_) return false;
    jobs_.push_back(std::move(job));
    waiting_ = static_cast<long>(jobs_.size());
  }
  ready_.notify_one();
  return true;
}

void ScoringPool::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    waiting_ = static_cast<long>(jobs_.size());
    ++busy_;
    lock.unlock();
    job();
    job = nullptr;  // whatever it holds is released outside the lock
    lock.lock();
    --busy_;
  }
}

void ScoringPool::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace heed::serve
