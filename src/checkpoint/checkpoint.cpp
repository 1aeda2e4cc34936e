#include "checkpoint/checkpoint.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

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

std::string dense_section(const ParamSet& params) {
  std::ostringstream out;
  write_pod<std::uint64_t>(out, params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params.param(i);
    write_string(out, p.name);
    write_pod<std::int64_t>(out, p.value.rows());
    write_pod<std::int64_t>(out, p.value.cols());
    out.write(reinterpret_cast<const char*>(p.value.data()), static_cast<std::streamsize>(p.value.size() * sizeof(float)));
  }
  return out.str();
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

void fsync_path(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      std::filesystem::remove(tmp);
      throw Error(fmt::format("cannot write {}: {} (the previous file, if any, is intact)", path.string(),
                              std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    std::filesystem::remove(tmp);
    throw Error(fmt::format("cannot flush {}: {} (the previous file, if any, is intact)", path.string(), std::strerror(err)));
  }
  std::filesystem::rename(tmp, path);
  fsync_path(path.parent_path().empty() ? "." : path.parent_path(), O_RDONLY | O_DIRECTORY);
}

void save_checkpoint(const std::filesystem::path& path, const Model& model, const nlohmann::json& meta,
                     const std::string& optimizer, const nlohmann::json* trainer) {
  std::vector<std::pair<std::string, std::string>> sections;
  sections.emplace_back("meta", meta.dump(2));
  sections.emplace_back("config", to_toml(model.config()));
  sections.emplace_back("schema", schema_json(model.schema()));
  sections.emplace_back("dense", dense_section(model.params()));
  {
    std::ostringstream out;
    write_pod<std::uint64_t>(out, model.tables().size());
    for (const auto& t : model.tables()) t.save(out);
    sections.emplace_back("tables", out.str());
  }
  {
    std::ostringstream out;
    model.normalizer().save(out);
    sections.emplace_back("normalizer", out.str());
  }
  if (!optimizer.empty()) sections.emplace_back("optimizer", optimizer);
  if (trainer) sections.emplace_back("trainer", trainer->dump());

  std::ostringstream file;
  file.write(kMagic, sizeof kMagic);
  write_pod<std::uint32_t>(file, kCheckpointVersion);
  write_pod<std::uint32_t>(file, static_cast<std::uint32_t>(sections.size()));
  for (const auto& [name, payload] : sections) {
    write_string(file, name);
    write_pod<std::uint64_t>(file, payload.size());
    write_pod<std::uint64_t>(file, XXH64(payload.data(), payload.size(), 0));
    file.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  }
  write_file_atomically(path, file.str());
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open model file", path.string()));
  return load_checkpoint(in, path.string());
}

Checkpoint load_checkpoint(std::istream& in, const std::string& name) {
  auto fail = [&](const std::string& what) { return Error(fmt::format("{}: {}", name, what)); };
  char magic[8];
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw fail("not a heed model file (bad magic)");
  std::map<std::string, std::string> sections;
  try {
    const auto version = read_pod<std::uint32_t>(in);
    if (version != kCheckpointVersion)
      throw fail(fmt::format("model format version {} is not supported (this heed reads version {})", version,
                             kCheckpointVersion));
    const auto count = read_pod<std::uint32_t>(in);
    for (std::uint32_t i = 0; i < count; ++i) {
      std::string name = read_string(in);
      const auto size = read_pod<std::uint64_t>(in);
      const auto checksum = read_pod<std::uint64_t>(in);
      if (size > remaining_bytes(in))
        throw fail(fmt::format("section '{}' is truncated ({} bytes announced, {} left)", name, size, remaining_bytes(in)));
      std::string payload(size, '\0');
      in.read(payload.data(), static_cast<std::streamsize>(size));
      if (XXH64(payload.data(), payload.size(), 0) != checksum)
        throw fail(fmt::format("section '{}' is corrupt (checksum mismatch)", name));
      sections[std::move(name)] = std::move(payload);
    }
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(name, 0) == 0) throw;
    throw fail(what);
  }
  for (const char* required : {"meta", "config", "dense", "tables", "normalizer"})
    if (!sections.count(required)) throw fail(fmt::format("section '{}' is missing", required));

  Checkpoint cp;
  try {
    cp.meta = nlohmann::json::parse(sections["meta"]);
    cp.model = std::make_unique<Model>(parse_config(sections["config"], name + " (saved config)"));
    std::istringstream dense(sections["dense"]);
    load_dense(dense, cp.model->params());
    std::istringstream tables(sections["tables"]);
    if (read_pod<std::uint64_t>(tables) != cp.model->tables().size()) throw Error("table count does not match the config");
    for (auto& t : cp.model->tables()) t.load(tables);
    std::istringstream normalizer(sections["normalizer"]);
    cp.model->normalizer().load(normalizer);
    if (sections.count("optimizer")) cp.optimizer = sections["optimizer"];
    if (sections.count("trainer")) cp.trainer = nlohmann::json::parse(sections["trainer"]);
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("unreadable metadata: {}", e.what()));
  } catch (const Error& e) {
    throw fail(e.what());
  }
  return cp;
}

}  // namespace heed
