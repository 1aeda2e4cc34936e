#pragma once
// What /metrics reports, in the Prometheus text format (version 0.0.4):
//
//   heed_http_requests_total{endpoint, status}          counter
//   heed_http_request_errors_total{kind}                counter, one kind per refusal reason
//   heed_http_request_duration_seconds{endpoint}        histogram (_bucket{le}, _sum, _count)
//   heed_http_in_flight_requests                        gauge
//   heed_http_queued_requests                           gauge: read, waiting for a scoring thread
//   heed_http_open_connections                          gauge
//   heed_candidates_scored_total                        counter
//   heed_model_info{version, trained_at}                gauge, 1 for the model being served
//   heed_model_reloads_total{trigger, result}           counter: trigger http|watch, result
//   ok|failed|unchanged
//
// Endpoints are the server's routes, anything else counts as "other", so labels stay bounded
// whatever clients send. gRPC calls count under their method paths
// ("/inference.GRPCInferenceService/ModelInfer"), with the HTTP status the same answer gets
// over HTTP (200, 400 for INVALID_ARGUMENT, 413 for RESOURCE_EXHAUSTED, 503 for UNAVAILABLE). Thread-safe; a mutex guards the counters (one short lock per request).
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace heed::serve {

class ServerMetrics {
 public:
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  // The endpoint label of a request path.
  static std::string_view endpoint_of(std::string_view path);

  void count_request(std::string_view path, int status);
  void count_error(std::string_view kind);
  void observe(std::string_view path, double seconds);
  void count_reload(std::string_view trigger, std::string_view result);
  void add_candidates(std::size_t n) { candidates_ += n; }
  std::atomic<long>& in_flight() { return in_flight_; }
  long in_flight_now() const { return in_flight_.load(); }
  std::atomic<long>& queued() { return queued_; }
  long queued_now() const { return queued_.load(); }  // requests waiting for a scoring thread
  std::atomic<long>& open_connections() { return open_; }
  long open_connections_now() const { return open_.load(); }

  // How many requests got `status` / errors of `kind` so far (for tests and logs).
  std::uint64_t requests(std::string_view path, int status) const;
  std::uint64_t errors(std::string_view kind) const;

  std::string render(const std::string& version, const std::string& trained_at) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, std::uint64_t> errors_;
  std::map<std::string, Histogram> latency_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> reloads_;
  std::atomic<std::uint64_t> candidates_{0};
  std::atomic<long> in_flight_{0}, queued_{0}, open_{0};
};

}  // namespace heed::serve
