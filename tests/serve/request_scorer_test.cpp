// The request scorer's fast path (user features, the history's distinct keys and their DIN key
// terms, POSO's gates and the first MLP layer's user share computed once per request) against
// the plain path (every candidate a full row through score_dataset, as `heed predict` scores):
// equal to 1e-6 for histories of 0, 1 and 50 values and 1 or 100 candidates, histories given
// per candidate, unseen values, histories over max_len and repeated history values. Every
// model-shaping option is compared in forward_parity_test.cpp.
// One scorer also serves requests of every shape in turn (/v1/score and /v1/score_rows, growing
// and shrinking), and two models' pooled scorers are leased in turn as a hot reload swaps them.
#include "serve/request_scorer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/scorer.h"
#include "serve/score_request.h"
#include "serve/served_model.h"
#include "serve_support.h"

namespace heed {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

class FastPath : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir("request_scorer");
    // Rows that put every item, genre, user and count bucket into the tables.
    std::string rows = "user\titem\tgenres\thistory\tprice\tcount\n";
    for (int i = 0; i < 200; ++i) {
      rows += fmt::format("u{}\t{}\tg{}|g{}\t{}\t{}\t{}\n", i % 10, i, i % 7, i % 5 + 7,
                          (i + 1) % 200, i % 13, i * 3);
    }
    testing::write_file(*dir_ / "rows.tsv", rows);
    // Larger initial weights than training's, so that scores spread and differences show.
    const Config config = parse_config(testing::serve_config_text(dir_->path()), "serve.toml",
                                       {"embedding.init_std=0.5"});
    testing::write_keyed_model(*dir_ / "model", config, *dir_ / "rows.tsv");
    model_ = serve::ServedModel::load(*dir_ / "model");
  }
  static void TearDownTestSuite() {
    model_.reset();
    delete dir_;
  }

  static Json history(int length, int offset) {
    Json h = Json::array();
    for (int j = 0; j < length; ++j) h.push_back(std::to_string((offset + 7 * j) % 200));
    return h;
  }
  static Json candidate(int i) {
    Json c{{"item", std::to_string((i * 37) % 200)},
           {"genres", Json::array({fmt::format("g{}", i % 7)})}};
    if (i % 3 == 0) c["genres"] = fmt::format("g{}|g{}", i % 7, i % 5 + 7);  // as a file holds it
    return c;
  }

  // Scores `body` both ways and checks they agree; returns the fast scores.
  static std::vector<float> expect_paths_agree(const Json& body) {
    return expect_paths_agree(body, *model_);
  }
  static std::vector<float> expect_paths_agree(const Json& body, const serve::ServedModel& model) {
    const serve::ScoreRequest request =
        serve::parse_score_request(body.dump(), model, serve::Limits{});
    const serve::EncodedRequest encoded = serve::encode_request(request, model);
    serve::RequestScorer scorer(model.model());
    serve::Explanation explanation;
    const std::vector<float> fast = scorer.score(encoded, &explanation);
    const std::vector<float> plain = serve::score_plain(request, model);
    EXPECT_EQ(fast.size(), request.candidates.size());
    EXPECT_EQ(plain.size(), fast.size());
    for (std::size_t i = 0; i < std::min(fast.size(), plain.size()); ++i)
      EXPECT_NEAR(fast[i], plain[i], 1e-6) << "candidate " << i;
    EXPECT_EQ(explanation.din.size(), 1u);
    EXPECT_EQ(explanation.senet.rows(), static_cast<Index>(fast.size()));
    // The same scorer again (its buffers reused) gives the same numbers.
    EXPECT_EQ(scorer.score(encoded), fast);
    return fast;
  }

  // A model of the serving config with `settings` on top, keyed on the same rows.
  static std::shared_ptr<const serve::ServedModel> variant(const std::string& name,
                                                           std::vector<std::string> settings) {
    settings.push_back("embedding.init_std=0.5");
    const Config config =
        parse_config(testing::serve_config_text(dir_->path()), "serve.toml", settings);
    testing::write_keyed_model(*dir_ / name, config, *dir_ / "rows.tsv");
    return serve::ServedModel::load(*dir_ / name);
  }
  // A user with a 50-value history and 30 candidates, some values per candidate, some shared.
  static Json mixed_request() {
    Json body{{"user", {{"user", "u4"}, {"history", history(50, 3)}, {"count", 12}}},
              {"candidates", Json::array()}};
    for (int i = 0; i < 30; ++i) {
      Json c = candidate(i);
      c["price"] = i * 0.5;
      body["candidates"].push_back(c);
    }
    return body;
  }

  static testing::TempDir* dir_;
  static std::shared_ptr<const serve::ServedModel> model_;
};

testing::TempDir* FastPath::dir_ = nullptr;
std::shared_ptr<const serve::ServedModel> FastPath::model_;

TEST_F(FastPath, EqualsThePlainPathForHistoriesOf0And1And50AndFor1And100Candidates) {
  for (int length : {0, 1, 50}) {
    for (int candidates : {1, 100}) {
      SCOPED_TRACE(::testing::Message()
                   << length << " history values, " << candidates << " candidates");
      Json body{{"user", {{"user", "u3"}, {"history", history(length, 5)}, {"count", 17}}},
                {"candidates", Json::array()}};
      for (int i = 0; i < candidates; ++i) {
        Json c = candidate(i);
        c["price"] = i % 4 == 0   ? Json(fmt::format("{}.5", i % 13))
                     : i % 4 == 1 ? Json(nullptr)
                                  : Json(i * 0.25);
        body["candidates"].push_back(c);
      }
      const std::vector<float> scores = expect_paths_agree(body);
      if (candidates > 1) {
        const auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
        EXPECT_GT(*hi - *lo, 1e-3) << "candidates should score differently";
      }
    }
  }
}

TEST_F(FastPath, ExplainsTheWeightsOfEveryKeptHistoryValue) {
  Json body{{"user", {{"user", "u1"}, {"history", history(50, 2)}, {"price", 3.5}, {"count", 4}}},
            {"candidates", Json::array({candidate(1), candidate(2), candidate(3)})}};
  const serve::ScoreRequest request =
      serve::parse_score_request(body.dump(), *model_, serve::Limits{});
  serve::RequestScorer scorer(model_->model());
  serve::Explanation explanation;
  scorer.score(serve::encode_request(request, *model_), &explanation);
  ASSERT_EQ(explanation.din.size(), 1u);
  ASSERT_EQ(explanation.din[0].size(), 3u);
  for (const auto& weights : explanation.din[0]) EXPECT_EQ(weights.size(), 50u);
  EXPECT_NE(explanation.din[0][0], explanation.din[0][1]) << "the weights depend on the candidate";
  EXPECT_EQ(explanation.senet.rows(), 3);
  EXPECT_EQ(explanation.senet.cols(), static_cast<Index>(model_->model().schema().num_fields));
}

TEST_F(FastPath, EqualsThePlainPathWithHistoriesPerCandidateAndSharedDenseInputs) {
  Json body{{"user", {{"user", "u7"}, {"price", 2.25}}}, {"candidates", Json::array()}};
  for (int i = 0; i < 100; ++i) {
    Json c = candidate(i);
    c["history"] = history(i % 9, i);  // lengths 0..8, one per candidate
    c["count"] = i;
    body["candidates"].push_back(c);
  }
  expect_paths_agree(body);
}

TEST_F(FastPath, EqualsThePlainPathForUnseenValuesAndHistoriesOverMaxLen) {
  Json long_history = history(70, 1);  // max_len is 60: both keep the 60 most recent
  long_history.push_back("never-seen");
  Json body{{"user",
             {{"user", "new-user"}, {"history", long_history}, {"price", nullptr}, {"count", "9"}}},
            {"candidates", Json::array()}};
  for (int i = 0; i < 20; ++i) body["candidates"].push_back(candidate(i));
  body["candidates"][3]["item"] = "unknown-item";
  body["candidates"][4]["genres"] = Json::array();
  expect_paths_agree(body);
}

TEST_F(FastPath, CountsRepeatedHistoryValuesOnceAndWeighsThemAlike) {
  Json h = Json::array();
  for (int j = 0; j < 40; ++j) h.push_back(std::to_string(j % 7 == 3 ? 11 : (j * 13) % 200));
  h.push_back("never-seen");
  h.push_back("never-seen-either");  // two unseen values: one zero key, counted twice
  Json body{{"user", {{"user", "u2"}, {"history", h}, {"count", 5}, {"price", 1.0}}},
            {"candidates", Json::array()}};
  for (int i = 0; i < 40; ++i) body["candidates"].push_back(candidate(i));
  expect_paths_agree(body);

  const serve::ScoreRequest request =
      serve::parse_score_request(body.dump(), *model_, serve::Limits{});
  serve::RequestScorer scorer(model_->model());
  serve::Explanation explanation;
  scorer.score(serve::encode_request(request, *model_), &explanation);
  const std::vector<float>& w = explanation.din[0][0];
  ASSERT_EQ(w.size(), 42u);
  EXPECT_EQ(w[3], w[10]) << "the same value, the same weight";
  EXPECT_EQ(w[40], w[41]) << "unseen values read the same zero key";
  EXPECT_NE(w[3], w[4]);
}

// A server keeps each scorer for the life of its model and hands it one request after another:
// /v1/score requests (the user's share split off) of growing and shrinking candidate counts and
// history lengths, with and without explain, and /v1/score_rows bodies (every feature per row,
// long histories per candidate, more rows than one chunk) in between. Every answer of the one
// scorer equals the plain path's; and each of two models' pooled scorers, leased in turn as a hot
// reload swaps them, scores with its own model.
TEST_F(FastPath, OneScorerServesRequestsOfEveryShapeInTurn) {
  auto score_request = [](const serve::ServedModel& model, serve::RequestScorer& scorer,
                          int history_length, int candidates, bool explain) {
    Json body{{"user", {{"user", "u5"}, {"history", history(history_length, 11)}, {"count", 3}}},
              {"candidates", Json::array()}};
    for (int i = 0; i < candidates; ++i) {
      Json c = candidate(i + history_length);
      c["price"] = i * 0.75;
      body["candidates"].push_back(c);
    }
    const serve::ScoreRequest request =
        serve::parse_score_request(body.dump(), model, serve::Limits{});
    serve::Explanation explanation;
    const std::vector<float> fast =
        scorer.score(serve::encode_request(request, model), explain ? &explanation : nullptr);
    const std::vector<float> plain = serve::score_plain(request, model);
    ASSERT_EQ(fast.size(), plain.size());
    for (std::size_t i = 0; i < fast.size(); ++i)
      EXPECT_NEAR(fast[i], plain[i], 1e-6) << "candidate " << i;
    if (explain) {
      ASSERT_EQ(explanation.din.size(), 1u);
      ASSERT_EQ(explanation.din[0].size(), fast.size());
      for (const auto& weights : explanation.din[0])
        EXPECT_EQ(weights.size(), static_cast<std::size_t>(std::min(history_length, 60)));
    }
  };
  auto score_rows = [](const serve::ServedModel& model, serve::RequestScorer& scorer, int rows,
                       int longest_history) {
    std::string body = "user\titem\tgenres\thistory\tprice\tcount\n";
    for (int i = 0; i < rows; ++i) {
      std::string history;
      for (int j = 0; j < (i * 7) % (longest_history + 1); ++j)
        history += fmt::format("{}{}", j ? "|" : "", (i + 3 * j) % 200);
      body += fmt::format("u{}\t{}\tg{}\t{}\t{}\t{}\n", i % 10, (i * 37) % 200, i % 7, history,
                          i % 5 == 0 ? "" : fmt::format("{}", i * 0.5), i % 40);
    }
    const serve::EncodedRequest encoded = serve::parse_rows(body, model, serve::Limits{});
    const std::vector<float> fast = scorer.score(encoded);
    const std::vector<float> plain = score_dataset(model.model(), encoded.candidates, 1);
    ASSERT_EQ(fast.size(), static_cast<std::size_t>(rows));
    ASSERT_EQ(plain.size(), fast.size());
    for (std::size_t i = 0; i < fast.size(); ++i)
      EXPECT_NEAR(fast[i], plain[i], 1e-6) << "row " << i;
  };

  serve::RequestScorer scorer(model_->model());
  {
    SCOPED_TRACE("a short request first");
    score_request(*model_, scorer, 3, 2, false);
  }
  {
    SCOPED_TRACE("rows with histories per row, over a chunk");
    score_rows(*model_, scorer, 300, 60);
  }
  {
    SCOPED_TRACE("a long history, many candidates, explained");
    score_request(*model_, scorer, 70, 300, true);
  }
  {
    SCOPED_TRACE("one candidate, no history");
    score_request(*model_, scorer, 0, 1, true);
  }
  {
    SCOPED_TRACE("rows again, fewer and shorter");
    score_rows(*model_, scorer, 5, 4);
  }
  {
    SCOPED_TRACE("a middling request");
    score_request(*model_, scorer, 20, 129, false);
  }

  // A hot reload: the other model's pool, then the first's again, leased in turn.
  const auto other = variant("reloaded", {"model.hidden=[24]", "din.hidden=[8]", "train.seed=3"});
  for (int round = 0; round < 2; ++round) {
    for (const serve::ServedModel* model : {model_.get(), other.get()}) {
      SCOPED_TRACE(::testing::Message() << "round " << round << ", model "
                                        << (model == model_.get() ? "first" : "reloaded"));
      serve::ServedModel::Lease leased = model->scorer();
      score_request(*model, *leased, 10 + 30 * round, 40, round == 1);
      score_rows(*model, *leased, 150, 30);
    }
  }
}

}  // namespace
}  // namespace heed
