#include <cstdio>
#include <memory>

#include "commands.h"
#include "prepare/download/dataset_sources.h"
#include "prepare/download/download.h"

namespace heed::cli {

void add_download_command(CLI::App& app) {
  auto options = std::make_shared<download::DownloadOptions>();
  auto out = std::make_shared<std::string>();
  std::string names;
  for (const download::DatasetSource& source : download::dataset_sources()) {
    names += (names.empty() ? "" : ", ") + source.name;
  }
  CLI::App* command = app.add_subcommand(
      "download", "Fetch a public dataset from its owner (resumable, verified), ready for heed prepare");
  command->add_option("name", options->name, "Dataset: " + names)->required();
  command->add_option("--out", *out, "Folder the files are saved (and unpacked) in")->required();
  command->add_option("--mirror", options->mirror,
                      "Base URL to fetch the same file names from instead of the owner (https://, file://)");
  command->add_option("--sha256", options->sha256, "Expected SHA-256 of the file (single-file datasets)");
  command->add_flag("!--no-published-checksum", options->published_checksum,
                    "Do not fetch the owner's published checksum");
  command->callback([options, out] {
    options->out = *out;
    const download::DownloadReport report = download::download_dataset(*options);
    for (const std::string& line : report.lines) std::printf("%s\n", line.c_str());
    std::printf("next: %s\n", report.next.c_str());
  });
}

}  // namespace heed::cli
