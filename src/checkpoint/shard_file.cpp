#include "checkpoint/shard_file.h"

#include <cstring>
#include <fstream>
#include <ostream>
#include <vector>

#include <xxhash.h>

#include "checkpoint/atomic_file.h"
#include "checkpoint/hashing_output.h"
#include "core/binary_io.h"
#include "core/error.h"

namespace heed {
namespace {

constexpr char kMagic[8] = {'H', 'E', 'E', 'D', 'S', 'H', 'R', 'D'};

}  // namespace

nlohmann::json ShardSet::to_json() const {
  nlohmann::json files = nlohmann::json::array();
  for (const ShardFacts& s : shards)
    files.push_back({{"file", s.file}, {"bytes", s.bytes}, {"xxh64", fmt::format("{:016x}", s.xxh64)}});
  return {{"step", step}, {"ranks", ranks}, {"shards", files}};
}

ShardSet ShardSet::from_json(const nlohmann::json& j, const std::string& manifest) {
  ShardSet set;
  try {
    set.step = j.at("step").get<std::int64_t>();
    set.ranks = j.at("ranks").get<int>();
    for (const auto& s : j.at("shards")) {
      ShardFacts facts{s.at("file").get<std::string>(), s.at("bytes").get<std::uint64_t>(), 0};
      const std::string hex = s.at("xxh64").get<std::string>();
      std::size_t used = 0;
      facts.xxh64 = std::stoull(hex, &used, 16);
      if (hex.size() != 16 || used != hex.size()) throw Error(fmt::format("'{}' is not a 64-bit checksum", hex));
      // A bare name in the run folder: a manifest never points elsewhere.
      if (facts.file.empty() || facts.file.find('/') != std::string::npos || facts.file[0] == '.')
        throw Error(fmt::format("'{}' is not a shard's name", facts.file));
      set.shards.push_back(std::move(facts));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: unreadable list of shards: {}", manifest, e.what()));
  } catch (const std::logic_error& e) {  // stoull
    throw Error(fmt::format("{}: unreadable list of shards: {}", manifest, e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: unreadable list of shards: {}", manifest, e.what()));
  }
  if (set.ranks < 1 || set.shards.size() != static_cast<std::size_t>(set.ranks))
    throw Error(fmt::format("{}: lists {} shards for {} ranks", manifest, set.shards.size(), set.ranks));
  return set;
}

ShardFacts write_shard(const std::filesystem::path& path, int rank, int ranks, std::int64_t step,
                       const std::function<void(std::ostream&)>& payload) {
  AtomicFile file(path);
  HashingOutput buffer(file);
  std::ostream out(&buffer);
  out.exceptions(std::ios::badbit);  // a failed write rethrows its own message
  out.write(kMagic, sizeof kMagic);
  write_pod<std::uint32_t>(out, kShardVersion);
  write_pod<std::uint32_t>(out, static_cast<std::uint32_t>(rank));
  write_pod<std::uint32_t>(out, static_cast<std::uint32_t>(ranks));
  write_pod<std::int64_t>(out, step);
  payload(out);
  out.flush();
  ShardFacts facts{path.filename().string(), file.size(), buffer.checksum()};
  file.commit();
  return facts;
}

void read_shard(const std::filesystem::path& path, const ShardFacts& expected, int rank, int ranks, std::int64_t step,
                const std::function<void(std::istream&)>& read) {
  const auto fail = [&](const std::string& what) { return Error(fmt::format("{}: {}", path.string(), what)); };
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw fail(fmt::format("cannot read rank {}'s shard: {}", rank, ec.message()));
  if (size != expected.bytes)
    throw fail(fmt::format("rank {}'s shard is {} bytes, the manifest says {} (truncated or replaced)", rank, size,
                           expected.bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(fmt::format("cannot open rank {}'s shard", rank));
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  std::vector<char> piece(std::min<std::uintmax_t>(size, 1 << 20));
  std::uintmax_t left = size;
  while (left > 0 && in.read(piece.data(), static_cast<std::streamsize>(std::min<std::uintmax_t>(left, piece.size())))) {
    XXH64_update(state, piece.data(), static_cast<std::size_t>(in.gcount()));
    left -= static_cast<std::uintmax_t>(in.gcount());
  }
  const std::uint64_t digest = XXH64_digest(state);
  XXH64_freeState(state);
  if (left > 0) throw fail(fmt::format("rank {}'s shard ends early", rank));
  if (digest != expected.xxh64) throw fail(fmt::format("rank {}'s shard is corrupt (checksum mismatch)", rank));

  in.clear();
  in.seekg(0);
  try {
    char magic[sizeof kMagic];
    if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0)
      throw Error("not a heed checkpoint shard (bad magic)");
    const auto version = read_pod<std::uint32_t>(in);
    if (version != kShardVersion)
      throw Error(fmt::format("shard format version {} is not supported (this heed reads version {})", version,
                              kShardVersion));
    const auto its_rank = read_pod<std::uint32_t>(in), its_ranks = read_pod<std::uint32_t>(in);
    const auto its_step = read_pod<std::int64_t>(in);
    if (its_rank != static_cast<std::uint32_t>(rank) || its_ranks != static_cast<std::uint32_t>(ranks) || its_step != step)
      throw Error(fmt::format("is rank {} of {}'s shard of step {}, not rank {} of {}'s of step {}", its_rank, its_ranks,
                              its_step, rank, ranks, step));
    read(in);
    if (in.fail()) throw Error("the rows end early");
    in.clear();  // a reader that stopped at the very end left eofbit, with which tellg() fails
    if (static_cast<std::uintmax_t>(in.tellg()) != size) throw Error("the rows do not end where the file does");
  } catch (const Error& e) {
    throw fail(e.what());
  }
}

}  // namespace heed
