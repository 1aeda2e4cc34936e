#pragma once
// Unpacks a zip archive (minizip) into a folder. Entries whose names would land outside the
// folder (absolute paths, "..") are refused, so an archive cannot write anywhere else.
#include <filesystem>
#include <string>
#include <vector>

namespace heed::download {

// Extracts every entry of `archive` under `folder`; returns the relative paths written.
// Throws heed::Error naming the archive and the entry on any problem.
std::vector<std::string> unzip(const std::filesystem::path& archive, const std::filesystem::path& folder);

}  // namespace heed::download
