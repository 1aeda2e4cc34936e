#pragma once
// `heed serve`: the HTTP scoring server (cpp-httplib). Endpoints, limits, reload and metrics
// are described in docs/serving.md. The model is shared read-only by every worker; each request
// borrows a scorer (with its workspace) from the model's pool, and keeps the model it started
// with even when a reload swaps in another.
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
  int threads = 0;             // workers, one connection each; 0: one per core
  std::size_t max_queue = 64;  // accepted connections waiting for a worker
  std::size_t max_body_bytes = 4u << 20;
  Limits limits;
  double read_timeout_s = 5.0;  // also how long an idle keep-alive connection is kept
  double write_timeout_s = 5.0;
  std::string admin_token;  // empty: POST /v1/reload is refused
  bool watch = true;        // reload when the model file changes
  double watch_interval_s = 1.0;
  std::function<void(const std::string&)> log;  // one line per event; default: standard error
};

class Server {
 public:
  // Loads the model; throws heed::Error when it cannot.
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the port; throws heed::Error when it cannot.
  int bind();
  // Serves until stop(): then accepts nothing more, answers the requests already accepted and
  // returns.
  void run();
  // Thread-safe and idempotent (not async-signal-safe: call it from a thread, not a handler).
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
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace heed::serve
