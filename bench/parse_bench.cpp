// Parse throughput of heed's reader (bench/parse_bench.sh runs it next to pandas; docs/data.md).
//
//   parse_bench --make DIR --rows N [--tsv-only] [--seed S]
//                                        writes DIR/rows.{tsv,csv,libsvm,tsv.gz}: a Criteo-like
//                                        layout (label, 13 integer counts, 26 hex categories,
//                                        some cells empty), the same rows in each format (or
//                                        only rows.tsv)
//   parse_bench --file F --format FMT --threads T [--repeats R] [--config C]
//                                        streams F (RowStream: one reading thread, T parsing
//                                        threads) into hashed rows, best of R runs; prints JSON:
//                                        rows, file bytes, seconds (the best), all_seconds (every
//                                        run), all_cpu_seconds (every run's CPU time, all threads
//                                        together: on a shared machine, what the reader itself
//                                        spent, where the wall time also holds other jobs' turns). F is read as the Criteo-like layout above, or with
//                                        --config as that heed config's training file (e.g.
//                                        bench/configs/reference.toml on gen_data.py's train.tsv).
//                                        --whole: load_dataset() instead, the in-memory loader
//                                        (one thread reading and parsing; with --threads T above 1,
//                                        data.parser_threads = T: one reading, T parsing)
//
// What is timed is all of reading: decompressing, splitting lines and cells, parsing numbers,
// bucketizing the counts and hashing every value, as training reads a file.
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config_loader.h"
#include "config/schema.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/bad_rows.h"
#include "data/dataset_loader.h"
#include "data/row_stream.h"

namespace {

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string criteo_config(const std::string& format) {
  std::string text = fmt::format("[data]\nformat = \"{}\"\n", format == "gzip" ? "tsv" : format);
  if (format == "libsvm") {
    // Fields by index range: count k is index k (its value the count, absent when empty),
    // category k the indices from 100 + k * 1,000,000.
    text += "sparse_fields = \"ranges\"\ncolumns = [";
    for (int i = 1; i <= 13; ++i) text += fmt::format("\"I{}\", ", i);
    for (int i = 1; i <= 26; ++i) text += fmt::format("\"C{}\"{}", i, i < 26 ? ", " : "");
    text += "]\nfield_starts = [";
    for (int i = 0; i < 13; ++i) text += fmt::format("{}, ", i);
    for (int i = 0; i < 26; ++i) text += fmt::format("{}{}", 100 + i * 1000000, i < 25 ? ", " : "");
    text += "]\n";
  }
  for (int i = 1; i <= 13; ++i) text += fmt::format("[features.I{}]\nkind = \"numeric\"\nbucketize = \"log2\"\n", i);
  for (int i = 1; i <= 26; ++i) text += fmt::format("[features.C{}]\n", i);
  return text;
}

void make_files(const std::filesystem::path& dir, std::size_t rows, bool tsv_only, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  std::ofstream tsv(dir / "rows.tsv"), csv, svm;
  gzFile gz = nullptr;
  if (!tsv_only) {
    csv.open(dir / "rows.csv");
    svm.open(dir / "rows.libsvm");
    gz = gzopen((dir / "rows.tsv.gz").c_str(), "wb6");
  }
  std::string header = "label";
  for (int i = 1; i <= 13; ++i) header += fmt::format("\tI{}", i);
  for (int i = 1; i <= 26; ++i) header += fmt::format("\tC{}", i);
  header += "\n";
  std::string header_csv = header;
  for (char& c : header_csv)
    if (c == '\t') c = ',';
  tsv << header;
  if (!tsv_only) {
    csv << header_csv;
    gzwrite(gz, header.data(), static_cast<unsigned>(header.size()));
  }
  heed::Rng rng(seed);
  std::string line, line_csv, line_svm;
  for (std::size_t r = 0; r < rows; ++r) {
    const int label = rng.uniform() < 0.25 ? 1 : 0;
    line = std::to_string(label);
    line_svm = std::to_string(label);
    for (int i = 0; i < 13; ++i) {
      const bool empty = rng.uniform() < 0.2;
      const auto count = static_cast<long>(std::exp(rng.uniform() * 8.0)) - 1;
      line += "\t";
      if (!empty) line += std::to_string(count);
      // libSVM: the count is the value of the field's one index
      if (!empty) line_svm += fmt::format(" {}:{}", i, count);
    }
    for (int i = 0; i < 26; ++i) {
      const bool empty = rng.uniform() < 0.05;
      const std::uint64_t v = rng.below(i < 3 ? 1000000 : 5000);
      line += "\t";
      if (!empty) line += fmt::format("{:08x}", static_cast<std::uint32_t>(heed::mix64(v + 1000003ULL * i)));
      line_svm += fmt::format(" {}:1", 100 + i * 1000000 + (empty ? 999999 : v));
    }
    line += "\n";
    line_svm += "\n";
    tsv << line;
    if (tsv_only) continue;
    line_csv = line;
    for (char& c : line_csv)
      if (c == '\t') c = ',';
    csv << line_csv;
    svm << line_svm;
    gzwrite(gz, line.data(), static_cast<unsigned>(line.size()));
  }
  if (gz) gzclose(gz);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto value = [&](const std::string& flag, const std::string& fallback) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == flag) return args[i + 1];
    return fallback;
  };
  try {
    if (!value("--make", "").empty()) {
      const bool tsv_only = std::find(args.begin(), args.end(), "--tsv-only") != args.end();
      make_files(value("--make", ""), std::stoul(value("--rows", "1000000")), tsv_only,
                 std::stoull(value("--seed", "7")));
      return 0;
    }
    const std::filesystem::path file = value("--file", "");
    const std::string format = value("--format", "tsv");
    const int threads = std::stoi(value("--threads", "1"));
    const int repeats = std::stoi(value("--repeats", "3"));
    const bool whole = std::find(args.begin(), args.end(), "--whole") != args.end();
    const std::string config_file = value("--config", "");
    heed::Config config = config_file.empty() ? heed::parse_config(criteo_config(format), "parse_bench.toml")
                                              : heed::load_config(config_file);
    if (whole) config.data.parser_threads = threads;
    const heed::Schema schema = heed::Schema::from_config(config);
    double best = 1e300;
    std::vector<double> all, all_cpu;
    std::size_t rows = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const double cpu_start = process_cpu_seconds();
      if (whole) {
        rows = heed::load_dataset(file, config, schema).rows;
      } else {
        heed::BadRowLog log(config.data, "/dev/null");
        heed::StreamOptions options;
        options.parser_threads = threads;
        heed::RowStream stream({file}, config, schema, options, log);
        heed::Dataset chunk;
        rows = 0;
        while (stream.next(chunk)) rows += chunk.rows;
      }
      all.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      all_cpu.push_back(process_cpu_seconds() - cpu_start);
      best = std::min(best, all.back());
    }
    nlohmann::json out = {{"format", format},
                          {"threads", threads},
                          {"reader", whole ? "load_dataset" : "stream"},
                          {"rows", rows},
                          {"file_bytes", std::filesystem::file_size(file)},
                          {"seconds", best},
                          {"all_seconds", all},
                          {"all_cpu_seconds", all_cpu}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parse_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
