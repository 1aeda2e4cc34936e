#pragma once
// `heed serve`: the HTTP scoring server (and, with --grpc-port, the gRPC one beside it:
// serve/grpc_server.h). One I/O thread (Boost.Asio/Beast) reads and writes
// every connection without blocking; a fixed pool of scoring threads runs the requests once they
// are read, so an idle or slow client costs a socket, never a worker. Endpoints, limits, reload
// and metrics are described in docs/serving.md. The model is shared read-only by every worker;
// each request borrows a scorer (with its workspace) from the model's pool, and keeps the model
// it started with even when a reload swaps in another.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "serve/score_request.h"
#include "serve/served_model.h"
#include "serve/server_metrics.h"

namespace heed::serve {

struct ServerOptions {
  std::filesystem::path model;  // RUN_DIR/model
  std::string host = "127.0.0.1";
  int port = 8080;             // 0: any free port (bind() says which)
  int grpc_port = -1;          // the gRPC service's port (0: any free one); -1: no gRPC
  int threads = 0;             // scoring threads; 0: one per core
  std::size_t max_queue = 64;  // requests read and waiting for a scoring thread (503 beyond)
  std::size_t max_connections = 1024;  // open client connections (503 beyond)
  std::size_t max_head_bytes = 16u << 10;  // request line and headers (431 beyond)
  std::size_t max_body_bytes = 4u << 20;   // checked against Content-Length before reading
  Limits limits;
  double head_timeout_s = 5.0;  // a request head must arrive within this (idle keep-alive too)
  double read_timeout_s = 5.0;  // a request body must arrive within this, once the head is read
  double write_timeout_s = 5.0;
  double drain_timeout_s = 30.0;  // on stop(): longest wait for the requests already accepted
  std::string admin_token;  // empty: POST /v1/reload is refused, /v1/model shows no paths
  std::string precision;  // scoring products: fp32, bf16 or int8; empty: the model's scoring.precision
  std::string model_name = "heed";  // the model's name in the Open Inference Protocol (/v2)
  bool watch = true;        // reload when the model file changes
  double watch_interval_s = 1.0;
  std::function<void(const std::string&)> log;  // one line per event; default: standard error
};

// Throws heed::Error naming the first option out of range (a port past 65535, a timeout that
// is not a positive number, a limit of 0, ...).
void validate(const ServerOptions& options);

class Server {
 public:
  // Loads the model; throws heed::Error when it cannot.
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (and host:grpc_port when gRPC is on) and returns the HTTP port; throws
  // heed::Error when it cannot. The gRPC service answers from then on; HTTP once run() runs.
  int bind();
  // The gRPC service's port once bound; -1 when gRPC is off.
  int grpc_port() const;
  // Serves until stop(): then accepts nothing more, closes idle connections, answers every
  // request already accepted over HTTP and gRPC (within the drain timeout) and returns.
  void run();
  // Thread-safe and idempotent (not async-signal-safe: call it from a thread, not a handler).
  // Takes effect once run() runs, even when called before.
  void stop();

  std::shared_ptr<const ServedModel> model() const;
  const ServerMetrics& metrics() const;

  // Reads the model file again and swaps it in when it differs and keeps every request valid.
  struct Reload {
    int status = 200;  // 200, or 409 (incompatible) / 422 (unreadable)
    std::string kind;  // "" when it worked; else the error kind
    std::string message;
    bool changed = false;  // false: the file holds the model already served
  };
  Reload reload(const std::string& trigger);

 private:
  friend class Session;  // one client connection (http_server.cpp)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace heed::serve
