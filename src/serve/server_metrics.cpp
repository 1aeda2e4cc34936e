#include "serve/server_metrics.h"

#include <fmt/format.h>

namespace heed::serve {
namespace {

// Label values escaped as the text format asks: backslash, double quote and newline.
std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string_view ServerMetrics::endpoint_of(std::string_view path) {
  for (std::string_view known :
       {"/v1/score", "/v1/score_rows", "/v1/model", "/v1/reload", "/healthz", "/metrics", "/v2",
        "/v2/health/live", "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready",
        "/v2/models/{name}/infer",
        // The gRPC service's calls, by their method paths.
        "/inference.GRPCInferenceService/ServerLive", "/inference.GRPCInferenceService/ServerReady",
        "/inference.GRPCInferenceService/ModelReady",
        "/inference.GRPCInferenceService/ServerMetadata",
        "/inference.GRPCInferenceService/ModelMetadata",
        "/inference.GRPCInferenceService/ModelInfer"})
    if (path == known) return known;
  return "other";
}

void ServerMetrics::count_request(std::string_view path, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{std::string(endpoint_of(path)), status}];
}

void ServerMetrics::count_error(std::string_view kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++errors_[std::string(kind)];
}

void ServerMetrics::observe(std::string_view path, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  Histogram& h = latency_[std::string(endpoint_of(path))];
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  if (b < kBuckets.size()) ++h.buckets[b];
  ++h.count;
  h.sum += seconds;
}

void ServerMetrics::count_reload(std::string_view trigger, std::string_view result) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++reloads_[{std::string(trigger), std::string(result)}];
}

std::uint64_t ServerMetrics::requests(std::string_view path, int status) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = requests_.find({std::string(endpoint_of(path)), status});
  return it == requests_.end() ? 0 : it->second;
}

std::uint64_t ServerMetrics::errors(std::string_view kind) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = errors_.find(std::string(kind));
  return it == errors_.end() ? 0 : it->second;
}

std::string ServerMetrics::render(const std::string& version, const std::string& trained_at) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP heed_http_requests_total HTTP requests answered, by endpoint and status.\n";
  out += "# TYPE heed_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("heed_http_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, n);
  out += "# HELP heed_http_request_errors_total Requests refused, by reason.\n";
  out += "# TYPE heed_http_request_errors_total counter\n";
  for (const auto& [kind, n] : errors_)
    out += fmt::format("heed_http_request_errors_total{{kind=\"{}\"}} {}\n", escape(kind), n);
  out += "# HELP heed_http_request_duration_seconds Time from a request's routing to its answer.\n";
  out += "# TYPE heed_http_request_duration_seconds histogram\n";
  for (const auto& [endpoint, h] : latency_) {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += h.buckets[b];
      out +=
          fmt::format("heed_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n",
                      endpoint, kBuckets[b], cumulative);
    }
    out +=
        fmt::format("heed_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"+Inf\"}} {}\n",
                    endpoint, h.count);
    out += fmt::format("heed_http_request_duration_seconds_sum{{endpoint=\"{}\"}} {}\n", endpoint,
                       h.sum);
    out += fmt::format("heed_http_request_duration_seconds_count{{endpoint=\"{}\"}} {}\n", endpoint,
                       h.count);
  }
  out += "# HELP heed_http_in_flight_requests Requests being handled now.\n";
  out += "# TYPE heed_http_in_flight_requests gauge\n";
  out += fmt::format("heed_http_in_flight_requests {}\n", in_flight_.load());
  out += "# HELP heed_http_queued_requests Requests read and waiting for a scoring thread.\n";
  out += "# TYPE heed_http_queued_requests gauge\n";
  out += fmt::format("heed_http_queued_requests {}\n", queued_.load());
  out += "# HELP heed_http_open_connections Client connections open now.\n";
  out += "# TYPE heed_http_open_connections gauge\n";
  out += fmt::format("heed_http_open_connections {}\n", open_.load());
  out += "# HELP heed_candidates_scored_total Candidates (and rows) scored.\n";
  out += "# TYPE heed_candidates_scored_total counter\n";
  out += fmt::format("heed_candidates_scored_total {}\n", candidates_.load());
  out += "# HELP heed_model_info The model being served (value 1).\n";
  out += "# TYPE heed_model_info gauge\n";
  out += fmt::format("heed_model_info{{version=\"{}\",trained_at=\"{}\"}} 1\n", escape(version),
                     escape(trained_at));
  out += "# HELP heed_model_reloads_total Model reloads tried, by trigger and result.\n";
  out += "# TYPE heed_model_reloads_total counter\n";
  for (const auto& [key, n] : reloads_)
    out += fmt::format("heed_model_reloads_total{{trigger=\"{}\",result=\"{}\"}} {}\n", key.first,
                       key.second, n);
  return out;
}

}  // namespace heed::serve
