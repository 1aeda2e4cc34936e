#pragma once
// Helpers the tests share: a temporary folder removed when the test ends, whole-file reads
// and writes, running the heed CLI, and an exception matcher for messages.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace heed::testing {

namespace fs = std::filesystem;

// A fresh folder under the system temp dir, unique per process and instance, removed when the
// object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("heed_test_" + tag + "_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Runs `command` through the shell with stdout and stderr captured into files next to each
// other in `dir`; returns the exit status (or -1 when it did not exit normally).
struct CommandResult {
  int status = -1;
  std::string out, err;
};

inline CommandResult run_command(const std::string& command, const fs::path& dir) {
  static std::atomic<int> counter{0};
  const std::string tag = std::to_string(counter++);
  const fs::path out = dir / ("cmd" + tag + ".out"), err = dir / ("cmd" + tag + ".err");
  const std::string full = command + " > '" + out.string() + "' 2> '" + err.string() + "'";
  const int raw = std::system(full.c_str());
  CommandResult r;
  r.status = raw != -1 && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline std::string heed_binary() {
  return HEED_BINARY;
}

// The message of the heed::Error (or subclass) `statement` throws; fails the test when it
// throws nothing or something else.
#define HEED_ERROR_MESSAGE(statement, ErrorType)                                \
  [&]() -> std::string {                                                        \
    try {                                                                       \
      static_cast<void>(statement);                                             \
    } catch (const ErrorType& e) {                                              \
      return e.what();                                                          \
    } catch (const std::exception& e) {                                         \
      ADD_FAILURE() << #statement " threw a different exception: " << e.what(); \
      return {};                                                                \
    }                                                                           \
    ADD_FAILURE() << #statement " did not throw";                               \
    return {};                                                                  \
  }()

}  // namespace heed::testing
