#include "prepare/download/unzip.h"

#include <minizip/unzip.h>

#include <fstream>
#include <memory>

#include "core/error.h"

namespace heed::download {
namespace {

// A relative path that stays inside the folder it is joined to.
bool is_safe(const std::filesystem::path& entry) {
  if (entry.empty() || entry.is_absolute() || entry.has_root_name()) return false;
  for (const auto& part : entry) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> unzip(const std::filesystem::path& archive, const std::filesystem::path& folder) {
  const std::unique_ptr<void, decltype(&unzClose)> zip(unzOpen64(archive.c_str()), unzClose);
  if (!zip) throw Error(fmt::format("{}: not a zip archive (or cannot be opened)", archive.string()));
  std::vector<std::string> written;
  std::vector<char> buffer(1 << 16);
  int status = unzGoToFirstFile(zip.get());
  for (; status == UNZ_OK; status = unzGoToNextFile(zip.get())) {
    unz_file_info64 info;
    char name[4096];
    if (unzGetCurrentFileInfo64(zip.get(), &info, name, sizeof name, nullptr, 0, nullptr, 0) != UNZ_OK) {
      throw Error(fmt::format("{}: corrupt zip directory", archive.string()));
    }
    const std::filesystem::path entry(name);
    if (!is_safe(entry.lexically_normal())) {
      throw Error(fmt::format("{}: entry '{}' would be written outside {}; refusing to unpack",
                              archive.string(), name, folder.string()));
    }
    const auto target = folder / entry.lexically_normal();
    const std::string_view text(name);
    if (!text.empty() && text.back() == '/') {
      std::filesystem::create_directories(target);
      continue;
    }
    std::filesystem::create_directories(target.parent_path());
    if (unzOpenCurrentFile(zip.get()) != UNZ_OK) {
      throw Error(fmt::format("{}: cannot read entry '{}'", archive.string(), name));
    }
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("{}: cannot create the file", target.string()));
    int got = 0;
    while ((got = unzReadCurrentFile(zip.get(), buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) {
      out.write(buffer.data(), got);
    }
    // unzCloseCurrentFile checks the entry's CRC-32: a damaged archive is an error here.
    const int closed = unzCloseCurrentFile(zip.get());
    out.close();
    if (got < 0 || closed != UNZ_OK) {
      throw Error(fmt::format("{}: entry '{}' is damaged (read or CRC error)", archive.string(), name));
    }
    if (!out) throw Error(fmt::format("{}: writing failed (disk full?)", target.string()));
    written.push_back(entry.lexically_normal().string());
  }
  if (status != UNZ_END_OF_LIST_OF_FILE) {
    throw Error(fmt::format("{}: corrupt zip directory (minizip status {})", archive.string(), status));
  }
  return written;
}

}  // namespace heed::download
