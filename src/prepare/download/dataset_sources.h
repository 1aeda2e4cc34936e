#pragma once
// Where each dataset heed has a recipe for is published: the owner's URLs, what is known about
// the files' checksums, what a complete download must contain, and, for datasets behind a
// login, how to fetch them by hand.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prepare/download/digest.h"

namespace heed::download {

struct RemoteFile {
  std::string url;
  std::string file_name;       // saved as out/file_name
  std::string sha256;          // known SHA-256, lowercase hex; empty: none recorded
  std::string md5_url;         // a checksum file the owner publishes beside it; empty: none
  bool unzip = false;          // a zip archive, unpacked into out/
};

struct DatasetSource {
  std::string name;            // as in `heed prepare NAME` and `heed download NAME`
  std::string title;
  std::string terms;           // the owner's terms in one line
  std::vector<RemoteFile> files;  // empty: the owner requires a login; see `manual`
  std::vector<std::string> expect;  // paths under out/ a complete download holds
  std::string prepare_hint;    // the `heed prepare` command to run next, with OUT for the folder
  std::string manual;          // how to fetch by hand when there are no files
};

std::span<const DatasetSource> dataset_sources();
// The dataset called `name`; throws heed::Error listing the known names.
const DatasetSource& find_dataset_source(std::string_view name);

}  // namespace heed::download
