#pragma once
// What each fuzz target does with one input, shared by the libFuzzer targets (fuzz/*_fuzz.cpp)
// and by the regression test that replays every kept input (tests/fuzz/fuzz_corpus_test.cpp).
//
// The contract under test: any bytes give either a result or a heed::Error with a message;
// never a crash, a hang, memory beyond the limits, or another exception escaping. A different
// exception is a finding: the entry lets it escape, libFuzzer reports it as a crash and the
// regression test fails.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include <xxhash.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/shard_file.h"
#include "config/config_loader.h"
#include "core/binary_io.h"
#include "core/error.h"
#include "data/dataset_loader.h"
#include "data/line_reader.h"
#include "serve/inference_protocol.h"
#include "serve/score_request.h"
#include "serve/served_model.h"

namespace heed::fuzz {

// A model with every kind of feature the row parsers and request decoders handle: single,
// multi-valued, a DIN-pooled and a mean-pooled sequence (with a padding value), standardized and
// bucketized numbers. (A header may spread the sequences over columns of one name.)
inline std::string model_config(const std::string& format) {
  return "[data]\nformat = \"" + format +
         "\"\n"
         "[features.user]\n"
         "[features.item]\n"
         "[features.genres]\nkind = \"multi\"\nmax_len = 8\n"
         "[features.history]\nkind = \"sequence\"\ntable = \"item\"\nmax_len = 6\npooling = \"din\"\n"
         "query = [\"item\"]\n"
         "[features.hist_genres]\nkind = \"sequence\"\ntable = \"genres\"\nmax_len = 6\npooling = \"mean\"\n"
         "padding = \"0\"\n"
         "[features.price]\nkind = \"numeric\"\ntransform = \"standardize\"\n"
         "[features.count]\nkind = \"numeric\"\nbucketize = \"log2\"\n"
         "[embedding]\ndim = 4\n"
         "[din]\nhidden = [4]\n"
         "[model]\nhidden = [8]\n"
         "[eval]\ngroup = \"user\"\n";
}

// The row parsers: a TSV or CSV file's bytes (header line first) through the loader training
// uses. The first byte picks the options (label required or not, features only).
inline void rows(std::string_view bytes, const std::string& format) {
  static const Config tsv = parse_config(model_config("tsv"), "fuzz.toml");
  static const Config csv = parse_config(model_config("csv"), "fuzz.toml");
  static const Schema tsv_schema = Schema::from_config(tsv), csv_schema = Schema::from_config(csv);
  const bool is_csv = format == "csv";
  LoadOptions options;
  if (!bytes.empty()) {
    options.require_label = (bytes[0] & 1) == 0;
    options.features_only = (bytes[0] & 2) != 0;
    bytes.remove_prefix(1);
  }
  LineReader::Options reading = line_reader_options((is_csv ? csv : tsv).data);
  reading.max_line_bytes = 1 << 16;
  LineReader reader(LineReader::Text{"rows." + format, bytes}, reading);
  try {
    const Dataset data = load_dataset(reader, is_csv ? csv : tsv, is_csv ? csv_schema : tsv_schema, options);
    if (data.source_lines.size() != data.rows) throw std::logic_error("a row without its source line");
  } catch (const Error&) {
  }
}

// The config parser: TOML text to a checked Config; what parses must survive its own
// round trip unchanged.
inline void config(std::string_view bytes) {
  Config parsed;
  try {
    parsed = parse_config(bytes, "fuzz.toml");
  } catch (const Error&) {
    return;
  }
  const std::string text = to_toml(parsed);
  if (to_toml(parse_config(text, "round trip")) != text) throw std::logic_error("to_toml does not round-trip");
}

// The checkpoint loader. With the first byte odd, every section's checksum is first set to
// match its bytes, so the section readers themselves are fuzzed, not only the checksum check.
inline void checkpoint(std::string_view bytes) {
  std::string file(bytes.empty() ? std::string_view() : bytes.substr(1));
  if (!bytes.empty() && (bytes[0] & 1)) {
    // Layout: magic(8) version(4) count(4), then per section: u64 name length, name, u64 size,
    // u64 checksum, payload.
    std::size_t at = 16;
    auto u64_at = [&](std::size_t pos) {
      std::uint64_t v;
      std::memcpy(&v, file.data() + pos, 8);
      return v;
    };
    while (at + 8 <= file.size()) {
      const std::uint64_t name = u64_at(at);
      if (name > file.size() - at - 8) break;
      at += 8 + name;
      if (at + 16 > file.size()) break;
      const std::uint64_t size = u64_at(at);
      if (size > file.size() - at - 16) break;
      const std::uint64_t sum = XXH64(file.data() + at + 16, size, 0);
      std::memcpy(file.data() + at + 8, &sum, 8);
      at += 16 + size;
    }
  }
  std::istringstream in(file);
  try {
    load_checkpoint(in, "fuzz.model");
  } catch (const Error&) {
  }
  // The same bytes as a sharded checkpoint's manifest, and its list of shards.
  std::istringstream again(file);
  try {
    const Checkpoint manifest = load_checkpoint_or_manifest(again, "fuzz.manifest");
    if (manifest.shards) ShardSet::from_json(*manifest.shards, "fuzz.manifest");
  } catch (const Error&) {
  }
}

// A model file for the request decoders, written once per process.
inline std::shared_ptr<const serve::ServedModel> served_model() {
  static const std::shared_ptr<const serve::ServedModel> model = [] {
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("heed_fuzz_model_" + std::to_string(::getpid()));
    const Model m(parse_config(model_config("tsv"), "fuzz.toml"));
    save_checkpoint(path, m, nlohmann::json{{"epoch", 0}}, "", nullptr);
    auto loaded = serve::ServedModel::load(path);
    std::filesystem::remove(path);
    return loaded;
  }();
  return model;
}

// The serving request decoders: a /v1/score body, a /v1/score_rows body or a KServe v2 infer
// body (picked by the first byte), decoded and encoded into rows as the server does, under
// small limits.
inline void request(std::string_view bytes) {
  const auto model = served_model();
  serve::Limits limits;
  limits.max_candidates = 64;
  limits.max_values = 64;
  limits.max_rows = 64;
  // The first byte picks the body: odd, /v1/score_rows; bit 1, a KServe v2 infer body (the
  // tensor decoder gRPC shares); else /v1/score.
  const bool rows_body = !bytes.empty() && (bytes[0] & 1);
  const bool infer_body = !rows_body && !bytes.empty() && (bytes[0] & 2);
  if (!bytes.empty()) bytes.remove_prefix(1);
  try {
    if (rows_body) {
      serve::parse_rows(bytes, *model, limits);
    } else if (infer_body) {
      const serve::InferRequest infer = serve::parse_infer_request(bytes, *model, limits);
      serve::encode_request(infer.request, *model);
    } else {
      const serve::ScoreRequest request = serve::parse_score_request(bytes, *model, limits);
      serve::encode_request(request, *model);
      serve::encode_rows(request, *model);
    }
  } catch (const Error&) {
  }
}

}  // namespace heed::fuzz
