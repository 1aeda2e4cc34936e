#pragma once
// One file fetched from a URL (https, http or file) with libcurl into `<target>.part`, resuming
// from the partial file's size when one is there (an HTTP Range request; a server that ignores
// it gets the file from the start again). A progress bar is drawn on stderr when it is a
// terminal.
#include <cstdint>
#include <filesystem>
#include <string>

namespace heed::download {

struct TransferResult {
  std::uint64_t resumed_from = 0;  // bytes that were already in the partial file and kept
  std::uint64_t bytes = 0;         // size of the partial file at the end
};

// Fetches `url` into `partial` (appending after what is there). Throws heed::Error with the
// URL and curl's reason on failure; the partial file is kept, so a rerun resumes.
TransferResult fetch(const std::string& url, const std::filesystem::path& partial,
                     const std::string& label);

// A small text file (a published checksum) fetched into memory.
std::string fetch_text(const std::string& url);

}  // namespace heed::download
