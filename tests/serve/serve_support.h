#pragma once
// Helpers the serving tests share: a model config with every attention (DIN over the history,
// SENet, POSO), models written without training (random weights, every key present), an
// in-process server on a free loopback port, and raw sockets for clients that misbehave.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_files.h"
#include "checkpoint/checkpoint.h"
#include "config/config_loader.h"
#include "data/dataset_loader.h"
#include "embedding/batch_builder.h"
#include "serve/http_server.h"

namespace heed::testing {

// The synthetic data's columns (label user item genres history price count), read with DIN
// over the history (the candidate item as query), SENet over every field and POSO gates fed
// by the user.
inline std::string serve_config_text(const std::filesystem::path& data_dir,
                                     const std::string& extra = "") {
  std::string text = "[data]\ndir = \"";
  text += data_dir.string();
  text += "\"\ntrain = \"train.tsv\"\ntest = \"test.tsv\"\nvalid_fraction = 0.2\n";
  text +=
      "[features.user]\n"
      "[features.item]\n"
      "[features.genres]\nkind = \"multi\"\n"
      "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 60\npooling = \"din\"\n"
      "query = [\"item\"]\n"
      "[features.price]\nkind = \"numeric\"\ntransform = \"standardize\"\n"
      "[features.count]\nkind = \"numeric\"\nbucketize = \"log2\"\n"
      "[embedding]\ndim = 8\n"
      "[din]\nhidden = [16, 8]\nactivation = \"dice\"\n"
      "[senet]\nenabled = true\n"
      "[poso]\nenabled = true\nfeatures = [\"user\"]\n"
      "[model]\nhidden = [16, 8]\n"
      "[optimizer]\nlr = 0.01\nembedding_lr = 0.03\n"
      "[train]\nepochs = 1\nbatch_size = 128\nthreads = 1\nprogress = \"none\"\n"
      "[eval]\ngroup = \"user\"\nbatch_size = 300\n";
  text += extra;
  return text;
}

inline std::string quoted(const std::filesystem::path& p) {
  std::string s = "'";
  s += p.string();
  s += "'";
  return s;
}

inline std::vector<std::string> split(const std::string& line, char by) {
  std::vector<std::string> parts;
  std::stringstream in(line);
  std::string part;
  while (std::getline(in, part, by)) parts.push_back(part);
  if (!line.empty() && line.back() == by) parts.emplace_back();
  return parts;
}

// The rows of a tab-separated file, its header left out.
inline std::vector<std::vector<std::string>> read_rows(const std::filesystem::path& tsv) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(tsv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) rows.push_back(split(line, '\t'));
  return rows;
}

// `heed predict`'s scores of `rows` with `model` (one thread), as the reference a server's
// answers are compared with.
inline std::vector<double> predict(const std::filesystem::path& model,
                                   const std::filesystem::path& rows,
                                   const std::filesystem::path& dir) {
  const auto r = run_command(heed_binary() + " predict " + quoted(model) + " --data " +
                                 quoted(rows) + " --threads 1",
                             dir);
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<double> scores;
  std::stringstream in(r.out);
  for (double s; in >> s;) scores.push_back(s);
  return scores;
}

// A model of `config` whose tables hold every key of `rows` (a file in the training layout),
// with untrained weights, saved to `path`.
inline void write_keyed_model(const std::filesystem::path& path, const Config& config,
                              const std::filesystem::path& rows) {
  Model model(config);
  LoadOptions load;
  load.require_label = false;
  const Dataset data = load_dataset(rows, model.config(), model.schema(), load);
  std::vector<std::size_t> all(data.rows);
  std::iota(all.begin(), all.end(), std::size_t{0});
  BatchBuilder builder(model.schema(), model.config().embedding);
  Batch batch;
  Rng rng(7);
  builder.build(data, all, /*training=*/true, &rng, model.tables(), model.normalizer(), batch);
  save_checkpoint(path, model, {{"trained_at", "2024-01-01T00:00:00Z"}}, "", nullptr);
}

// A server running in this process on a free loopback port until the object goes away.
class RunningServer {
 public:
  explicit RunningServer(serve::ServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (!options.log) options.log = [](const std::string&) {};
    server_ = std::make_unique<serve::Server>(std::move(options));
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  serve::Server& server() { return *server_; }

 private:
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// A TCP connection to 127.0.0.1:port, or -1.
inline int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// What arrives on `fd` until `stop_after` is seen, the peer closes, or `timeout` passes.
inline std::string receive(int fd, std::chrono::milliseconds timeout,
                           std::string_view stop_after = {}) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
    if (!stop_after.empty() && got.find(stop_after) != std::string::npos) break;
  }
  return got;
}

}  // namespace heed::testing
