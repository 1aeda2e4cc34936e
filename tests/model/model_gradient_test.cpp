// The whole model's backward pass — MLP, concatenation of fields and dense inputs, pooling into
// shared tables — against finite differences of its forward pass, through the generic checker.
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


// The whole model as a heed::Layer, so that the generic checker drives it: the input is the
// embedding rows the batch touches (one [touched, E] matrix per table, written into the tables
// before each forward), the output the logits, the parameters the model's ParamSet.
struct ModelAsLayer {
  Model& model;
  const Batch& batch;

  using Input = std::vector<Matrix>*;  // per table: its touched rows, in BatchTables::touched order
  using Output = MatrixView;           // logits [rows, 1]
  using OutputGrad = ConstMatrixView;  // d logits [rows, 1]
  using InputGrad = std::vector<Matrix>*;
  struct Cache {
    std::unique_ptr<Model::Workspace> ws;
  };

  void forward(const ParamSet& /*params*/, const Input& tables, Index rows, MatrixView logits, Cache& cache,
               Pass pass) const {
    for (std::size_t t = 0; t < model.tables().size(); ++t) {
      const auto& touched = batch.tables[t].touched;
      for (std::size_t s = 0; s < touched.size(); ++s)
        for (Index e = 0; e < model.dim(); ++e)
          model.tables()[t].row(touched[s])[e] = (*tables)[t](static_cast<Index>(s), e);
    }
    model.forward(batch, 0, rows, *cache.ws, pass.training);
    logits.topRows(rows) = cache.ws->logits();
  }
  void backward(const ParamSet& /*params*/, const Input& /*tables*/, Index rows, const ConstMatrixView& d_logits,
                InputGrad* d_tables, Cache& cache, Gradients& grads) const {
    Model::Workspace& ws = *cache.ws;
    ws.clear_gradients(batch);
    ws.d_logits().topRows(rows) = d_logits.topRows(rows);
    model.backward(batch, 0, rows, ws);
    grads.add(ws.gradients());
    if (!d_tables) return;
    for (std::size_t t = 0; t < model.tables().size(); ++t)
      (**d_tables)[t] = Eigen::Map<const Matrix>(ws.table_gradients()[t].data(), (**d_tables)[t].rows(), model.dim());
  }
};
static_assert(Layer<ModelAsLayer>);

// Checks every dense parameter and every touched embedding row of `config` on `rows_path`
// (a training pass: Dice on batch statistics), through the generic checker.
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
  ModelAsLayer layer{model, batch};
  ModelAsLayer::Cache cache{model.make_workspace(B)};
  std::vector<Matrix> tables, d_tables;
  for (std::size_t t = 0; t < model.tables().size(); ++t) {
    const auto n = static_cast<Index>(batch.tables[t].touched.size());
    tables.emplace_back(n, E);
    d_tables.emplace_back(n, E);
  }
  Matrix logits(B, 1), r(B, 1);
  testing::LayerProbe<ModelAsLayer> probe;
  for (std::size_t t = 0; t < tables.size(); ++t)
    probe.inputs.push_back({"table " + model.tables()[t].name(), &tables[t], &d_tables[t]});
  probe.outputs = {&logits};
  probe.d_outputs = {&r};
  probe.input_scale = static_cast<float>(config.embedding.init_std);  // rows as the model draws them
  probe.input = [&] { return &tables; };
  probe.output = [&] { return MatrixView(logits); };
  probe.d_output = [&] { return ConstMatrixView(r); };
  probe.d_input = [&] { return &d_tables; };
  testing::GradientCheckOptions o;
  o.step = step;
  testing::check_layer_gradients("model", layer, model.params(), B, cache, probe, Pass::train(), o);
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
