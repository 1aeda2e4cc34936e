// The `heed serve` process: SIGTERM while a request is in flight stops new connections, lets the
// request finish with its answer, and exits 0; SIGTERM with many requests queued answers every
// one of them; numbers out of range on the command line are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "../support/synthetic_data.h"
#include "serve_support.h"

extern char** environ;

namespace heed {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Starts `command` through the shell; its pid (exec replaces the shell).
pid_t spawn_shell(const std::string& command) {
  std::string line = "exec ";
  line += command;
  const char* argv[] = {"/bin/sh", "-c", line.c_str(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  return pid;
}

// The exit status of `pid` once it exits within `timeout`; -1 if it does not (it is then killed).
int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

// `heed serve` on a model of the synthetic data, started with `flags`; its pid and port.
struct ServeProcess {
  pid_t pid = -1;
  int port = 0;
};
ServeProcess start_serve(const testing::TempDir& dir, const std::string& flags) {
  const testing::SyntheticFiles files = testing::write_synthetic_data(dir.path());
  testing::write_keyed_model(dir / "model",
                             parse_config(testing::serve_config_text(dir.path()), "serve.toml"),
                             files.train);
  ServeProcess p;
  p.pid = spawn_shell(testing::heed_binary() + " serve '" + (dir / "model").string() +
                      "' --port 0 --no-watch " + flags + " 2> '" + (dir / "serve.log").string() +
                      "'");
  const std::regex listening("on http://127\\.0\\.0\\.1:([0-9]+)");
  for (int i = 0; i < 400 && p.port == 0 && p.pid > 0; ++i) {
    std::smatch m;
    const std::string log = testing::read_file(dir / "serve.log");
    if (std::regex_search(log, m, listening))
      p.port = std::stoi(m[1]);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return p;
}

TEST(ServeProcess, SigtermAnswersEveryQueuedRequestThenExitsZero) {
  testing::TempDir dir("serve_drain");
  const ServeProcess server = start_serve(dir, "--threads 1");
  ASSERT_GT(server.port, 0) << testing::read_file(dir / "serve.log");
  std::string body = R"({"user": {"user": "u1", "history": ")";
  for (int i = 0; i < 50; ++i) {
    if (i) body += '|';
    body += std::to_string(i);
  }
  body += R"("}, "candidates": [)";
  for (int i = 0; i < 100; ++i) {
    if (i) body += ',';
    body += R"({"item": ")";
    body += std::to_string(i);
    body += R"(", "genres": "g0|g2", "price": 2.5, "count": 3})";
  }
  body += "]}";
  std::string request = "POST /v1/score HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  // 16 connections, each with 3 pipelined requests: far more than one scoring thread answers
  // before the signal.
  constexpr int kConnections = 16, kEach = 3;
  std::vector<int> fds;
  for (int c = 0; c < kConnections; ++c) {
    const int fd = testing::connect_loopback(server.port);
    ASSERT_GE(fd, 0);
    std::string all;
    for (int k = 0; k < kEach; ++k) all += request;
    testing::send_all(fd, all);
    fds.push_back(fd);
  }
  // Every connection accepted (the server counts them) before the signal.
  const int probe = testing::connect_loopback(server.port);
  ASSERT_GE(probe, 0);
  bool all_open = false;
  for (int i = 0; i < 200 && !all_open; ++i) {
    testing::send_all(probe, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
    const std::string metrics = testing::receive(probe, std::chrono::milliseconds(20000), "heed_model_info");
    std::smatch m;
    static const std::regex open("heed_http_open_connections ([0-9]+)");
    all_open = std::regex_search(metrics, m, open) && std::stoi(m[1]) >= kConnections + 1;
    if (!all_open) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::close(probe);
  ASSERT_TRUE(all_open);
  ASSERT_EQ(::kill(server.pid, SIGTERM), 0);
  int answered = 0;
  for (int fd : fds) {
    const std::string got = testing::receive(fd, std::chrono::milliseconds(60000));
    ::close(fd);
    std::size_t at = 0;
    for (int k = 0; k < kEach; ++k) {
      at = got.find("HTTP/1.1 200 OK", at);
      if (at == std::string::npos) break;
      ++answered;
      ++at;
    }
  }
  EXPECT_EQ(answered, kConnections * kEach);
  EXPECT_EQ(wait_exit(server.pid, std::chrono::milliseconds(60000)), 0)
      << testing::read_file(dir / "serve.log");
}

TEST(ServeProcess, OutOfRangeNumbersAndATakenPortAreClearErrors) {
  testing::TempDir dir("serve_flags");
  const ServeProcess first = start_serve(dir, "--threads 1");
  ASSERT_GT(first.port, 0) << testing::read_file(dir / "serve.log");
  const std::string serve = testing::heed_binary() + " serve '" + (dir / "model").string() + "' ";
  const auto taken = testing::run_command(serve + "--port " + std::to_string(first.port), dir.path());
  EXPECT_NE(taken.status, 0);
  EXPECT_THAT(taken.err, HasSubstr("another process listens on this port"));
  for (const std::string flags : {"--port 70000", "--read-timeout -1", "--head-timeout 0",
                                  "--max-connections 0", "--threads -2"}) {
    SCOPED_TRACE(flags);
    const auto r = testing::run_command(serve + flags, dir.path());
    EXPECT_NE(r.status, 0);
    EXPECT_THAT(r.err, HasSubstr(flags.substr(0, flags.find(' '))));
  }
  ::kill(first.pid, SIGTERM);
  EXPECT_EQ(wait_exit(first.pid, std::chrono::milliseconds(30000)), 0);
}

TEST(ServeProcess, SigtermLetsTheRequestInFlightFinishAndExitsZero) {
  testing::TempDir dir("serve_signal");
  const testing::SyntheticFiles files = testing::write_synthetic_data(dir.path());
  testing::write_keyed_model(dir / "model",
                             parse_config(testing::serve_config_text(dir.path()), "serve.toml"),
                             files.train);
  std::string command = testing::heed_binary();
  command += " serve '";
  command += (dir / "model").string();
  command += "' --port 0 --threads 2 --no-watch --read-timeout 20 2> '";
  command += (dir / "serve.log").string();
  command += "'";
  const pid_t pid = spawn_shell(command);
  ASSERT_GT(pid, 0);

  int port = 0;
  const std::regex listening("on http://127\\.0\\.0\\.1:([0-9]+)");
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::smatch m;
    const std::string log = testing::read_file(dir / "serve.log");
    if (std::regex_search(log, m, listening))
      port = std::stoi(m[1]);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(port, 0) << testing::read_file(dir / "serve.log");

  // One connection: a first request answered (so a worker holds it), then half of a second.
  const int fd = testing::connect_loopback(port);
  ASSERT_GE(fd, 0);
  testing::send_all(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_THAT(testing::receive(fd, std::chrono::milliseconds(5000), "}}"), HasSubstr("200 OK"));
  const std::string body =
      R"({"user": {"user": "u1", "history": "3|4"}, "candidates": [{"item": "7", "genres": "g0", "price": 2.5, "count": 3}, {"item": "9", "genres": "g2", "price": null, "count": 1}]})";
  std::string head =
      "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/json\r\nContent-Length: ";
  head += std::to_string(body.size());
  head += "\r\n\r\n";
  testing::send_all(fd, head + body.substr(0, 40));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  bool refused = false;  // new connections, once the signal is handled
  for (int i = 0; i < 100 && !refused; ++i) {
    const int probe = testing::connect_loopback(port);
    refused = probe < 0;
    if (!refused) {
      ::close(probe);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_TRUE(refused) << "still accepting connections after SIGTERM";
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0)
      << "exited before the request in flight was answered";

  testing::send_all(fd, body.substr(40));
  const std::string answer =
      testing::receive(fd, std::chrono::milliseconds(5000));  // until it closes
  ::close(fd);
  EXPECT_THAT(answer, HasSubstr("200 OK"));
  EXPECT_THAT(answer, HasSubstr("\"scores\":["));
  EXPECT_EQ(wait_exit(pid, std::chrono::milliseconds(15000)), 0)
      << testing::read_file(dir / "serve.log");
  EXPECT_THAT(testing::read_file(dir / "serve.log"), HasSubstr("SIGTERM"));
}

}  // namespace
}  // namespace heed
