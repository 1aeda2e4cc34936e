#include "embedding/embedding_table.h"

#include <istream>
#include <ostream>

#include "core/binary_io.h"
#include "core/error.h"
#include "core/rng.h"

namespace heed {

EmbeddingTable::EmbeddingTable(std::string name, std::size_t dim, std::uint64_t buckets, float init_std,
                               std::uint64_t seed, std::size_t state_slots)
    : name_(std::move(name)), dim_(dim), buckets_(buckets), init_std_(init_std), seed_(seed),
      state_slots_(state_slots) {
  // Row 0: the default row, zero until trained.
  keys_.push_back(0);
  weights_.assign(dim_, 0.0f);
  state_.assign(dim_ * state_slots_, 0.0f);
  if (buckets_ > 0) {
    weights_.reserve((buckets_ + 1) * dim_);
    for (std::uint64_t b = 0; b < buckets_; ++b) append_row(b);
  }
}

void EmbeddingTable::append_row(std::uint64_t init_key) {
  keys_.push_back(buckets_ > 0 ? 0 : init_key);
  Rng rng(mix64(init_key ^ mix64(seed_)));
  for (std::size_t i = 0; i < dim_; ++i) weights_.push_back(static_cast<float>(rng.normal() * init_std_));
  state_.resize(state_.size() + dim_ * state_slots_, 0.0f);
}

std::uint32_t EmbeddingTable::find_or_insert(std::uint64_t key) {
  if (buckets_ > 0) return 1 + static_cast<std::uint32_t>(key % buckets_);
  const std::uint32_t found = index_.find(key);
  if (found != KeyIndex::kAbsent) return found;
  const auto row = static_cast<std::uint32_t>(rows());
  if (row == KeyIndex::kAbsent) throw Error(fmt::format("embedding table '{}' is full (2^32 rows)", name_));
  append_row(key);
  index_.insert(key, row);
  return row;
}

std::int32_t EmbeddingTable::find(std::uint64_t key) const {
  if (buckets_ > 0) return static_cast<std::int32_t>(1 + key % buckets_);
  const std::uint32_t found = index_.find(key);
  return found == KeyIndex::kAbsent ? kUnseen : static_cast<std::int32_t>(found);
}

void EmbeddingTable::save(std::ostream& out) const {
  write_string(out, name_);
  write_pod<std::uint64_t>(out, dim_);
  write_pod<std::uint64_t>(out, buckets_);
  write_pod<std::uint64_t>(out, state_slots_);
  write_vector(out, keys_);
  write_vector(out, weights_);
  write_vector(out, state_);
}

void EmbeddingTable::load(std::istream& in) {
  const std::string name = read_string(in);
  const auto dim = read_pod<std::uint64_t>(in);
  const auto buckets = read_pod<std::uint64_t>(in);
  const auto slots = read_pod<std::uint64_t>(in);
  if (name != name_ || dim != dim_ || buckets != buckets_ || slots != state_slots_)
    throw Error(fmt::format("embedding table '{}' (dim {}, buckets {}, {} state slots) does not match the "
                            "checkpoint's '{}' (dim {}, buckets {}, {} state slots)",
                            name_, dim_, buckets_, state_slots_, name, dim, buckets, slots));
  keys_ = read_vector<std::uint64_t>(in);
  weights_ = read_vector<float>(in);
  state_ = read_vector<float>(in);
  if (keys_.empty() || weights_.size() != keys_.size() * dim_ || state_.size() != weights_.size() * state_slots_)
    throw Error(fmt::format("embedding table '{}' in the checkpoint has inconsistent sizes", name_));
  index_ = KeyIndex();
  if (buckets_ == 0)
    for (std::size_t r = 1; r < keys_.size(); ++r) index_.insert(keys_[r], static_cast<std::uint32_t>(r));
}

}  // namespace heed
