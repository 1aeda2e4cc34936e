#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "serve/http_server.h"

namespace heed::cli {

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<serve::ServerOptions>();
  CLI::App* cmd =
      app.add_subcommand("serve", "Serve click probabilities over HTTP (docs/serving.md)");
  cmd->add_option("model", options->model, "Model file (RUN_DIR/model)")->required();
  cmd->add_option("--host", options->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", options->port, "Port (0: any free port, printed at start)")
      ->capture_default_str();
  cmd->add_option("--threads", options->threads,
                  "Worker threads, one connection each (0: one per core)")
      ->capture_default_str();
  cmd->add_option(
         "--max-queue", options->max_queue,
         "Connections that may wait for a worker; beyond, requests get 503 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", options->max_body_bytes, "Largest request body (413 beyond)")
      ->capture_default_str();
  cmd->add_option("--max-candidates", options->limits.max_candidates,
                  "Most candidates per /v1/score request")
      ->capture_default_str();
  cmd->add_option("--max-values", options->limits.max_values,
                  "Most values of one multi-valued or sequence field of a request")
      ->capture_default_str();
  cmd->add_option("--max-rows", options->limits.max_rows, "Most rows per /v1/score_rows request")
      ->capture_default_str();
  cmd->add_option("--read-timeout", options->read_timeout_s,
                  "Seconds a read may wait for the client (also the keep-alive idle time)")
      ->capture_default_str();
  cmd->add_option("--write-timeout", options->write_timeout_s,
                  "Seconds a write may wait for the client")
      ->capture_default_str();
  cmd->add_option("--admin-token", options->admin_token,
                  "Token POST /v1/reload must carry (unset: reload over HTTP is off)")
      ->envname("HEED_ADMIN_TOKEN");
  cmd->add_flag("--watch,!--no-watch", options->watch,
                "Reload when the model file changes (checked every second)")
      ->capture_default_str();
  cmd->callback([options] {
    // SIGTERM and SIGINT go to one thread that stops the server; every other thread (the
    // server's workers included, created later) inherits the blocked mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    serve::Server server(*options);
    const int port = server.bind();
    const auto model = server.model();
    std::fprintf(
        stderr, "heed serve: serving %s (version %s, trained %s) on http://%s:%d with %d threads\n",
        options->model.c_str(), model->version().c_str(), model->trained_at().c_str(),
        options->host.c_str(), port,
        options->threads > 0 ? options->threads
                             : static_cast<int>(std::thread::hardware_concurrency()));
    std::fflush(stderr);

    std::atomic<bool> signalled{false};
    std::thread waiter([&] {
      int sig = 0;
      sigwait(&signals, &sig);
      if (!signalled.exchange(true)) {
        std::fprintf(stderr, "heed serve: %s: finishing the requests in flight, then exiting\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
        std::fflush(stderr);
      }
      server.stop();
    });
    server.run();
    if (!signalled.exchange(true)) pthread_kill(waiter.native_handle(), SIGTERM);  // wake it to end
    waiter.join();
    std::fprintf(stderr, "heed serve: stopped\n");
  });
}

}  // namespace heed::cli
