// The whole model's backward pass — MLP, concatenation of fields and dense inputs, pooling into
// shared tables — against finite differences of its forward pass.
#include <gtest/gtest.h>

#include <numeric>

#include "../layers/gradient_check.h"
#include "../support/test_files.h"
#include "config/config_loader.h"
#include "data/dataset_loader.h"
#include "embedding/batch_builder.h"
#include "model/model.h"

namespace heed {
namespace {

using testing::dot;
using testing::expect_gradient_matches;
using testing::random_matrix;

// Checks every dense parameter and every touched embedding row of `config` on `rows_path`.
void check_model_gradients(const Config& config, const std::filesystem::path& rows_path, float step) {
  Model model(config);
  const Index E = model.dim();
  const Dataset data = load_dataset(rows_path, model.config(), model.schema());
  std::vector<std::size_t> rows(data.rows);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  BatchBuilder builder(model.schema(), model.config().embedding);
  Batch batch;
  Rng rng(1);
  builder.build(data, rows, /*training=*/true, &rng, model.tables(), model.normalizer(), batch);

  const Index B = static_cast<Index>(rows.size());
  auto ws = model.make_workspace(B);
  const Matrix R = random_matrix(B, 1, rng);
  auto loss = [&] {
    model.forward(batch, 0, B, *ws, /*training=*/true);
    return dot(ws->mlp.logit.topRows(B), R);
  };
  loss();
  ws->d_logit.topRows(B) = R;
  ws->grads.zero();
  for (std::size_t t = 0; t < model.tables().size(); ++t)
    ws->table_grads[t].assign(batch.tables[t].touched.size() * static_cast<std::size_t>(E), 0.0f);
  model.backward(batch, 0, B, *ws);

  testing::GradientCheckOptions o;
  o.step = step;
  for (std::size_t p = 0; p < model.params().size(); ++p) {
    if (!model.params().param(p).trainable) continue;  // running statistics
    expect_gradient_matches(model.params().param(p).name, model.params()[p], ws->grads[p], loss, o);
  }
  for (std::size_t t = 0; t < model.tables().size(); ++t) {
    EmbeddingTable& table = model.tables()[t];
    const auto& touched = batch.tables[t].touched;
    const auto n = static_cast<Index>(touched.size());
    Matrix values(n, E), analytic(n, E);
    for (Index s = 0; s < n; ++s)
      for (Index e = 0; e < E; ++e) {
        values(s, e) = table.row(touched[static_cast<std::size_t>(s)])[e];
        analytic(s, e) = ws->table_grads[t][static_cast<std::size_t>(s * E + e)];
      }
    auto table_loss = [&] {
      for (Index s = 0; s < n; ++s)
        for (Index e = 0; e < E; ++e) table.row(touched[static_cast<std::size_t>(s)])[e] = values(s, e);
      return loss();
    };
    expect_gradient_matches("table " + table.name(), values, analytic, table_loss, o);
  }
}

// SENet, DIN over an aligned (item, category) history with a two-feature query, and POSO
// gates from a user-group feature, all in one model: the gathers and scatters between them
// (queries read from fields, keys from tables, pooled vectors written back into fields,
// gate gradients added into the pc feature's field) are what this checks.
class FullModelGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(FullModelGradient, MatchesFiniteDifferences) {
  testing::TempDir dir("model-full");
  testing::write_file(dir / "rows.tsv",
                      "label\tgroup\titem\tcat\thist\thist_cat\tprice\n"
                      "1\tnew\ta\tx\tb|c\ty|x\t1.5\n"
                      "0\tactive\tb\ty\t\t\t-2\n"
                      "1\tactive\tc\tx\ta|a|b|d\tx|x|y|z\t0.5\n"
                      "0\tnew\ta\tx\tc\tx\t3\n"
                      "1\tactive\td\tz\td|a\tz|x\t\n"
                      "0\tactive\tb\ty\tzz|b\tq|y\t1\n");
  const Config config = parse_config(
      "[features.group]\n[features.item]\n[features.cat]\n"
      "[features.hist]\nkind = \"sequence\"\ntable = \"item\"\npooling = \"din\"\n"
      "query = [\"item\", \"cat\"]\nattend_with = [\"hist_cat\"]\n"
      "[features.hist_cat]\nkind = \"sequence\"\ntable = \"cat\"\n"
      "[features.price]\nkind = \"numeric\"\n"
      "[embedding]\ndim = 3\ninit_std = 0.5\n"
      "[senet]\nenabled = true\nreduction = 2\n"
      "[din]\nhidden = [5, 4]\nactivation = \"" + GetParam() + "\"\n"
      "[poso]\nenabled = true\nfeatures = [\"group\"]\ngate_hidden = 4\n"
      "[model]\nhidden = [6, 4]\nactivation = \"prelu\"\n",
      "t.toml");
  check_model_gradients(config, dir / "rows.tsv", 1e-3f);
}

INSTANTIATE_TEST_SUITE_P(DinActivations, FullModelGradient, ::testing::Values("prelu", "dice"));

TEST(ModelGradient, MatchesFiniteDifferences) {
  testing::TempDir dir("model");
  testing::write_file(dir / "rows.tsv",
                      "label\titem\tgenres\thistory\tprice\n"
                      "1\ta\tx|y\tb|c\t1.5\n"
                      "0\tb\ty\t\t-2\n"
                      "1\tc\tx|y|z\ta|a|b\t0.5\n"
                      "0\ta\t\tc\t3\n"
                      "1\td\tz\td|a\t\n");
  const Config config = parse_config(
      "[features.item]\n"
      "[features.genres]\nkind = \"multi\"\npooling = \"mean\"\n"
      "[features.history]\nkind = \"sequence\"\ntable = \"item\"\npooling = \"sum\"\n"
      "[features.price]\nkind = \"numeric\"\n"
      "[embedding]\ndim = 3\ninit_std = 0.5\n"
      "[model]\nhidden = [6, 4]\nactivation = \"prelu\"\n",
      "t.toml");
  ASSERT_EQ(Model(config).input_width(), 3 * 3 + 1);
  check_model_gradients(config, dir / "rows.tsv", 3e-3f);
}

}  // namespace
}  // namespace heed
