// The layer contract says a pass never allocates: buffers are sized once per workspace. This
// file counts the operator-new calls of Model::forward (evaluation and training) and
// Model::backward after a first pass sized everything, on a model with DIN, SENet and POSO:
// none. (It replaces the global operator new for the test binary, counting only while a
// pass runs on this thread; Eigen's own buffers are made with malloc and sized in
// make_workspace. Sanitizer builds keep their own operator new and skip the count.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <numeric>

#include "../serve/serve_support.h"
#include "../support/sanitizer_build.h"

#ifndef HEED_TESTS_SANITIZED
namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

namespace {
void* counted_malloc(std::size_t size) {
  if (counting) ++allocations;
  void* p = std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return counted_malloc(size); }
void* operator new[](std::size_t size) { return counted_malloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace heed {
namespace {

#ifndef HEED_TESTS_SANITIZED
template <class Pass>
std::size_t allocations_of(Pass pass) {
  allocations = 0;
  counting = true;
  pass();
  counting = false;
  return allocations;
}
#else
template <class Pass>
std::size_t allocations_of(Pass pass) {
  pass();
  return 0;
}
#endif

TEST(ForwardAllocations, NoneOnceTheWorkspaceIsSized) {
  if (testing::kSanitizerBuild) GTEST_SKIP() << "the sanitizers own operator new";
  testing::TempDir dir("forward_allocations");
  std::string rows = "user\titem\tgenres\thistory\tprice\tcount\n";
  for (int i = 0; i < 200; ++i)
    rows += fmt::format("u{}\t{}\tg{}|g{}\t{}\t{}\t{}\n", i % 10, i, i % 7, i % 5 + 7, (i + 1) % 200, i % 13, i * 3);
  testing::write_file(dir.path() / "rows.tsv", rows);
  Model model(parse_config(testing::serve_config_text(dir.path()), "serve.toml", {}));
  ASSERT_TRUE(model.poso() && model.senet() && !model.din().empty());
  LoadOptions load;
  load.require_label = false;
  const Dataset data = load_dataset(dir.path() / "rows.tsv", model.config(), model.schema(), load);
  std::vector<std::size_t> all(data.rows);
  std::iota(all.begin(), all.end(), std::size_t{0});
  BatchBuilder builder(model.schema(), model.config().embedding);
  Batch batch;
  Rng rng(7);
  builder.build(data, all, /*training=*/true, &rng, model.tables(), model.normalizer(), batch);

  const Index B = 128;
  auto ws = model.make_workspace(B);
  for (auto& g : ws->table_gradients()) g.assign(data.rows * 4 * static_cast<std::size_t>(model.dim()), 0.0f);
  ws->d_logits().setConstant(1.0f / B);
  for (bool training : {false, true}) {
    SCOPED_TRACE(training ? "training" : "evaluation");
    model.forward(batch, 0, B, *ws, training);  // the first pass may grow DIN's key buffers
    EXPECT_EQ(allocations_of([&] { model.forward(batch, 0, B, *ws, training); }), 0u);
  }
  EXPECT_EQ(allocations_of([&] { model.backward(batch, 0, B, *ws, 1.0f / B); }), 0u);
}

}  // namespace
}  // namespace heed
