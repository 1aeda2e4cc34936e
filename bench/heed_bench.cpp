// heed's side of the PyTorch comparison (bench/compare.py, docs/performance.md): what
// `heed train`'s metrics.json does not say, measured with the library's own code on a trained
// model.
//
//   heed_bench --model RUN/model --data DIR --threads 2 [--parse train.tsv]
//   heed_bench --gemm-only --threads 2
//
// prints one JSON object:
//   parse_seconds      load_dataset() of the training file: reading, splitting, hashing every
//                      value (what `heed train` does before its first epoch)
//   inference          score_dataset() over DIR/<test file>, eval.batch_size rows at a time
//   latency_ms         per request of --candidates consecutive rows of DIR/requests.tsv (one
//                      user's features and history, that many candidate movies): resolving the
//                      keys to rows (BatchBuilder) and the forward pass, the rows split over
//                      the threads as training splits a batch; p50 / p99 over --repeats
// or, with --gemm-only, only
//   eigen_gemm_gflops  C = A B on 1024 x 1024 floats with Eigen as heed builds it (single-
//                      threaded GEMM), best of 10: "1" one product, "N" N products at once on
//                      N threads
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "core/error.h"
#include "data/dataset_loader.h"
#include "embedding/batch_builder.h"
#include "layers/logloss.h"
#include "model/scorer.h"

namespace {

using Clock = std::chrono::steady_clock;
using heed::Index;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double at = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(at);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (at - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// GFLOP/s of `threads` concurrent 1024^3 single-precision products (best of `repeats`).
double eigen_gemm_gflops(int threads, int repeats) {
  constexpr Index n = 1024;
  std::vector<heed::Matrix> a, b, c;
  for (int t = 0; t < threads; ++t) {
    a.push_back(heed::Matrix::Random(n, n));
    b.push_back(heed::Matrix::Random(n, n));
    c.push_back(heed::Matrix::Zero(n, n));
  }
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads)
    {
      const auto t = static_cast<std::size_t>(omp_get_thread_num());
      c[t].noalias() = a[t] * b[t];
    }
    best = std::min(best, seconds_since(t0));
  }
  return threads * 2.0 * n * n * n / best / 1e9;
}

struct Args {
  std::string model, data, parse, requests = "requests.tsv";
  int threads = 1, candidates = 100, repeats = 500;
  bool gemm_only = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw heed::Error(fmt::format("{} needs a value", k));
      return argv[++i];
    };
    if (k == "--model") a.model = value();
    else if (k == "--data") a.data = value();
    else if (k == "--parse") a.parse = value();
    else if (k == "--requests") a.requests = value();
    else if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--candidates") a.candidates = std::stoi(value());
    else if (k == "--repeats") a.repeats = std::stoi(value());
    else if (k == "--gemm-only") a.gemm_only = true;
    else throw heed::Error(fmt::format("unknown option {} (--model --data --threads --parse --requests "
                                       "--candidates --repeats --gemm-only)", k));
  }
  if (!a.gemm_only && (a.model.empty() || a.data.empty())) throw heed::Error("heed_bench needs --model RUN/model and --data DIR");
  return a;
}

// Scores every block of `candidates` rows of `requests` as one request; returns ms per request.
std::vector<double> request_latencies(heed::Model& model, const heed::Dataset& requests, const Args& args) {
  const int threads = args.threads;
  const auto n = static_cast<std::size_t>(args.candidates);
  const std::size_t count = requests.rows / n;
  if (count == 0) throw heed::Error(fmt::format("the request file has fewer than {} rows", n));
  heed::BatchBuilder builder(model.schema(), model.config().embedding);
  std::vector<std::unique_ptr<heed::Model::Workspace>> workspaces;
  const Index per_thread = static_cast<Index>((n + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) workspaces.push_back(model.make_workspace(per_thread));
  heed::Batch batch;
  std::vector<std::size_t> rows(n);
  std::vector<float> scores(n);
  auto score = [&](std::size_t r) {
    std::iota(rows.begin(), rows.end(), r * n);
    builder.build(requests, rows, /*training=*/false, nullptr, model.tables(), model.normalizer(), batch);
    const auto B = static_cast<Index>(n);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      heed::Model::Workspace& ws = *workspaces[static_cast<std::size_t>(t)];
      const Index begin = B * t / threads, stop = B * (t + 1) / threads;
      if (stop > begin) {
        model.forward(batch, begin, stop - begin, ws, /*training=*/false);
        for (Index i = begin; i < stop; ++i) scores[static_cast<std::size_t>(i)] = heed::sigmoid(ws.mlp.logit(i - begin, 0));
      }
    }
  };
  for (std::size_t r = 0; r < std::min<std::size_t>(count, 20); ++r) score(r);  // warm up
  std::vector<double> ms;
  for (int i = 0; i < args.repeats; ++i) {
    const auto t0 = Clock::now();
    score(static_cast<std::size_t>(i) % count);
    ms.push_back(seconds_since(t0) * 1e3);
  }
  return ms;
}

int run(const Args& args) {
  if (args.gemm_only) {
    nlohmann::ordered_json out;
    out["eigen_gemm_gflops"]["1"] = eigen_gemm_gflops(1, 10);
    if (args.threads > 1) out["eigen_gemm_gflops"][std::to_string(args.threads)] = eigen_gemm_gflops(args.threads, 10);
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  heed::Checkpoint cp = heed::load_checkpoint(args.model);
  heed::Model& model = *cp.model;
  const heed::Config& config = model.config();
  const std::filesystem::path dir = args.data;
  nlohmann::ordered_json out;
  out["engine"] = "heed";
  out["threads"] = args.threads;

  if (!args.parse.empty()) {
    const auto t0 = Clock::now();
    const heed::Dataset train = heed::load_dataset(dir / args.parse, config, model.schema());
    out["parse_seconds"] = seconds_since(t0);
    out["parse_rows"] = train.rows;
  }

  const heed::Dataset test = heed::load_dataset(dir / config.data.test, config, model.schema());
  heed::score_dataset(model, test, args.threads);  // warm up
  auto t0 = Clock::now();
  const std::vector<float> scores = heed::score_dataset(model, test, args.threads);
  const double infer = seconds_since(t0);
  const heed::Evaluation e = heed::evaluate_scores(scores, test);
  out["test"] = heed::metrics_json(e.overall);
  out["inference_batch"] = config.eval.batch_size;
  out["inference_samples_per_second"] = static_cast<double>(test.rows) / infer;

  const std::filesystem::path requests_path = dir / args.requests;
  if (std::filesystem::exists(requests_path)) {
    const heed::Dataset requests = heed::load_dataset(requests_path, config, model.schema());
    const std::vector<double> ms = request_latencies(model, requests, args);
    out["latency_ms"] = {{"p50", percentile(ms, 50)},
                         {"p99", percentile(ms, 99)},
                         {"mean", std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size())},
                         {"requests", ms.size()},
                         {"candidates", args.candidates}};
  }

  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heed_bench: %s\n", e.what());
    return 1;
  }
}
