// Sharded embedding rows (distributed/sharded_embeddings.h) on 1 to 4 ranks run as threads:
// every id lives on exactly one rank, the rows a rank fetches are the values one process holds,
// gradients summed at the owners give the rows one process's row optimizer gives, the rows
// gathered on rank 0 are one process's table (bit for bit on one rank), tables rebuilt from a
// gathered checkpoint shard the same way again, and a run resumed from its checkpoint shards
// (written and read through the run folder's files) continues exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <sstream>

#include "../support/test_files.h"
#include "config/config_loader.h"
#include "core/rng.h"
#include "distributed/sharded_embeddings.h"
#include "thread_world.h"
#include "train/sharded_checkpoint.h"

namespace heed {
namespace {

constexpr std::size_t kDim = 4;

OptimizerConfig adam() {
  OptimizerConfig c;
  c.embedding = EmbeddingOptimizer::kAdam;
  c.embedding_lr = 0.05;
  c.beta1 = 0.9;
  c.beta2 = 0.999;
  c.epsilon = 1e-8;
  c.l2_embedding = 1e-4;
  return c;
}

std::vector<EmbeddingTable> fresh_tables() {
  std::vector<EmbeddingTable> tables;
  tables.emplace_back("items", kDim, 0, 0.1f, 7);
  tables.emplace_back("hashed", kDim, 13, 0.1f, 9);
  return tables;
}

// Rank r's keys at one step: overlapping ranges, in an order that is not sorted.
std::vector<std::uint64_t> keys_of(int rank, int step) {
  std::vector<std::uint64_t> keys;
  for (std::uint64_t i = 0; i < 40; ++i) keys.push_back(mix64(static_cast<std::uint64_t>(rank * 17 + step * 5) + i * 3) % 97);
  return keys;
}

// The gradient a rank sends for a key: a function of both, so a wrong sum or a wrong row shows.
void gradient_of(std::uint64_t key, int rank, float* out) {
  for (std::size_t j = 0; j < kDim; ++j)
    out[j] = static_cast<float>(static_cast<double>(mix64(key * 31 + j + 1000 * static_cast<std::uint64_t>(rank)) % 1000) / 1000.0 - 0.5);
}

// One process's result for `ranks` ranks' keys over `steps` steps: each step every rank's
// keys' gradients summed (rank order), then one row-optimizer update.
std::vector<EmbeddingTable> one_process(int ranks, int steps, RowOptimizer& optimizer) {
  std::vector<EmbeddingTable> tables = fresh_tables();
  for (int step = 1; step <= steps; ++step) {
    for (std::size_t t = 0; t < tables.size(); ++t) {
      std::vector<std::uint32_t> touched;
      std::vector<float> grads;
      std::vector<std::int32_t> slot_of(200, -1);
      for (int r = 0; r < ranks; ++r) {
        std::vector<std::uint64_t> seen;
        for (std::uint64_t key : keys_of(r, step)) {
          const std::uint32_t row = tables[t].find_or_insert(key);
          if (std::find(seen.begin(), seen.end(), tables[t].id_of(key)) != seen.end()) continue;  // one gradient per cache row
          seen.push_back(tables[t].id_of(key));
          if (slot_of[row] < 0) {
            slot_of[row] = static_cast<std::int32_t>(touched.size());
            touched.push_back(row);
            grads.resize(grads.size() + kDim, 0.0f);
          }
          float g[kDim];
          gradient_of(tables[t].id_of(key), r, g);
          for (std::size_t j = 0; j < kDim; ++j) grads[static_cast<std::size_t>(slot_of[row]) * kDim + j] += g[j];
        }
      }
      optimizer.update(t, tables[t], touched, grads.data(), step, 1);
    }
  }
  return tables;
}

struct Outcome {
  std::vector<EmbeddingTable> whole;  // gathered on rank 0
  std::string whole_state;
  std::vector<std::vector<std::uint64_t>> owned_ids;  // per rank, every table's ids
  std::vector<std::size_t> owned_rows;
  std::vector<std::string> shards;  // per rank, what ShardedEmbeddings::save wrote at the end
  std::vector<EmbeddingTable> whole_without_state;  // gathered without asking for the rows' state
};

// A model for the manifest's dense part (the rows under test are fresh_tables()'s).
const Model& manifest_model() {
  static const Model model(parse_config("[data]\ndir = \"data\"\ntrain = \"train.tsv\"\n[features.user]\n"
                                        "[features.item]\n[embedding]\ndim = 4\n[model]\nhidden = [4]\n",
                                        "manifest.toml", {}));
  return model;
}

// Checkpoints of a sharded run in `run_dir`: save_to writes one at the last step, resume_from
// starts from the newest one there (each rank reading its own shard).
struct Files {
  std::filesystem::path run_dir;
  bool save_to = false, resume_from = false;
};

// `ranks` ranks train steps [first, last] of keys_of's keys, starting from `start` (fresh when null).
Outcome sharded(int ranks, int first, int last, const std::vector<EmbeddingTable>* start = nullptr,
                const std::string* start_state = nullptr, bool check_fetch = false, const Files* files = nullptr) {
  Outcome out;
  out.owned_ids.resize(static_cast<std::size_t>(ranks));
  out.owned_rows.resize(static_cast<std::size_t>(ranks));
  out.shards.resize(static_cast<std::size_t>(ranks));
  std::mutex failures;
  testing::ThreadWorld world(ranks);
  world.run([&](Communicator& peers) {
    const std::vector<EmbeddingTable> fresh = fresh_tables();
    std::unique_ptr<RowOptimizer> state;
    if (start_state) {
      state = std::make_unique<RowOptimizer>(adam(), fresh.size());
      std::istringstream in(*start_state);
      state->load(in);
    }
    CheckpointFiles checkpoints(files ? files->run_dir : std::filesystem::path(), 2);
    std::unique_ptr<ShardedEmbeddings> resumed;
    if (files && files->resume_from) {
      const Checkpoint cp = load_newest_everywhere(peers, checkpoints, [](const std::string&) {},
                                                   [&](const Checkpoint&, std::istream& rows) {
                                                     resumed = std::make_unique<ShardedEmbeddings>(peers, adam(), fresh, rows);
                                                   });
      EXPECT_EQ((*cp.trainer)["step"], first - 1);
    }
    ShardedEmbeddings built(peers, adam(), start ? *start : fresh, state.get());
    ShardedEmbeddings& shards = resumed ? *resumed : built;
    std::vector<EmbeddingTable> caches = shards.make_caches(fresh);
    for (int step = first; step <= last; ++step) {
      ShardedEmbeddings::clear(caches);
      for (EmbeddingTable& cache : caches)
        for (std::uint64_t key : keys_of(peers.rank(), step)) cache.find_or_insert(key);
      shards.fetch(caches);
      if (check_fetch && step == 1) {  // a fresh row arrives with the value one process gives it
        const std::vector<EmbeddingTable> reference = fresh_tables();
        for (std::size_t t = 0; t < caches.size(); ++t)
          for (std::uint64_t key : keys_of(peers.rank(), step)) {
            EmbeddingTable ref = reference[t].fresh_copy();
            const std::uint32_t row = ref.find_or_insert(key);
            const auto cached = static_cast<std::uint32_t>(caches[t].find(key));
            if (std::memcmp(ref.row(row), caches[t].row(cached), kDim * sizeof(float)) != 0) {
              std::lock_guard<std::mutex> lock(failures);
              ADD_FAILURE() << "rank " << peers.rank() << " fetched another value for key " << key;
            }
          }
      }
      std::vector<std::vector<std::uint32_t>> touched(caches.size());
      std::vector<std::vector<float>> grads(caches.size());
      std::vector<const std::vector<std::uint32_t>*> touched_views;
      std::vector<const std::vector<float>*> grad_views;
      for (std::size_t t = 0; t < caches.size(); ++t) {
        for (std::uint32_t c = 1; c < caches[t].rows(); ++c) {
          touched[t].push_back(c);
          grads[t].resize(grads[t].size() + kDim);
          gradient_of(caches[t].row_keys()[c], peers.rank(), grads[t].data() + grads[t].size() - kDim);
        }
        touched_views.push_back(&touched[t]);
        grad_views.push_back(&grads[t]);
      }
      shards.send_gradients(caches, touched_views, grad_views);
      EXPECT_FALSE(shards.update(step, 2, 1.0f, true).has_value());
    }
    std::vector<std::uint64_t> ids;
    for (const EmbeddingTable& table : shards.owned())
      for (std::size_t r = 1; r < table.rows(); ++r) ids.push_back(table.row_keys()[r]);
    const auto me = static_cast<std::size_t>(peers.rank());
    out.owned_ids[me] = ids;
    out.owned_rows[me] = shards.owned_rows();
    std::ostringstream saved;
    shards.save(saved);
    out.shards[me] = saved.str();
    if (files && files->save_to)
      save_sharded(peers, checkpoints, last, [&](std::ostream& rows) { shards.save(rows); },
                   [&](const nlohmann::json& list) {
                     checkpoints.save_manifest(last, manifest_model(), {}, "", nlohmann::json{{"step", last}}, list);
                   });
    shards.gather(out.whole, &out.whole_state);
    shards.gather(out.whole_without_state, nullptr);
  });
  return out;
}

std::string bytes_of(const EmbeddingTable& table) {
  std::ostringstream out;
  table.save(out);
  return out.str();
}

TEST(OwnerOf, SpreadsIdsOverEveryRankIndependentlyOfTheirLowBits) {
  for (int ranks : {2, 3, 4}) {
    std::vector<int> count(static_cast<std::size_t>(ranks)), even(static_cast<std::size_t>(ranks));
    for (std::uint64_t id = 0; id < 4000; ++id) {
      const int o = owner_of(id * 4, ranks);  // ids whose low bits are all alike
      ASSERT_GE(o, 0);
      ASSERT_LT(o, ranks);
      ++count[static_cast<std::size_t>(o)];
    }
    for (int c : count) EXPECT_GT(c, 4000 / ranks / 2) << ranks << " ranks";
  }
}

TEST(ShardedEmbeddings, OneRankIsOneProcessBitForBit) {
  RowOptimizer optimizer(adam(), 2);
  const std::vector<EmbeddingTable> reference = one_process(1, 3, optimizer);
  const Outcome got = sharded(1, 1, 3);
  ASSERT_EQ(got.whole.size(), reference.size());
  for (std::size_t t = 0; t < reference.size(); ++t) EXPECT_EQ(bytes_of(got.whole[t]), bytes_of(reference[t])) << t;
}

TEST(ShardedEmbeddings, EveryRowLivesOnOneRankAndTrainsAsInOneProcess) {
  for (int ranks : {2, 3, 4}) {
    RowOptimizer optimizer(adam(), 2);
    const std::vector<EmbeddingTable> reference = one_process(ranks, 3, optimizer);
    const Outcome got = sharded(ranks, 1, 3, nullptr, nullptr, /*check_fetch=*/true);
    // Each rank holds only ids it owns, and no id twice; growable rows add up to one process's.
    for (int r = 0; r < ranks; ++r) {
      for (std::uint64_t id : got.owned_ids[static_cast<std::size_t>(r)]) EXPECT_EQ(owner_of(id, ranks), r);
      EXPECT_LT(got.owned_rows[static_cast<std::size_t>(r)], reference[0].rows() + reference[1].rows()) << "rank " << r;
    }
    std::size_t total = 0;
    for (std::size_t rows : got.owned_rows) total += rows;
    // Every growable row once, the fixed table's buckets once, each default row once.
    EXPECT_EQ(total, reference[0].rows() + reference[1].rows()) << ranks << " ranks";
    // Gathered without the rows' state (validation, the kept model), the same tables.
    ASSERT_EQ(got.whole_without_state.size(), got.whole.size());
    for (std::size_t t = 0; t < got.whole.size(); ++t)
      EXPECT_EQ(bytes_of(got.whole_without_state[t]), bytes_of(got.whole[t])) << ranks << " ranks, table " << t;
    // The gathered tables hold every key with one process's values (the sums at an owner run in
    // rank order, as one_process adds them).
    for (std::size_t t = 0; t < reference.size(); ++t) {
      ASSERT_EQ(got.whole[t].rows(), reference[t].rows()) << t;
      for (std::size_t r = 0; r < reference[t].rows(); ++r) {
        const std::uint64_t key = reference[t].row_keys()[r];
        const auto row = reference[t].buckets() > 0 || r == 0 ? static_cast<std::int32_t>(r) : got.whole[t].find(key);
        ASSERT_GE(row, 0);
        EXPECT_EQ(std::memcmp(got.whole[t].row(static_cast<std::uint32_t>(row)), reference[t].row(static_cast<std::uint32_t>(r)),
                              kDim * sizeof(float)),
                  0)
            << ranks << " ranks, table " << t << ", row " << r;
      }
    }
  }
}

TEST(ShardedEmbeddings, ResumingFromGatheredRowsContinuesExactly) {
  // 3 steps straight against 2 steps, gathered (as a checkpoint holds them), re-sharded, 1 more.
  const Outcome straight = sharded(3, 1, 3);
  const Outcome first = sharded(3, 1, 2);
  const Outcome resumed = sharded(3, 3, 3, &first.whole, &first.whole_state);
  ASSERT_EQ(resumed.whole.size(), straight.whole.size());
  for (std::size_t t = 0; t < straight.whole.size(); ++t) EXPECT_EQ(bytes_of(resumed.whole[t]), bytes_of(straight.whole[t]));
  EXPECT_EQ(resumed.whole_state, straight.whole_state);
  EXPECT_EQ(resumed.owned_ids, straight.owned_ids);
  EXPECT_NE(bytes_of(first.whole[0]), bytes_of(straight.whole[0]));  // the third step did change rows
}

// A rank's shard holds its rows and their optimizer state exactly: restored on the same rank of
// as many ranks, it saves the same bytes, holds the same ids, and trains on as before.
TEST(ShardedEmbeddings, AShardRestoresTheRanksRowsAndState) {
  for (int ranks : {2, 3}) {
    const Outcome first = sharded(ranks, 1, 2);
    std::vector<std::string> again(static_cast<std::size_t>(ranks));
    std::vector<std::vector<std::uint64_t>> ids(static_cast<std::size_t>(ranks));
    testing::ThreadWorld world(ranks);
    world.run([&](Communicator& peers) {
      const auto me = static_cast<std::size_t>(peers.rank());
      std::istringstream in(first.shards[me]);
      const ShardedEmbeddings restored(peers, adam(), fresh_tables(), in);
      std::ostringstream out;
      restored.save(out);
      again[me] = out.str();
      for (const EmbeddingTable& table : restored.owned())
        for (std::size_t r = 1; r < table.rows(); ++r) ids[me].push_back(table.row_keys()[r]);
    });
    EXPECT_EQ(again, first.shards) << ranks << " ranks";
    EXPECT_EQ(ids, first.owned_ids) << ranks << " ranks";
    for (const std::string& shard : first.shards) EXPECT_GT(shard.size(), 100u);
  }
}

// Another rank's shard is not this rank's rows: refused, naming an id it does not own.
TEST(ShardedEmbeddings, AnotherRanksShardIsRefused) {
  const Outcome first = sharded(2, 1, 2);
  testing::ThreadWorld world(2);
  std::vector<std::string> errors(2);
  world.run([&](Communicator& peers) {
    std::istringstream in(first.shards[static_cast<std::size_t>(1 - peers.rank())]);
    try {
      ShardedEmbeddings wrong(peers, adam(), fresh_tables(), in);
    } catch (const Error& e) {
      errors[static_cast<std::size_t>(peers.rank())] = e.what();
    }
  });
  for (const std::string& e : errors) EXPECT_NE(e.find("does not own"), std::string::npos) << e;
}

TEST(ShardedEmbeddings, ResumingFromShardFilesContinuesExactly) {
  for (int ranks : {2, 3}) {
    // 3 steps straight against 2 steps checkpointed to shard files and a manifest, then resumed
    // from them (each rank reading only its own shard) for 1 more.
    testing::TempDir dir("sharded_resume");
    const Files save{dir.path(), true, false}, resume{dir.path(), false, true};
    const Outcome straight = sharded(ranks, 1, 3);
    const Outcome first = sharded(ranks, 1, 2, nullptr, nullptr, false, &save);
    for (int r = 0; r < ranks; ++r)
      EXPECT_TRUE(std::filesystem::exists(dir.path() / fmt::format("checkpoint.step-2.shard-{}-of-{}", r, ranks)));
    EXPECT_THROW(load_checkpoint(dir.path() / "checkpoint"), Error) << "a manifest is no model file";
    const Outcome resumed = sharded(ranks, 3, 3, nullptr, nullptr, false, &resume);
    ASSERT_EQ(resumed.whole.size(), straight.whole.size());
    for (std::size_t t = 0; t < straight.whole.size(); ++t)
      EXPECT_EQ(bytes_of(resumed.whole[t]), bytes_of(straight.whole[t])) << ranks << " ranks, table " << t;
    EXPECT_EQ(resumed.whole_state, straight.whole_state);
    EXPECT_EQ(resumed.owned_ids, straight.owned_ids);
    EXPECT_EQ(resumed.shards, straight.shards);
    EXPECT_NE(first.shards, straight.shards);  // the third step did change rows
  }
}

}  // namespace
}  // namespace heed
