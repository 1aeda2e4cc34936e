#include "prepare/download/transfer.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace heed::download {
namespace {

// curl_global_init once per process, before the first handle.
void init_curl() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!done) throw Error("cannot initialize libcurl");
}

using Handle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

Handle new_handle(const std::string& url) {
  init_curl();
  Handle curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error("cannot create a libcurl handle");
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https,http,file");
  curl_easy_setopt(curl.get(), CURLOPT_REDIR_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "heed-download/" HEED_VERSION);
  // Give up on a stalled connection (under 1 KB/s for a minute) rather than hang forever.
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  return curl;
}

struct Sink {
  CURL* curl;
  std::FILE* file;
  std::uint64_t resumed_from;
  bool checked_status = false;
  bool restarted = false;
};

// Appends received bytes; on the first call, a server that answered a range request with the
// whole file (200 instead of 206) makes the partial file start over.
std::size_t write_bytes(char* data, std::size_t size, std::size_t count, void* user) {
  auto& sink = *static_cast<Sink*>(user);
  if (!sink.checked_status) {
    sink.checked_status = true;
    long status = 0;
    curl_easy_getinfo(sink.curl, CURLINFO_RESPONSE_CODE, &status);
    if (sink.resumed_from > 0 && status == 200) {
      if (std::fflush(sink.file) != 0 || ::ftruncate(::fileno(sink.file), 0) != 0) return 0;
      std::rewind(sink.file);
      sink.restarted = true;
    }
  }
  return std::fwrite(data, size, count, sink.file) * size;
}

struct Progress {
  std::string label;
  std::uint64_t offset;  // bytes already there before this transfer
  bool terminal;
  int last_percent = -1;
};

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

int draw_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto& p = *static_cast<Progress*>(user);
  if (!p.terminal) return 0;
  const auto done = p.offset + static_cast<std::uint64_t>(now);
  if (total <= 0) {
    std::fprintf(stderr, "\r  %s  %s", p.label.c_str(), megabytes(done).c_str());
    return 0;
  }
  const auto all = p.offset + static_cast<std::uint64_t>(total);
  const int percent = static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(all));
  if (percent == p.last_percent) return 0;
  p.last_percent = percent;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  std::fprintf(stderr, "\r  %s  [%s%s] %3d%%  %s / %s", p.label.c_str(), std::string(filled, '#').c_str(),
               std::string(kWidth - filled, ' ').c_str(), percent, megabytes(done).c_str(),
               megabytes(all).c_str());
  return 0;
}

}  // namespace

TransferResult fetch(const std::string& url, const std::filesystem::path& partial, const std::string& label) {
  std::error_code ignored;
  const std::uint64_t have = std::filesystem::exists(partial) ? std::filesystem::file_size(partial, ignored) : 0;
  std::FILE* file = std::fopen(partial.c_str(), "ab");
  if (!file) throw Error(fmt::format("{}: cannot open for writing ({})", partial.string(), std::strerror(errno)));
  const std::unique_ptr<std::FILE, decltype(&std::fclose)> closer(file, std::fclose);

  Handle curl = new_handle(url);
  Sink sink{curl.get(), file, have};
  Progress progress{label, have, ::isatty(STDERR_FILENO) == 1};
  char reason[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, reason);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_bytes);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl.get(), CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, draw_progress);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &progress);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  const CURLcode code = curl_easy_perform(curl.get());
  if (progress.terminal) std::fputc('\n', stderr);
  if (std::fflush(file) != 0) {
    throw Error(fmt::format("{}: writing failed ({})", partial.string(), std::strerror(errno)));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  // 416: the range starts at the end, i.e. the partial file is already complete.
  const bool already_complete = code == CURLE_HTTP_RETURNED_ERROR && status == 416 && have > 0;
  if (code != CURLE_OK && !already_complete) {
    // An empty partial file resumes nothing: leave no trace of a transfer that never started.
    std::error_code size_error;
    const std::uintmax_t size = std::filesystem::file_size(partial, size_error);
    const std::uint64_t got = size_error ? 0 : size;
    if (got == 0 && have == 0) std::filesystem::remove(partial, ignored);
    const std::string kept = got > 0 ? fmt::format("the partial file {} ({} bytes) is kept; run again to resume",
                                                   partial.string(), got)
                                     : "nothing was saved";
    const std::string what = reason[0] != '\0' ? reason : curl_easy_strerror(code);
    if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_CONNECT)
      throw Error(fmt::format("{}: the network is unreachable ({}): heed download needs a connection to the "
                              "dataset's host (or --mirror naming a reachable copy); {}",
                              url, what, kept));
    throw Error(fmt::format("{}: download failed: {} ({})", url, what, kept));
  }
  TransferResult result;
  result.resumed_from = sink.restarted ? 0 : have;
  result.bytes = std::filesystem::file_size(partial);
  return result;
}

std::string fetch_text(const std::string& url) {
  Handle curl = new_handle(url);
  std::string text;
  char reason[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, reason);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION,
                   +[](char* data, std::size_t size, std::size_t count, void* user) -> std::size_t {
                     auto& out = *static_cast<std::string*>(user);
                     if (out.size() + size * count > (1u << 16)) return 0;  // a checksum file is tiny
                     out.append(data, size * count);
                     return size * count;
                   });
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &text);
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    throw Error(fmt::format("{}: {}", url, reason[0] != '\0' ? reason : curl_easy_strerror(code)));
  }
  return text;
}

}  // namespace heed::download
