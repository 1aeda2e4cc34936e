#include "checkpoint/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>
#include <fstream>
#include <sstream>

#include <xxhash.h>

#include "checkpoint/atomic_file.h"
#include "checkpoint/hashing_output.h"
#include "config/config_loader.h"
#include "core/binary_io.h"
#include "core/error.h"

namespace heed {
namespace {

constexpr char kMagic[8] = {'H', 'E', 'E', 'D', 'M', 'O', 'D', 'L'};

std::string schema_json(const Schema& schema) {
  nlohmann::ordered_json j;
  for (const auto& t : schema.tables) j["tables"].push_back(t.name);
  for (const auto& f : schema.features) {
    nlohmann::ordered_json e{{"name", f.name}, {"column", f.column}, {"kind", to_string(f.kind)}};
    if (f.table >= 0) e["table"] = schema.tables[static_cast<std::size_t>(f.table)].name;
    if (f.field >= 0) e["field"] = f.field;
    if (f.dense >= 0) e["dense"] = f.dense;
    j["features"].push_back(e);
  }
  return j.dump(2);
}

void write_dense(std::ostream& out, const ParamSet& params) {
  write_pod<std::uint64_t>(out, params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params.param(i);
    write_string(out, p.name);
    write_pod<std::int64_t>(out, p.value.rows());
    write_pod<std::int64_t>(out, p.value.cols());
    out.write(reinterpret_cast<const char*>(p.value.data()), static_cast<std::streamsize>(p.value.size() * sizeof(float)));
  }
}

void load_dense(std::istream& in, ParamSet& params) {
  const auto n = read_pod<std::uint64_t>(in);
  if (n != params.size())
    throw Error(fmt::format("the checkpoint has {} dense parameters, the model built from its config has {}", n, params.size()));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string name = read_string(in);
    const auto rows = read_pod<std::int64_t>(in);
    const auto cols = read_pod<std::int64_t>(in);
    const Param& p = params.param(i);
    if (name != p.name || rows != p.value.rows() || cols != p.value.cols())
      throw Error(fmt::format("checkpoint parameter {} [{}x{}] does not match the model's {} [{}x{}]", name, rows, cols,
                              p.name, p.value.rows(), p.value.cols()));
    if (!in.read(reinterpret_cast<char*>(params[i].data()), static_cast<std::streamsize>(rows * cols * sizeof(float))))
      throw Error("checkpoint parameter data ends early");
  }
}

// Writes one section: its header with a placeholder size and checksum, the payload streamed
// by `payload`, then the real size and checksum patched into the header.
template <class WritePayload>
void write_section(AtomicFile& file, const std::string& name, WritePayload&& payload) {
  std::ostringstream header;
  write_string(header, name);
  const std::string head = header.str();
  file.write(head.data(), head.size());
  const std::uint64_t patch_at = file.size();
  const std::uint64_t placeholder[2] = {0, 0};
  file.write(reinterpret_cast<const char*>(placeholder), sizeof placeholder);
  HashingOutput buffer(file);
  std::ostream out(&buffer);
  out.exceptions(std::ios::badbit);  // a failed write rethrows its own message
  payload(out);
  const std::uint64_t size_and_checksum[2] = {file.size() - patch_at - sizeof placeholder, buffer.checksum()};
  file.overwrite(patch_at, size_and_checksum, sizeof size_and_checksum);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  AtomicFile file(path);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

namespace {

// A checkpoint file; `shards` null: a whole one (with the tables), otherwise a sharded
// checkpoint's manifest (the tables and the rows' state are in the shard files it lists).
void save_sections(const std::filesystem::path& path, const Model& model, const nlohmann::json& meta,
                   const std::string& optimizer, const nlohmann::json* trainer, const std::string& row_optimizer,
                   const nlohmann::json* shards) {
  auto text = [](const std::string& s) { return [&s](std::ostream& out) { out << s; }; };
  AtomicFile file(path);
  file.write(kMagic, sizeof kMagic);
  const std::uint32_t sections = (shards ? 5 : 6) + !optimizer.empty() + !row_optimizer.empty() + (trainer != nullptr) +
                                 (shards != nullptr);
  const std::uint32_t head[2] = {kCheckpointVersion, sections};
  file.write(reinterpret_cast<const char*>(head), sizeof head);
  write_section(file, "meta", text(meta.dump(2)));
  write_section(file, "config", text(to_toml(model.config())));
  write_section(file, "schema", text(schema_json(model.schema())));
  write_section(file, "dense", [&](std::ostream& out) { write_dense(out, model.params()); });
  if (!shards)
    write_section(file, "tables", [&](std::ostream& out) {
      write_pod<std::uint64_t>(out, model.tables().size());
      for (const auto& t : model.tables()) t.save(out);
    });
  write_section(file, "normalizer", [&](std::ostream& out) { model.normalizer().save(out); });
  if (!optimizer.empty()) write_section(file, "optimizer", text(optimizer));
  if (!row_optimizer.empty()) write_section(file, "row_optimizer", text(row_optimizer));
  if (trainer) write_section(file, "trainer", text(trainer->dump()));
  if (shards) write_section(file, "shards", text(shards->dump(2)));
  file.commit();
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Model& model, const nlohmann::json& meta,
                     const std::string& optimizer, const nlohmann::json* trainer,
                     const std::string& row_optimizer) {
  save_sections(path, model, meta, optimizer, trainer, row_optimizer, nullptr);
}

void save_manifest(const std::filesystem::path& path, const Model& model, const nlohmann::json& meta,
                   const std::string& optimizer, const nlohmann::json& trainer, const nlohmann::json& shards) {
  save_sections(path, model, meta, optimizer, &trainer, "", &shards);
}


namespace {

struct SectionPlace {
  std::streamoff offset;
  std::uint64_t size;
};

// Hashes `size` bytes from `in` in bounded pieces.
std::uint64_t checksum_of(std::istream& in, std::uint64_t size) {
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  std::vector<char> piece(std::min<std::uint64_t>(size, 1 << 20));
  while (size > 0) {
    const auto n = std::min<std::uint64_t>(size, piece.size());
    if (!in.read(piece.data(), static_cast<std::streamsize>(n))) break;
    XXH64_update(state, piece.data(), n);
    size -= n;
  }
  const std::uint64_t digest = XXH64_digest(state);
  XXH64_freeState(state);
  if (size > 0) throw Error("checkpoint data ends early");
  return digest;
}


// Two passes over the file: the first checks every section's checksum while holding a bounded
// piece of it at a time; the second parses each verified section straight from the stream, so
// loading a model needs the model's memory and not copies of its file. A manifest (a "shards"
// section instead of "tables") loads only when `manifest_ok`, with the model's tables as built.
Checkpoint load_sections(std::istream& in, const std::string& name, bool manifest_ok) {
  auto fail = [&](const std::string& what) { return Error(fmt::format("{}: {}", name, what)); };
  char magic[8];
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw fail("not a heed model file (bad magic)");
  std::map<std::string, SectionPlace> sections;
  try {
    const auto version = read_pod<std::uint32_t>(in);
    if (version != kCheckpointVersion)
      throw fail(fmt::format("model format version {} is not supported (this heed reads version {})", version,
                             kCheckpointVersion));
    const auto count = read_pod<std::uint32_t>(in);
    for (std::uint32_t i = 0; i < count; ++i) {
      std::string section = read_string(in);
      const auto size = read_pod<std::uint64_t>(in);
      const auto checksum = read_pod<std::uint64_t>(in);
      if (size > remaining_bytes(in))
        throw fail(fmt::format("section '{}' is truncated ({} bytes announced, {} left)", section, size,
                               remaining_bytes(in)));
      const std::streamoff offset = in.tellg();
      if (checksum_of(in, size) != checksum)
        throw fail(fmt::format("section '{}' is corrupt (checksum mismatch)", section));
      sections[std::move(section)] = {offset, size};
    }
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(name, 0) == 0) throw;
    throw fail(what);
  }
  const bool manifest = sections.count("shards") > 0;
  if (manifest && !manifest_ok)
    throw fail("is a sharded checkpoint's manifest: the embedding rows are in the per-rank shard files it lists, "
               "for `heed train --resume` under mpirun; the run's model file holds the whole model");
  for (const char* required : {"meta", "config", "dense", manifest ? "shards" : "tables", "normalizer"})
    if (!sections.count(required)) throw fail(fmt::format("section '{}' is missing", required));

  // Positions the stream at a section; `parse` reads it, and must end exactly at its end.
  auto read_section = [&](const char* section, auto&& parse) {
    const SectionPlace place = sections.at(section);
    in.clear();
    in.seekg(place.offset);
    parse();
    if (!in || in.tellg() != place.offset + static_cast<std::streamoff>(place.size))
      throw Error(fmt::format("section '{}' does not end where its header says", section));
  };
  auto text = [&](const char* section) {
    std::string s;
    read_section(section, [&] {
      s.resize(sections.at(section).size);
      in.read(s.data(), static_cast<std::streamsize>(s.size()));
    });
    return s;
  };

  Checkpoint cp;
  try {
    cp.meta = nlohmann::json::parse(text("meta"));
    cp.model = std::make_unique<Model>(parse_config(text("config"), name + " (saved config)"));
    read_section("dense", [&] { load_dense(in, cp.model->params()); });
    // An older resumable checkpoint keeps the rows' optimizer state in its tables; a model
    // file's (state from before the move, never used for scoring) is skipped.
    const bool keep_legacy_state = sections.count("trainer") && !sections.count("row_optimizer");
    if (!manifest) read_section("tables", [&] {
      if (read_pod<std::uint64_t>(in) != cp.model->tables().size()) throw Error("table count does not match the config");
      if (keep_legacy_state) cp.legacy_row_state.resize(cp.model->tables().size());
      for (std::size_t k = 0; k < cp.model->tables().size(); ++k)
        cp.model->tables()[k].load(in, keep_legacy_state ? &cp.legacy_row_state[k] : nullptr);
    });
    read_section("normalizer", [&] { cp.model->normalizer().load(in); });
    if (sections.count("optimizer")) cp.optimizer = text("optimizer");
    if (sections.count("row_optimizer")) cp.row_optimizer = text("row_optimizer");
    if (sections.count("trainer")) cp.trainer = nlohmann::json::parse(text("trainer"));
    if (manifest) cp.shards = nlohmann::json::parse(text("shards"));
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("unreadable metadata: {}", e.what()));
  } catch (const Error& e) {
    throw fail(e.what());
  }
  return cp;
}

Checkpoint load_file(const std::filesystem::path& path, bool manifest_ok) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(fmt::format("{}: is a folder, not a model file (a run folder keeps its model in {})", path.string(),
                            (path / "model").string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open model file", path.string()));
  return load_sections(in, path.string(), manifest_ok);
}

}  // namespace

Checkpoint load_checkpoint(const std::filesystem::path& path) { return load_file(path, false); }

Checkpoint load_checkpoint(std::istream& in, const std::string& name) { return load_sections(in, name, false); }

Checkpoint load_checkpoint_or_manifest(const std::filesystem::path& path) { return load_file(path, true); }

Checkpoint load_checkpoint_or_manifest(std::istream& in, const std::string& name) {
  return load_sections(in, name, true);
}

}  // namespace heed
