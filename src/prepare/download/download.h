#pragma once
// `heed download NAME --out DIR`: fetches a dataset from its owner (dataset_sources.h), resumes
// a partial download, verifies it (a SHA-256 given by the user or recorded, or the owner's
// published MD5; always the expected files), unpacks zip archives, and says which
// `heed prepare` command comes next.
#include <filesystem>
#include <string>
#include <vector>

namespace heed::download {

struct DownloadOptions {
  std::string name;               // a dataset name (dataset_sources())
  std::filesystem::path out;      // created if missing
  std::string mirror;             // base URL replacing the owner's (a mirror, or file:///... in tests)
  std::string sha256;             // expected SHA-256 of the (single) file; overrides anything else
  bool published_checksum = true; // fetch and check the owner's published checksum where there is one
};

struct DownloadReport {
  std::vector<std::string> lines;  // what happened, one line per step, for the user
  std::string next;                // the heed prepare command to run next
};

// Throws heed::Error for an unknown name (listing the known ones), a dataset that must be
// fetched by hand (with the instructions), a failed transfer (partial file kept for resuming),
// or a checksum mismatch (the bad file removed).
DownloadReport download_dataset(const DownloadOptions& options);

}  // namespace heed::download
