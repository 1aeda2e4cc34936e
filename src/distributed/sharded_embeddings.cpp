#include "distributed/sharded_embeddings.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "core/binary_io.h"
#include "core/error.h"
#include "core/rng.h"

namespace heed {
namespace {

constexpr std::uint32_t kDefaultPlace = 0xFFFFFFFFu;  // the default row, in a gradient sent to rank 0

template <class T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}
void put_floats(std::string& out, const float* values, std::size_t n) {
  out.append(reinterpret_cast<const char*>(values), n * sizeof(float));
}

// Reads what put() wrote, refusing to run past the end (a malformed message is a bug, but
// must not read stray memory).
class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T take() {
    T value;
    std::memcpy(&value, need(sizeof value), sizeof value);
    return value;
  }
  // Floats are not always aligned in the message: copy them out.
  void floats_into(float* out, std::size_t n) { std::memcpy(out, need(n * sizeof(float)), n * sizeof(float)); }

 private:
  const char* need(std::size_t n) {
    if (at_ + n > bytes_.size()) throw Error("sharded embeddings: a message from another rank ends early");
    const char* here = bytes_.data() + at_;
    at_ += n;
    return here;
  }
  const std::string& bytes_;
  std::size_t at_ = 0;
};

}  // namespace

int owner_of(std::uint64_t id, int ranks) {
  // The high 32 bits of a remix, scaled to [0, ranks): independent of the id's low bits, which
  // KeyIndex and the fixed tables' modulo use.
  const std::uint64_t high = mix64(id ^ 0x9e3779b97f4a7c15ull) >> 32;
  return static_cast<int>((high * static_cast<std::uint64_t>(ranks)) >> 32);
}

ShardedEmbeddings::ShardedEmbeddings(Communicator& peers, const OptimizerConfig& optimizer,
                                     const std::vector<EmbeddingTable>& whole, const RowOptimizer* whole_state)
    : peers_(peers), optimizer_config_(optimizer), optimizer_(optimizer, whole.size()),
      owner_of_row_(whole.size()), place_of_row_(whole.size()), touched_(whole.size()), grads_(whole.size()),
      slot_of_row_(whole.size()) {
  const int me = peers_.rank(), ranks = peers_.size();
  const std::size_t slots = optimizer_.slots();
  for (std::size_t t = 0; t < whole.size(); ++t) {
    const EmbeddingTable& table = whole[t];
    const std::size_t dim = table.dim();
    kinds_.push_back(table.local_cache());
    owned_.push_back(table.owner_store());
    EmbeddingTable& mine = owned_.back();
    std::vector<float> state;
    const auto take_state = [&](std::uint32_t r) {
      for (std::size_t s = 0; s < slots; ++s) {
        const float* from = whole_state ? whole_state->state(t, r, s, dim) : nullptr;
        if (from)
          state.insert(state.end(), from, from + dim);
        else
          state.resize(state.size() + dim, 0.0f);
      }
    };
    // Row 0, the default row: rank 0's (zero elsewhere, and never read there).
    if (me == 0) std::memcpy(mine.row(EmbeddingTable::kDefaultRow), table.row(EmbeddingTable::kDefaultRow), dim * sizeof(float));
    if (me == 0)
      take_state(EmbeddingTable::kDefaultRow);
    else
      state.resize(slots * dim, 0.0f);
    for (std::size_t r = 1; r < table.rows(); ++r) {
      const std::uint64_t id = table.buckets() > 0 ? r - 1 : table.row_keys()[r];
      if (owner_of(id, ranks) != me) continue;
      mine.append(id, table.row(static_cast<std::uint32_t>(r)));
      take_state(static_cast<std::uint32_t>(r));
    }
    optimizer_.adopt(t, std::move(state));
  }
}

ShardedEmbeddings::ShardedEmbeddings(Communicator& peers, const OptimizerConfig& optimizer,
                                     const std::vector<EmbeddingTable>& kinds, std::istream& shard)
    : peers_(peers), optimizer_config_(optimizer), optimizer_(optimizer, kinds.size()),
      owner_of_row_(kinds.size()), place_of_row_(kinds.size()), touched_(kinds.size()), grads_(kinds.size()),
      slot_of_row_(kinds.size()) {
  const auto tables = read_pod<std::uint64_t>(shard);
  if (tables != kinds.size())
    throw Error(fmt::format("the shard holds {} embedding tables, the model built from the config has {}", tables,
                            kinds.size()));
  for (const EmbeddingTable& table : kinds) {
    kinds_.push_back(table.local_cache());
    owned_.push_back(table.owner_store());
    EmbeddingTable& mine = owned_.back();
    mine.load(shard);
    for (std::size_t r = 1; r < mine.rows(); ++r)
      if (owner_of(mine.row_keys()[r], peers_.size()) != peers_.rank())
        throw Error(fmt::format("the shard's table '{}' holds id {}, which rank {} of {} does not own", mine.name(),
                                mine.row_keys()[r], peers_.rank(), peers_.size()));
  }
  optimizer_.load(shard);
}

void ShardedEmbeddings::save(std::ostream& out) const {
  write_pod<std::uint64_t>(out, owned_.size());
  for (const EmbeddingTable& table : owned_) table.save(out);
  optimizer_.save(out);
}

std::vector<EmbeddingTable> ShardedEmbeddings::make_caches(const std::vector<EmbeddingTable>& whole) const {
  std::vector<EmbeddingTable> caches;
  for (const EmbeddingTable& table : whole) caches.push_back(table.local_cache());
  return caches;
}

void ShardedEmbeddings::clear(std::vector<EmbeddingTable>& caches) {
  for (EmbeddingTable& cache : caches) cache.clear_cache();
}

std::size_t ShardedEmbeddings::owned_rows() const {
  std::size_t rows = 0;
  for (const EmbeddingTable& table : owned_) rows += table.rows() - 1;  // row 0: counted once, on rank 0
  return rows + (peers_.rank() == 0 ? owned_.size() : 0);
}

void ShardedEmbeddings::fetch(std::vector<EmbeddingTable>& caches) {
  const auto ranks = static_cast<std::size_t>(peers_.size());
  const std::size_t tables = caches.size();
  // Each owner's list of ids, per table, in the cache's (first-use) order.
  std::vector<std::vector<std::vector<std::uint32_t>>> cache_rows(tables, std::vector<std::vector<std::uint32_t>>(ranks));
  std::vector<std::string> requests(ranks);
  for (std::size_t t = 0; t < tables; ++t) {
    const EmbeddingTable& cache = caches[t];
    owner_of_row_[t].assign(cache.rows(), 0);
    place_of_row_[t].assign(cache.rows(), kDefaultPlace);
    for (std::uint32_t c = 1; c < cache.rows(); ++c) {
      const auto o = static_cast<std::size_t>(owner_of(cache.row_keys()[c], peers_.size()));
      owner_of_row_[t][c] = static_cast<int>(o);
      place_of_row_[t][c] = static_cast<std::uint32_t>(cache_rows[t][o].size());
      cache_rows[t][o].push_back(c);
    }
    for (std::size_t o = 0; o < ranks; ++o) {
      put<std::uint64_t>(requests[o], cache_rows[t][o].size());
      for (std::uint32_t c : cache_rows[t][o]) put<std::uint64_t>(requests[o], cache.row_keys()[c]);
    }
  }
  const std::vector<std::string> asked = peers_.all_to_all(std::move(requests));

  // Senders in rank order, ids in their order: new ids are inserted in an order fixed by the data.
  rows_for_.assign(ranks, std::vector<std::vector<std::uint32_t>>(tables));
  std::vector<std::string> answers(ranks);
  for (std::size_t s = 0; s < ranks; ++s) {
    Reader in(asked[s]);
    for (std::size_t t = 0; t < tables; ++t) {
      EmbeddingTable& mine = owned_[t];
      const std::size_t dim = mine.dim();
      if (peers_.rank() == 0) put_floats(answers[s], mine.row(EmbeddingTable::kDefaultRow), dim);
      const auto count = in.take<std::uint64_t>();
      std::vector<std::uint32_t>& rows = rows_for_[s][t];
      rows.reserve(count);
      for (std::uint64_t i = 0; i < count; ++i) {
        const auto id = in.take<std::uint64_t>();
        if (owner_of(id, peers_.size()) != peers_.rank())
          throw Error(fmt::format("sharded embeddings: rank {} was asked for id {} of table '{}', which it does not own",
                                  peers_.rank(), id, mine.name()));
        const std::uint32_t row = mine.find_or_insert(id);
        rows.push_back(row);
        put_floats(answers[s], mine.row(row), dim);
      }
    }
  }
  const std::vector<std::string> answered = peers_.all_to_all(std::move(answers));
  for (std::size_t o = 0; o < ranks; ++o) {
    Reader in(answered[o]);
    for (std::size_t t = 0; t < tables; ++t) {
      EmbeddingTable& cache = caches[t];
      if (o == 0) in.floats_into(cache.row(EmbeddingTable::kDefaultRow), cache.dim());
      for (std::uint32_t c : cache_rows[t][o]) in.floats_into(cache.row(c), cache.dim());
    }
  }
}

double ShardedEmbeddings::send_gradients(const std::vector<EmbeddingTable>& caches,
                                         const std::vector<const std::vector<std::uint32_t>*>& touched,
                                         const std::vector<const std::vector<float>*>& grads) {
  const auto ranks = static_cast<std::size_t>(peers_.size());
  const std::size_t tables = caches.size();
  std::vector<std::string> out(ranks);
  std::vector<std::string> entries(ranks);
  for (std::size_t t = 0; t < tables; ++t) {
    const std::size_t dim = caches[t].dim();
    std::vector<std::uint64_t> counts(ranks, 0);
    for (std::string& e : entries) e.clear();
    const std::vector<std::uint32_t>& rows = *touched[t];
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::uint32_t c = rows[i];
      const auto o = static_cast<std::size_t>(owner_of_row_[t][c]);
      put<std::uint32_t>(entries[o], place_of_row_[t][c]);
      put_floats(entries[o], grads[t]->data() + i * dim, dim);
      ++counts[o];
    }
    for (std::size_t o = 0; o < ranks; ++o) {
      put<std::uint64_t>(out[o], counts[o]);
      out[o] += entries[o];
    }
  }
  const std::vector<std::string> received = peers_.all_to_all(std::move(out));

  // Per owned row, the senders' gradients added in rank order.
  for (std::size_t t = 0; t < tables; ++t) {
    touched_[t].clear();
    grads_[t].clear();
    if (slot_of_row_[t].size() < owned_[t].rows()) slot_of_row_[t].resize(owned_[t].rows(), -1);
  }
  std::vector<float> g;
  for (std::size_t s = 0; s < ranks; ++s) {
    Reader in(received[s]);
    for (std::size_t t = 0; t < tables; ++t) {
      const std::size_t dim = owned_[t].dim();
      g.resize(dim);
      const auto count = in.take<std::uint64_t>();
      for (std::uint64_t i = 0; i < count; ++i) {
        const auto place = in.take<std::uint32_t>();
        in.floats_into(g.data(), dim);
        const std::vector<std::uint32_t>& asked = rows_for_[s][t];
        if (place == kDefaultPlace && peers_.rank() != 0)
          throw Error("sharded embeddings: a default row's gradient was sent to a rank other than 0");
        if (place != kDefaultPlace && place >= asked.size())
          throw Error("sharded embeddings: a gradient names a row its sender never asked for");
        const std::uint32_t row = place == kDefaultPlace ? EmbeddingTable::kDefaultRow : asked[place];
        std::int32_t& slot = slot_of_row_[t][row];
        if (slot < 0) {
          slot = static_cast<std::int32_t>(touched_[t].size());
          touched_[t].push_back(row);
          grads_[t].resize(grads_[t].size() + dim, 0.0f);
        }
        float* sum = grads_[t].data() + static_cast<std::size_t>(slot) * dim;
        for (std::size_t j = 0; j < dim; ++j) sum[j] += g[j];
      }
    }
  }
  double squares = 0;
  for (std::size_t t = 0; t < tables; ++t) {
    for (std::uint32_t row : touched_[t]) slot_of_row_[t][row] = -1;
    for (float v : grads_[t]) squares += static_cast<double>(v) * v;
  }
  return squares;
}

std::optional<std::string> ShardedEmbeddings::update(std::int64_t step, int threads, float scale, bool check_finite) {
  for (std::size_t t = 0; t < owned_.size(); ++t) {
    if (scale != 1.0f)
      for (float& v : grads_[t]) v *= scale;
    optimizer_.update(t, owned_[t], touched_[t], grads_[t].data(), step, threads);
    if (!check_finite) continue;
    const EmbeddingTable& table = owned_[t];
    for (std::uint32_t r : touched_[t])
      for (std::size_t j = 0; j < table.dim(); ++j)
        if (!std::isfinite(table.row(r)[j]))
          return fmt::format("embedding row of id {} of table '{}' (on rank {})", table.row_keys()[r], table.name(),
                             peers_.rank());
  }
  return std::nullopt;
}

void ShardedEmbeddings::gather(std::vector<EmbeddingTable>& whole, std::string* whole_state) const {
  const auto ranks = static_cast<std::size_t>(peers_.size());
  // The rows' state only when asked for (every rank is asked the same).
  const std::size_t slots = whole_state ? optimizer_.slots() : 0;
  // To rank 0, per table: the rows (rank 0: its row 0 first), each as id, weights, state.
  std::vector<std::string> out(ranks);
  std::string& mine = out[0];
  for (std::size_t t = 0; t < owned_.size(); ++t) {
    const EmbeddingTable& table = owned_[t];
    const std::size_t dim = table.dim();
    const std::uint32_t first = peers_.rank() == 0 ? 0 : 1;
    put<std::uint64_t>(mine, table.rows() - first);
    for (std::uint32_t r = first; r < table.rows(); ++r) {
      put<std::uint64_t>(mine, table.row_keys()[r]);
      put_floats(mine, table.row(r), dim);
      for (std::size_t s = 0; s < slots; ++s) {
        const float* state = optimizer_.state(t, r, s, dim);
        if (state)
          put_floats(mine, state, dim);
        else
          mine.append(dim * sizeof(float), '\0');
      }
    }
  }
  const std::vector<std::string> received = peers_.all_to_all(std::move(out));
  if (peers_.rank() != 0) return;

  whole.clear();
  std::vector<std::vector<float>> states(owned_.size());
  for (std::size_t t = 0; t < owned_.size(); ++t) {
    whole.push_back(kinds_[t].fresh_copy());
    states[t].assign(whole[t].rows() * slots * whole[t].dim(), 0.0f);
  }
  std::vector<float> values;
  for (std::size_t s = 0; s < ranks; ++s) {
    Reader in(received[s]);
    for (std::size_t t = 0; t < owned_.size(); ++t) {
      EmbeddingTable& table = whole[t];
      const std::size_t dim = table.dim();
      values.resize(dim);
      const auto count = in.take<std::uint64_t>();
      for (std::uint64_t i = 0; i < count; ++i) {
        const auto id = in.take<std::uint64_t>();
        in.floats_into(values.data(), dim);
        std::uint32_t row;
        if (s == 0 && i == 0)
          row = EmbeddingTable::kDefaultRow;
        else if (table.buckets() > 0)
          row = static_cast<std::uint32_t>(1 + id);
        else
          row = table.append(id, values.data());
        std::memcpy(table.row(row), values.data(), dim * sizeof(float));
        if (slots == 0) continue;
        const std::size_t at = static_cast<std::size_t>(row) * slots * dim;
        if (states[t].size() < at + slots * dim) states[t].resize(at + slots * dim, 0.0f);
        in.floats_into(states[t].data() + at, slots * dim);
      }
    }
  }
  if (!whole_state) return;
  RowOptimizer merged(optimizer_config_, owned_.size());
  for (std::size_t t = 0; t < owned_.size(); ++t) merged.adopt(t, std::move(states[t]));
  std::ostringstream bytes;
  merged.save(bytes);
  *whole_state = bytes.str();
}

}  // namespace heed
