#pragma once
// The self-describing model file. Layout:
//   "HEEDMODL"  u32 format version  u32 section count
//   per section: name, u64 size, u64 XXH64 checksum of the payload, payload
// Sections: meta (JSON: versions, time, metrics), config (the resolved TOML, from which the
// model is rebuilt), schema (JSON, for people and tools), dense (named parameters), tables
// (weights only), normalizer, and for resumable checkpoints optimizer (Adam's state of the
// dense weights), row_optimizer (the embedding rows' optimizer state) and trainer. Files
// written before the embedding rows' state moved out of the tables still load: their tables
// section holds it beside the weights (see EmbeddingTable::load). Every checksum is verified
// on load; a truncated, corrupt or wrong-version file is refused with a message saying which.
// Files are written to a temporary name, flushed, fsynced and renamed, so a crash never
// leaves half a model under the real name.
//
// A sharded checkpoint (mpirun -np N, N > 1: docs/distributed.md) is N shard files, each one
// rank's embedding rows and their optimizer state (train/sharded_checkpoint.h), and a manifest:
// this format with the sections of a resumable checkpoint but tables and row_optimizer, and a
// "shards" section (JSON: the step, N, and each shard's file name, size and XXH64). Only
// load_checkpoint_or_manifest reads a manifest; load_checkpoint refuses it (it holds no rows).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.h"

namespace heed {

constexpr std::uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::unique_ptr<Model> model;
  nlohmann::json meta;
  std::string optimizer;           // Adam's state (empty when not saved)
  std::string row_optimizer;       // RowOptimizer's state (empty when not saved)
  // A resumable checkpoint written before row_optimizer existed: per table, the row state its
  // tables section held (empty otherwise).
  std::vector<std::vector<float>> legacy_row_state;
  std::optional<nlohmann::json> trainer;  // the trainer's own state (resumable checkpoints)
  // A sharded checkpoint's manifest: its "shards" section (the model's tables are as the config
  // builds them, with no trained row).
  std::optional<nlohmann::json> shards;
};

// optimizer / trainer / row_optimizer may be empty / null for a model kept only for scoring.
void save_checkpoint(const std::filesystem::path& path, const Model& model, const nlohmann::json& meta,
                     const std::string& optimizer, const nlohmann::json* trainer,
                     const std::string& row_optimizer = {});

// A sharded checkpoint's manifest: everything a resumable checkpoint holds but the embedding rows
// and their state; `shards` lists the files that hold those.
void save_manifest(const std::filesystem::path& path, const Model& model, const nlohmann::json& meta,
                   const std::string& optimizer, const nlohmann::json& trainer, const nlohmann::json& shards);

Checkpoint load_checkpoint(const std::filesystem::path& path);
// A whole checkpoint or a sharded checkpoint's manifest (Checkpoint::shards set).
Checkpoint load_checkpoint_or_manifest(const std::filesystem::path& path);
// The same from bytes already read (the server hashes a model file's bytes and loads those very
// bytes); `name` stands for the file in messages.
Checkpoint load_checkpoint(std::istream& in, const std::string& name);
Checkpoint load_checkpoint_or_manifest(std::istream& in, const std::string& name);

// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

}  // namespace heed
