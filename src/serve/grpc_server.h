#pragma once
// `heed serve --grpc-port`: the Open Inference Protocol's gRPC service
// (inference.GRPCInferenceService, src/serve/inference.proto) beside the HTTP server. It shares
// everything with it: the served model (and so hot reloads), the request limits, the scoring
// threads and their queue, the tensor decoder and scoring path of POST /v2/models/NAME/infer,
// and the /metrics counters. gRPC's own threads only read calls and hand ModelInfer to the
// scoring threads (its callback API: no thread waits for a score), so a slow client holds no
// scoring thread here either.
#include <functional>
#include <memory>
#include <string>

#include "serve/http_server.h"
#include "serve/scoring_pool.h"

namespace heed::serve {

// What the service reads from the server it runs beside; every part outlives the service.
struct ServingState {
  const ServerOptions& options;
  ServerMetrics& metrics;
  std::function<std::shared_ptr<const ServedModel>()> model;  // the model being served now
  ScoringPool& pool;
};

class GrpcServer {
 public:
  explicit GrpcServer(ServingState state);
  ~GrpcServer();  // shuts down at once when shutdown() was not called
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Listens on host:port (0: any free port) and serves from then on; returns the port. Throws
  // heed::Error when the port is taken or the address is not one of this machine's.
  int start(const std::string& host, int port);
  // Takes no new call, lets the calls in flight finish within `drain_timeout_s`, cancels what
  // is left, and returns once every call has ended. Idempotent.
  void shutdown(double drain_timeout_s);

  // The method paths the service answers, as /metrics labels them.
  static constexpr const char* kInferPath = "/inference.GRPCInferenceService/ModelInfer";

 private:
  class Service;
  std::unique_ptr<Service> service_;
  struct Running;
  std::unique_ptr<Running> running_;
};

}  // namespace heed::serve
