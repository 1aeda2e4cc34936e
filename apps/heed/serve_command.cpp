#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "commands.h"
#include "core/error.h"
#include "serve/http_server.h"

namespace heed::cli {
namespace {

int stop_pipe[2] = {-1, -1};
constexpr unsigned char kServerEnded = 0;  // not a signal number

extern "C" void on_stop_signal(int sig) {
  const int saved = errno;  // a handler must leave errno as it found it
  const auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const auto written = write(stop_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<serve::ServerOptions>();
  CLI::App* cmd =
      app.add_subcommand("serve", "Serve click probabilities over HTTP and gRPC (docs/serving.md)");
  cmd->add_option("model", options->model, "Model file (RUN_DIR/model)")->required();
  cmd->add_option("--host", options->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", options->port, "Port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--grpc-port", options->grpc_port,
                  "Also serve the Open Inference Protocol over gRPC on this port (0: any free "
                  "port, printed at start; -1: no gRPC)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  cmd->add_option("--threads", options->threads, "Scoring threads (0: one per core)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  cmd->add_option("--max-queue", options->max_queue,
                  "Requests that may wait for a scoring thread; beyond, 503 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-connections", options->max_connections,
                  "Open client connections; beyond, 503 with Retry-After")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-head-bytes", options->max_head_bytes,
                  "Largest request line and headers (431 beyond)")
      ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", options->max_body_bytes,
                  "Largest request body, checked against Content-Length before reading (413)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-candidates", options->limits.max_candidates,
                  "Most candidates per /v1/score request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-values", options->limits.max_values,
                  "Most values of one multi-valued or sequence field of a request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-string-bytes", options->limits.max_string_bytes,
                  "Longest JSON string of a /v1/score request (413 beyond)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-rows", options->limits.max_rows, "Most rows per /v1/score_rows request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  // Timeouts: positive seconds (a zero or negative one would turn the deadline off).
  const auto seconds = CLI::Range(0.001, 86400.0);
  cmd->add_option("--head-timeout", options->head_timeout_s,
                  "Seconds a request head may take to arrive (also the keep-alive idle time)")
      ->check(seconds)
      ->capture_default_str();
  cmd->add_option("--read-timeout", options->read_timeout_s,
                  "Seconds a request body may take to arrive, once its head is read")
      ->check(seconds)
      ->capture_default_str();
  cmd->add_option("--write-timeout", options->write_timeout_s,
                  "Seconds an answer may take to be written to the client")
      ->check(seconds)
      ->capture_default_str();
  cmd->add_option("--drain-timeout", options->drain_timeout_s,
                  "On SIGTERM, seconds to wait for the requests already accepted")
      ->check(seconds)
      ->capture_default_str();
  cmd->add_option("--admin-token", options->admin_token,
                  "Token POST /v1/reload must carry (unset: reload over HTTP is off)")
      ->envname("HEED_ADMIN_TOKEN");
  cmd->add_option("--precision", options->precision,
                  "Scoring products: fp32, bf16 or int8 (default: the model's scoring.precision)");
  cmd->add_option("--model-name", options->model_name,
                  "The model's name in the Open Inference Protocol (/v2/models/NAME)")
      ->capture_default_str();
  cmd->add_flag("--watch,!--no-watch", options->watch,
                "Reload when the model file changes (checked every second)")
      ->capture_default_str();
  cmd->callback([options] {
    // SIGTERM and SIGINT reach a handler that only writes the signal's number into a pipe; a
    // thread reading the pipe stops the server. A handler works on whichever thread the kernel
    // picks, threads that libraries start before main included (OpenBLAS keeps a pool), where
    // blocking the signals in heed's own threads and sigwait-ing would not.
    // The write end never blocks: a handler must not wait, and a full pipe already holds a
    // byte for the reader.
    if (pipe2(stop_pipe, O_CLOEXEC) != 0 || fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) != 0)
      throw Error(fmt::format("heed serve: pipe: {}", std::strerror(errno)));
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    serve::Server server(*options);
    const int port = server.bind();
    const auto model = server.model();
    std::fprintf(
        stderr, "heed serve: serving %s (version %s, trained %s) on http://%s:%d with %d threads\n",
        options->model.c_str(), model->version().c_str(), model->trained_at().c_str(),
        options->host.c_str(), port,
        options->threads > 0 ? options->threads
                             : static_cast<int>(std::thread::hardware_concurrency()));
    if (server.grpc_port() >= 0)
      std::fprintf(stderr, "heed serve: gRPC (inference.GRPCInferenceService) on %s:%d\n",
                   options->host.c_str(), server.grpc_port());
    std::fflush(stderr);

    std::thread waiter([&] {
      unsigned char sig = 0;
      while (read(stop_pipe[0], &sig, 1) < 0 && errno == EINTR) {
      }
      if (sig != kServerEnded) {
        std::fprintf(stderr, "heed serve: %s: finishing the requests in flight, then exiting\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
        std::fflush(stderr);
      }
      server.stop();
    });
    server.run();
    const unsigned char ended = kServerEnded;  // wakes the waiter when no signal came
    while (write(stop_pipe[1], &ended, 1) < 0 && errno == EINTR) {
    }
    waiter.join();
    std::fprintf(stderr, "heed serve: stopped\n");
  });
}

}  // namespace heed::cli
