// The `heed serve` process: SIGTERM while a request is in flight stops new connections, lets the
// request finish with its answer, and exits 0.
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
