#!/usr/bin/python3
"""Latency curves of one scoring request (docs/performance.md), per scoring precision.

    bench/latency_curves.py [--rows 20000] [--repeats 300] [--out docs/perf] [--build build]
                            [--work bench-runs/latency] [--precisions fp32,bf16,int8]
                            [--candidates 10,20,50,100,200,500,1000] [--history 10,25,50,100,200,500]

One request is one user with a history and N candidate movies, scored by `heed serve`'s scorer
on one thread (heed_bench --serving-only: serve::RequestScorer, the user's share once per
request). Two curves:

  candidates  N = 10 .. 1,000 candidates, a 50-item history
  history     100 candidates, a history of x = 10 .. 500 items

The data is bench/gen_data.py's (seed --seed), with histories up to 500 clicks
(--max-history 500 --max-earlier-clicks 1000) and requests of 1,000 candidates each, so that a
request of N candidates is the first N rows of one; its user has at least 500 earlier clicks.
Each history point trains the reference model (bench/configs/reference.toml, one epoch on
--rows rows, 2 threads) with features.hist_movie_ids.max_len = x, so the request's history is
cut to x items as serving cuts it; the candidates curve uses the x = 50 model. Every point is
--repeats requests (the file's requests in turn); the figures are the scoring thread's CPU time
(p50, p99), which a machine busy with other work inflates far less than wall time.

The dashed lines: the 1 ms goal, and per reduced precision the compute floor, the request's
reduced multiply-adds (counted by heed_bench) at this core's peak for that precision
(bench/lowp_bench's register-only loops). Writes latency-candidates.svg, latency-history.svg
and latency.json into --out, and a Markdown table on stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svg_plot import line_plot  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "configs", "reference.toml")
LONGEST_HISTORY, REQUEST_CANDIDATES, REQUESTS = 500, 1000, 40
HISTORY_AT_CANDIDATES = 50
CANDIDATES_AT_HISTORY = 100
COLORS = {"fp32": "#1f77b4", "bf16": "#d62728", "int8": "#2ca02c"}


def log(message):
    print(f"[latency {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"latency_curves.py: {' '.join(cmd)} failed:\n{done.stderr}")
    return done.stdout


def run_json(cmd):
    return json.loads(run(cmd))


def generate(folder, rows, seed):
    """The request data, reused when its data.json says it was made with these options."""
    wanted = {"rows": rows, "seed": seed, "max_history": LONGEST_HISTORY, "max_earlier_clicks": 2 * LONGEST_HISTORY,
              "requests": REQUESTS, "request_candidates": REQUEST_CANDIDATES}
    info_path = os.path.join(folder, "data.json")
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        if all(info.get(k) == v for k, v in wanted.items()):
            return
    log(f"gen_data.py -> {folder}")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_data.py"), "--out", folder,
                    "--rows", str(rows), "--seed", str(seed), "--max-history", str(LONGEST_HISTORY),
                    "--max-earlier-clicks", str(2 * LONGEST_HISTORY), "--requests", str(REQUESTS),
                    "--request-candidates", str(REQUEST_CANDIDATES)], check=True, stdout=subprocess.DEVNULL)


def train(heed, data_dir, history, run_dir):
    if os.path.exists(os.path.join(run_dir, "model")):
        return os.path.join(run_dir, "model")
    log(f"train, history {history}")
    run([heed, "train", REFERENCE, "--set", f"data.dir={data_dir}", "--set", "train.progress=none",
              "--set", "train.epochs=1", "--set", f"features.hist_movie_ids.max_len={history}",
              "--out", run_dir, "--overwrite"])
    return os.path.join(run_dir, "model")


def measure(bench, model, data_dir, candidates, precision, repeats):
    log(f"{precision}: {candidates} candidates, model {os.path.basename(os.path.dirname(model))} "
        f"(load {os.getloadavg()[0]:.1f})")
    out = run_json([bench, "--model", model, "--data", data_dir, "--serving-only", "--threads", "1",
                    "--candidates", str(candidates), "--repeats", str(repeats), "--precision", precision])
    s = out["serving_latency_ms"]
    return {"cpu_p50": s["score_cpu"]["p50"], "cpu_p99": s["score_cpu"]["p99"], "wall_p50": s["score"]["p50"],
            "wall_p99": s["score"]["p99"], "multiply_adds": s.get("reduced_multiply_adds_first_request"),
            "isa": s.get("isa"), "max_abs_diff": s["max_abs_diff"], "load": os.getloadavg()[0]}


def plot(path, title, x_label, curve, precisions, peaks, log_x):
    series, guides = [], []
    for p in precisions:
        series.append((f"{p}: CPU p99", COLORS[p], [(x, r[p]["cpu_p99"]) for x, r in curve]))
    xs = [x for x, _ in curve]
    guides.append(("goal: 1 ms", "#777", [(xs[0], 1.0), (xs[-1], 1.0)]))
    for p in precisions:
        if p in peaks and all(r[p]["multiply_adds"] for _, r in curve):
            guides.append((f"{p} floor: its multiply-adds at the {p} peak ({peaks[p]:.0f} G/s)", COLORS[p],
                           [(x, r[p]["multiply_adds"] / (peaks[p] * 1e9) * 1e3) for x, r in curve]))
    line_plot(path, title, ["reference model, one scoring thread, thread CPU time per request"], x_label,
              "ms per request (log scale)", series, guides, log_x=log_x, log_y=True)


def ints(text):
    return [int(v) for v in text.split(",")]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=20000, help="rows generated (90%% train the models)")
    p.add_argument("--repeats", type=int, default=300, help="requests scored per point")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "perf"))
    p.add_argument("--work", default=os.path.join(ROOT, "bench-runs", "latency"))
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--precisions", default="fp32,bf16,int8")
    p.add_argument("--candidates", default="10,20,50,100,200,500,1000")
    p.add_argument("--history", default="10,25,50,100,200,500")
    args = p.parse_args()
    candidates, histories, precisions = ints(args.candidates), ints(args.history), args.precisions.split(",")
    if max(candidates) > REQUEST_CANDIDATES or max(histories) > LONGEST_HISTORY or min(candidates + histories) < 1:
        p.error(f"candidates must lie in 1..{REQUEST_CANDIDATES}, history in 1..{LONGEST_HISTORY}")
    if unknown := [x for x in precisions if x not in COLORS]:
        p.error(f"unknown precision {unknown[0]} (fp32, bf16, int8)")
    heed, bench, lowp = (os.path.join(args.build, name) for name in ("heed", "heed_bench", "lowp_bench"))
    data_dir = os.path.join(args.work, "data")
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    generate(data_dir, args.rows, args.seed)
    peaks = run_json([lowp, "--shapes", "100,144,512"])["peak_gmacs"]
    models = {h: train(heed, data_dir, h, os.path.join(args.work, f"history-{h}"))
              for h in sorted(set(histories) | {HISTORY_AT_CANDIDATES})}
    by_candidates = [(n, {pr: measure(bench, models[HISTORY_AT_CANDIDATES], data_dir, n, pr, args.repeats)
                          for pr in precisions}) for n in candidates]
    by_history = [(h, {pr: measure(bench, models[h], data_dir, CANDIDATES_AT_HISTORY, pr, args.repeats)
                       for pr in precisions}) for h in histories]
    result = {"repeats": args.repeats, "rows": args.rows, "peak_gmacs": peaks,
              "candidates": {"history": HISTORY_AT_CANDIDATES, "points": {str(x): r for x, r in by_candidates}},
              "history": {"candidates": CANDIDATES_AT_HISTORY, "points": {str(x): r for x, r in by_history}}}
    with open(os.path.join(args.out, "latency.json"), "w") as f:
        json.dump(result, f, indent=2)
    plot(os.path.join(args.out, "latency-candidates.svg"), f"Latency against candidates ({HISTORY_AT_CANDIDATES}-item history)",
         "candidates per request (log scale)", by_candidates, precisions, peaks, log_x=True)
    plot(os.path.join(args.out, "latency-history.svg"), f"Latency against history length ({CANDIDATES_AT_HISTORY} candidates)",
         "history items (log scale)", by_history, precisions, peaks, log_x=True)
    for name, curve in (("candidates", by_candidates), ("history", by_history)):
        print(f"\n| {name} | " + " | ".join(f"{p} CPU p50 / p99 ms" for p in precisions) + " |")
        print("|---:|" + "---:|" * len(precisions))
        for x, r in curve:
            print(f"| {x} | " + " | ".join(f"{r[p]['cpu_p50']:.3f} / {r[p]['cpu_p99']:.3f}" for p in precisions) + " |")


if __name__ == "__main__":
    main()
