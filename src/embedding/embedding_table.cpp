#include "embedding/embedding_table.h"

#include <istream>
#include <ostream>

#include "core/binary_io.h"
#include "core/error.h"
#include "core/rng.h"

namespace heed {

EmbeddingTable::EmbeddingTable(std::string name, std::size_t dim, std::uint64_t buckets, float init_std,
                               std::uint64_t seed)
    : name_(std::move(name)), dim_(dim), buckets_(buckets), init_std_(init_std), seed_(seed) {
  // Row 0: the default row, zero until trained.
  keys_.push_back(0);
  weights_.assign(dim_, 0.0f);
  if (buckets_ > 0) {
    weights_.reserve((buckets_ + 1) * dim_);
    for (std::uint64_t b = 0; b < buckets_; ++b) append_row(b);
  }
}

void EmbeddingTable::append_row(std::uint64_t init_key) {
  keys_.push_back(buckets_ > 0 ? 0 : init_key);
  Rng rng(mix64(init_key ^ mix64(seed_)));
  for (std::size_t i = 0; i < dim_; ++i) weights_.push_back(static_cast<float>(rng.normal() * init_std_));
}

EmbeddingTable EmbeddingTable::local_cache() const {
  EmbeddingTable cache(name_, dim_, 0, init_std_, seed_);
  cache.buckets_ = buckets_;
  cache.cache_ = true;
  return cache;
}

void EmbeddingTable::clear_cache() {
  keys_.resize(1);
  weights_.resize(dim_);
  index_.clear();
}

std::uint32_t EmbeddingTable::append(std::uint64_t key, const float* values) {
  if (buckets_ > 0 || cache_ || index_.find(key) != KeyIndex::kAbsent)
    throw Error(fmt::format("embedding table '{}': cannot append key {}", name_, key));
  const auto row = static_cast<std::uint32_t>(rows());
  if (row == KeyIndex::kAbsent) throw Error(fmt::format("embedding table '{}' is full (2^32 rows)", name_));
  keys_.push_back(key);
  weights_.insert(weights_.end(), values, values + dim_);
  index_.insert(key, row);
  return row;
}

std::uint32_t EmbeddingTable::find_or_insert(std::uint64_t key) {
  if (cache_) {
    const std::uint64_t id = id_of(key);
    const std::uint32_t found = index_.find(id);
    if (found != KeyIndex::kAbsent) return found;
    const auto row = static_cast<std::uint32_t>(rows());
    keys_.push_back(id);
    weights_.resize(weights_.size() + dim_, 0.0f);
    index_.insert(id, row);
    return row;
  }
  if (buckets_ > 0) return 1 + static_cast<std::uint32_t>(key % buckets_);
  const std::uint32_t found = index_.find(key);
  if (found != KeyIndex::kAbsent) return found;
  const auto row = static_cast<std::uint32_t>(rows());
  if (row == KeyIndex::kAbsent) throw Error(fmt::format("embedding table '{}' is full (2^32 rows)", name_));
  append_row(key);
  index_.insert(key, row);
  return row;
}

// Layout: name, dim, buckets, the number of optimizer state slots per row (0 since the state
// moved to the row optimizer; older files have 1 or 2 and their state after the weights), the
// row keys, the weights.
void EmbeddingTable::save(std::ostream& out) const {
  write_string(out, name_);
  write_pod<std::uint64_t>(out, dim_);
  write_pod<std::uint64_t>(out, buckets_);
  write_pod<std::uint64_t>(out, 0);
  write_vector(out, keys_);
  write_vector(out, weights_);
  write_vector(out, std::vector<float>());
}

void EmbeddingTable::load(std::istream& in, std::vector<float>* legacy_state) {
  const std::string name = read_string(in);
  const auto dim = read_pod<std::uint64_t>(in);
  const auto buckets = read_pod<std::uint64_t>(in);
  const auto slots = read_pod<std::uint64_t>(in);
  if (name != name_ || dim != dim_ || buckets != buckets_)
    throw Error(fmt::format("embedding table '{}' (dim {}, buckets {}) does not match the checkpoint's '{}' (dim {}, "
                            "buckets {})",
                            name_, dim_, buckets_, name, dim, buckets));
  keys_ = read_vector<std::uint64_t>(in);
  weights_ = read_vector<float>(in);
  const auto state_size = read_pod<std::uint64_t>(in);
  if (keys_.empty() || weights_.size() != keys_.size() * dim_ || slots > 2 || state_size != weights_.size() * slots)
    throw Error(fmt::format("embedding table '{}' in the checkpoint has inconsistent sizes", name_));
  if (state_size > remaining_bytes(in) / sizeof(float)) throw Error("checkpoint data ends early");
  if (legacy_state) {
    legacy_state->resize(state_size);
    if (!in.read(reinterpret_cast<char*>(legacy_state->data()), static_cast<std::streamsize>(state_size * sizeof(float))))
      throw Error("checkpoint data ends early");
  } else {
    in.seekg(static_cast<std::streamoff>(state_size * sizeof(float)), std::ios::cur);
  }
  index_ = KeyIndex();
  if (buckets_ == 0)
    for (std::size_t r = 1; r < keys_.size(); ++r) index_.insert(keys_[r], static_cast<std::uint32_t>(r));
}

}  // namespace heed
