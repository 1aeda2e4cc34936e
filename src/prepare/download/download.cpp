#include "prepare/download/download.h"

#include <fmt/ranges.h>

#include <optional>

#include "core/error.h"
#include "prepare/download/dataset_sources.h"
#include "prepare/download/digest.h"
#include "prepare/download/transfer.h"
#include "prepare/download/unzip.h"

namespace heed::download {
namespace {

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The owner's URL, or the same file name under the mirror's base URL.
std::string url_of(const std::string& mirror, const std::string& owner_url) {
  if (mirror.empty()) return owner_url;
  std::string base = mirror;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + owner_url.substr(owner_url.rfind('/') + 1);
}

// What the file will be checked against, if anything; notes say where it came from.
std::optional<Checksum> expected_checksum(const RemoteFile& file, const DownloadOptions& options,
                                          DownloadReport& report) {
  if (!options.sha256.empty()) return Checksum{DigestKind::kSha256, options.sha256};
  if (!file.sha256.empty()) return Checksum{DigestKind::kSha256, file.sha256};
  if (!file.md5_url.empty() && options.published_checksum) {
    const std::string url = url_of(options.mirror, file.md5_url);
    try {
      std::string hex = find_hex_digest(fetch_text(url), DigestKind::kMd5);
      if (!hex.empty()) return Checksum{DigestKind::kMd5, std::move(hex)};
      report.lines.push_back(fmt::format("{}: no MD5 found in {}; checking the unpacked files only",
                                         file.file_name, url));
    } catch (const Error& e) {
      report.lines.push_back(fmt::format("{}: could not fetch the published MD5 ({}); checking the "
                                         "unpacked files only",
                                         file.file_name, e.what()));
    }
    return std::nullopt;
  }
  report.lines.push_back(fmt::format("{}: no checksum is published; checking the files' presence "
                                     "only (pass --sha256 to check one)",
                                     file.file_name));
  return std::nullopt;
}

bool matches(const std::filesystem::path& path, const Checksum& checksum, std::string* actual) {
  *actual = file_digest(path, checksum.kind);
  return *actual == checksum.hex;
}

void fetch_file(const RemoteFile& file, const DownloadOptions& options, DownloadReport& report) {
  const auto target = options.out / file.file_name;
  auto partial = target;
  partial += ".part";
  const std::optional<Checksum> checksum = expected_checksum(file, options, report);
  std::string actual;

  if (std::filesystem::exists(target)) {
    if (!checksum || matches(target, *checksum, &actual)) {
      report.lines.push_back(fmt::format("{}: already downloaded{}", file.file_name,
                                         checksum ? fmt::format(", {} verified", digest_name(checksum->kind)) : ""));
      return;
    }
    report.lines.push_back(fmt::format("{}: the existing file has the wrong {}; downloading it again",
                                       file.file_name, digest_name(checksum->kind)));
    std::filesystem::remove(target);
  }

  const std::string url = url_of(options.mirror, file.url);
  const TransferResult transfer = fetch(url, partial, file.file_name);
  if (transfer.resumed_from > 0) {
    report.lines.push_back(fmt::format("{}: resumed after {} bytes already downloaded", file.file_name,
                                       transfer.resumed_from));
  }
  if (checksum && !matches(partial, *checksum, &actual)) {
    // A complete file with the wrong bytes cannot be resumed into the right one: start over.
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw Error(fmt::format("{}: {} mismatch: expected {}, got {} ({} bytes from {}); the file was "
                            "removed, run again to download it afresh",
                            file.file_name, digest_name(checksum->kind), checksum->hex, actual,
                            transfer.bytes, url));
  }
  std::filesystem::rename(partial, target);
  report.lines.push_back(fmt::format("{}: {} bytes{}", file.file_name, transfer.bytes,
                                     checksum ? fmt::format(", {} verified", digest_name(checksum->kind)) : ""));
}

}  // namespace

DownloadReport download_dataset(const DownloadOptions& options) {
  const DatasetSource& source = find_dataset_source(options.name);
  if (options.out.empty()) throw Error("no output folder given (--out)");
  const std::string out = options.out.string();
  if (source.files.empty() && options.mirror.empty()) {
    throw Error(fmt::format("{} cannot be downloaded by heed: {}. Then run: {}", source.title,
                            replace_all(source.manual, "OUT", out),
                            replace_all(source.prepare_hint, "OUT", out)));
  }
  if (source.files.empty()) {
    throw Error(fmt::format("{} has no file list heed could take from a mirror; fetch it by hand: {}",
                            source.title, replace_all(source.manual, "OUT", out)));
  }
  if (!options.sha256.empty()) {
    if (source.files.size() != 1) {
      throw Error(fmt::format("--sha256 names one file's checksum, but {} has {} files", source.name,
                              source.files.size()));
    }
    if (options.sha256.size() != 64 || find_hex_digest(options.sha256, DigestKind::kSha256).empty()) {
      throw Error(fmt::format("--sha256 '{}' is not 64 hex digits", options.sha256));
    }
  }
  DownloadOptions resolved = options;
  resolved.sha256 = find_hex_digest(options.sha256, DigestKind::kSha256);  // lowercased

  std::error_code error;
  std::filesystem::create_directories(options.out, error);
  if (error) throw Error(fmt::format("cannot create output folder '{}': {}", out, error.message()));

  DownloadReport report;
  report.lines.push_back(fmt::format("{} ({})", source.title, source.terms));
  for (const RemoteFile& file : source.files) {
    fetch_file(file, resolved, report);
    if (file.unzip) {
      const auto entries = unzip(options.out / file.file_name, options.out);
      report.lines.push_back(fmt::format("{}: unpacked {} files", file.file_name, entries.size()));
    }
  }
  std::vector<std::string> missing;
  for (const std::string& path : source.expect) {
    if (!std::filesystem::is_regular_file(options.out / path)) missing.push_back(path);
  }
  if (!missing.empty()) {
    throw Error(fmt::format("{}: the download is incomplete or not {}: missing {}", out, source.title,
                            fmt::join(missing, ", ")));
  }
  report.next = replace_all(source.prepare_hint, "OUT", out);
  return report;
}

}  // namespace heed::download
