#!/usr/bin/python3
"""heed vs PyTorch on the same model and the same data (docs/performance.md).

    bench/compare_torch.sh [--rows 1000000] [--epochs 1] [--threads 1,2] [--variants dnn,senet,din,full]
                           [--rounds 1] [--out results.json]

(compare_torch.sh installs what is missing, builds heed with the bench programs, and runs this
file with the OpenMP build of OpenBLAS for torch.) Per variant of bench/configs/variants.toml
and per thread count it trains both engines on bench/gen_data.py's data for the same epochs,
then measures inference and request latency, and prints Markdown tables; --out writes every
number as JSON. --rounds N trains both engines N times, alternating which goes first, for a
speed ratio that a drifting machine speed cannot tilt.
"""
import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_spec  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

GEMM_SCRIPT = r"""
import json, sys, time
import numpy as np
import torch

def best(f, repeats=10):
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)

n = 1024
a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
torch.set_num_threads(int(sys.argv[1]))
ta, tb = torch.from_numpy(a), torch.from_numpy(b)
print(json.dumps({"numpy": 2 * n ** 3 / best(lambda: a @ b) / 1e9,
                  "torch": 2 * n ** 3 / best(lambda: ta @ tb) / 1e9}))
"""


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def thread_env(threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    if os.path.isdir(OPENBLAS_OPENMP):
        paths = [OPENBLAS_OPENMP] + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
        env["LD_LIBRARY_PATH"] = ":".join(dict.fromkeys(paths))
    return env


def run(cmd, env=None, capture=True, label=None):
    log(label or " ".join(cmd))
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, text=True, capture_output=capture)
    if p.returncode != 0:
        sys.stderr.write((p.stdout or "") + (p.stderr or ""))
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    return p.stdout, time.perf_counter() - t0


def ensure_data(folder, rows, seed):
    info_path = os.path.join(folder, "data.json")
    if os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        # Older folders lack the layout keys; their defaults are the layout the comparison reads.
        default_layout = (info.get("max_history", 50) == 50 and info.get("max_earlier_clicks", 120) == 120
                          and info.get("extra_fields", 0) == 0)
        if (info.get("rows") == rows and info.get("seed") == seed and default_layout
                and os.path.exists(os.path.join(folder, "requests.tsv"))):
            log(f"reusing {folder}")
            return info
    run([sys.executable, os.path.join(BENCH, "gen_data.py"), "--out", folder, "--rows", str(rows), "--seed", str(seed)])
    with open(info_path) as f:
        return json.load(f)


def gemm_rates(threads, heed_bench_gemm):
    """Measured 1024^3 sgemm GFLOP/s per thread count: numpy (OpenBLAS), torch.mm, heed::gemm."""
    out = {}
    for t in threads:
        text, _ = run([sys.executable, "-c", GEMM_SCRIPT, str(t)], env=thread_env(t),
                      label=f"sgemm 1024^3 with numpy and torch.mm on {t} thread(s)")
        rates = json.loads(text)
        heed = heed_bench_gemm.get(str(t))
        if heed is not None:
            rates["heed"] = heed
        out[str(t)] = rates
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows generated (90%% train, 10%% test)")
    parser.add_argument("--seed", type=int, default=1, help="data seed")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", default="1,2", help="thread counts, comma separated")
    parser.add_argument("--variants", default="dnn,senet,din,full", help="of bench/configs/variants.toml")
    parser.add_argument("--data", help="data folder (default: bench-data/ROWS under the repository)")
    parser.add_argument("--work", help="run folders (default: bench-runs/ROWS under the repository)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder with heed and heed_bench")
    parser.add_argument("--config", default=os.path.join(BENCH, "configs", "reference.toml"))
    parser.add_argument("--latency-repeats", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=1,
                        help="train both engines this many times, heed first in odd rounds and torch first in even "
                             "ones; the speed ratio reported is the geometric mean over rounds")
    parser.add_argument("--out", help="write every number here as JSON")
    parser.add_argument("--table", metavar="RESULTS_JSON", help="only print the tables of an earlier --out file")
    args = parser.parse_args()
    if args.table:
        with open(args.table) as f:
            print(markdown(json.load(f)))
        return

    threads = [int(t) for t in args.threads.split(",")]
    if args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    with open(os.path.join(BENCH, "configs", "variants.toml"), "rb") as f:
        all_variants = tomllib.load(f)
    variants = args.variants.split(",")
    for v in variants:
        if v not in all_variants:
            raise SystemExit(f"unknown variant {v} ({', '.join(all_variants)})")
    heed = os.path.join(args.build, "heed")
    heed_bench = os.path.join(args.build, "heed_bench")
    for exe in (heed, heed_bench):
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"{exe} is missing: build with -DHEED_BUILD_BENCH=ON (bench/compare_torch.sh does)")
    data = os.path.abspath(args.data or os.path.join(ROOT, "bench-data", str(args.rows)))
    work = os.path.abspath(args.work or os.path.join(ROOT, "bench-runs", str(args.rows)))
    os.makedirs(work, exist_ok=True)
    info = ensure_data(data, args.rows, args.seed)

    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        "machine": machine(), "data": info, "epochs": args.epochs, "runs": [],
    }
    try:
        results["heed_commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                                capture_output=True, text=True).stdout.strip()
    except OSError:
        pass

    gemm_text, _ = run([heed_bench, "--gemm-only", "--threads", str(max(threads))])
    results["gemm_gflops"] = gemm_rates(threads, json.loads(gemm_text)["heed_gemm_gflops"])

    specs = {}
    for v in variants:
        overrides = all_variants[v]["set"] + [f"train.epochs={args.epochs}", f"data.dir={data}"]
        resolved = os.path.join(work, f"{v}.toml")
        with open(resolved, "w") as f:
            f.write(model_spec.resolve(heed, args.config, overrides))
        spec = model_spec.load(resolved)
        specs[v] = spec
        flops = model_spec.flops_per_sample(spec, info["mean_history_length"])
        for t in threads:
            r = {"variant": v, "threads": t, "flops_per_sample": flops, "load_average": os.getloadavg()}
            rounds = []
            for k in range(args.rounds):
                # Alternate which engine goes first, so a machine that speeds up or slows down
                # during the run favours neither; latency is measured in the first round only.
                order = ("heed", "torch") if k % 2 == 0 else ("torch", "heed")
                got = {}
                for engine in order:
                    if engine == "heed":
                        got["heed"] = train_heed(args, heed, heed_bench, resolved, spec, data, work, v, t, k)
                    else:
                        got["torch"] = train_torch(args, resolved, data, work, v, t, k)
                got["first"] = order[0]
                rounds.append(got)
            r["heed"], r["torch"] = rounds[0]["heed"], rounds[0]["torch"]
            if args.rounds > 1:
                r["rounds"] = [{"first": g["first"],
                                "heed_samples_per_second": g["heed"]["train_samples_per_second"],
                                "torch_samples_per_second": g["torch"]["train_samples_per_second"],
                                "heed_auc": g["heed"]["test"]["auc"], "torch_auc": g["torch"]["test"]["auc"]}
                               for g in rounds]
                r["ratio_geometric_mean"] = math.exp(sum(
                    math.log(g["heed_samples_per_second"] / g["torch_samples_per_second"]) for g in r["rounds"])
                    / len(r["rounds"]))
            results["runs"].append(r)
            log(f"{v} t={t}: heed {r['heed']['train_samples_per_second']:.0f}/s auc {r['heed']['test']['auc']:.4f}; "
                f"torch {r['torch']['train_samples_per_second']:.0f}/s auc {r['torch']['test']['auc']:.4f}")
            if args.out:
                write_json(args.out, results)

    if args.out:
        write_json(args.out, results)
    print(markdown(results))


def train_heed(args, heed, heed_bench, config, spec, data, work, variant, threads, round_index):
    """Trains heed once; the first round also measures inference, latency and parsing."""
    suffix = f"-round{round_index + 1}" if round_index else ""
    run_dir = os.path.join(work, f"heed-{variant}-t{threads}{suffix}")
    _, wall = run([heed, "train", config, "--set", f"train.threads={threads}", "--out", run_dir, "--overwrite"],
                  env=thread_env(threads))
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    train_seconds = sum(h["seconds"] for h in metrics["history"])
    n = metrics["train_rows"] * len(metrics["history"])
    out = {
        "train_samples_per_second": n / train_seconds,
        "epoch_samples_per_second": [h["samples_per_second"] for h in metrics["history"]],
        "train_seconds": train_seconds, "train_command_seconds": wall, "test": metrics["test"],
        "dense_parameters": metrics["dense_parameters"], "embedding_rows": metrics["embedding_rows"],
    }
    if round_index == 0:
        bench_text, _ = run([heed_bench, "--model", os.path.join(run_dir, "model"), "--data", data,
                             "--threads", str(threads), "--parse", spec.train_file,
                             "--repeats", str(args.latency_repeats)], env=thread_env(threads))
        hb = json.loads(bench_text)
        out.update({
            "parse_seconds": hb["parse_seconds"],
            "train_samples_per_second_with_parsing": n / (train_seconds + hb["parse_seconds"]),
            "inference_samples_per_second": hb["inference_samples_per_second"],
            "inference_batch": hb["inference_batch"], "latency_ms": hb.get("latency_ms"),
            "serving_latency_ms": hb.get("serving_latency_ms"),
        })
    return out


def train_torch(args, config, data, work, variant, threads, round_index):
    """Trains the PyTorch reference once; the first round also measures request latency."""
    suffix = f"-round{round_index + 1}" if round_index else ""
    out = os.path.join(work, f"torch-{variant}-t{threads}{suffix}.json")
    cmd = [sys.executable, os.path.join(BENCH, "torch_reference.py"), "--config", config, "--data", data,
           "--threads", str(threads), "--out", out]
    if round_index == 0:
        cmd += ["--requests", os.path.join(data, "requests.tsv"), "--latency-repeats", str(args.latency_repeats)]
    run(cmd, env=thread_env(threads))
    with open(out) as f:
        return json.load(f)


def write_json(path, results):
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch_version,
            "load_average": os.getloadavg()}


def markdown(results):
    def k(x):
        return f"{x / 1000:.1f}k"

    with open(os.path.join(BENCH, "configs", "variants.toml"), "rb") as f:
        order = list(tomllib.load(f))
    runs = sorted(results["runs"], key=lambda r: (order.index(r["variant"]) if r["variant"] in order else len(order),
                                                   r["threads"]))
    gemm = results["gemm_gflops"]
    lines = []
    m = results["machine"]
    lines.append(f"{results['date']}, {m['cpu']} ({m['cores']} cores, load average at start "
                 f"{', '.join(f'{x:.1f}' for x in m['load_average'])}), torch {m['torch']}, heed {results.get('heed_commit', '?')}, "
                 f"{results['data']['train_rows']:,} train / {results['data']['test_rows']:,} test rows, "
                 f"{results['epochs']} epoch(s). `{results['command']}`")
    lines.append("")
    lines.append("**Training** (samples/s; whole epochs, data in memory; \"with parsing\" adds reading the "
                 "training TSV into each engine's in-memory form) **and test AUC after the same epochs**")
    lines.append("")
    lines.append("| variant | threads | heed | torch | heed / torch | heed with parsing | torch with parsing "
                 "| heed AUC | torch AUC | Δ AUC |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        h, t = r["heed"], r["torch"]
        lines.append(f"| {r['variant']} | {r['threads']} | {k(h['train_samples_per_second'])} | "
                     f"{k(t['train_samples_per_second'])} | "
                     f"{h['train_samples_per_second'] / t['train_samples_per_second']:.2f}x | "
                     f"{k(h['train_samples_per_second_with_parsing'])} | {k(t['train_samples_per_second_with_parsing'])} | "
                     f"{h['test']['auc']:.4f} | {t['test']['auc']:.4f} | {h['test']['auc'] - t['test']['auc']:+.4f} |")
    repeated = [r for r in runs if r.get("rounds")]
    if repeated:
        lines.append("")
        lines.append("**Training speed by round** (both engines trained again each round, the engine that goes "
                     "first alternating; the table above is round 1)")
        lines.append("")
        lines.append("| variant | threads | heed / torch per round (first engine) | geometric mean | heed AUC per round "
                     "| torch AUC per round |")
        lines.append("|---|---:|---|---:|---|---|")
        for r in repeated:
            ratios = ", ".join(f"{g['heed_samples_per_second'] / g['torch_samples_per_second']:.2f}x ({g['first']})"
                               for g in r["rounds"])
            heed_aucs = ", ".join(f"{g['heed_auc']:.4f}" for g in r["rounds"])
            torch_aucs = ", ".join(f"{g['torch_auc']:.4f}" for g in r["rounds"])
            lines.append(f"| {r['variant']} | {r['threads']} | {ratios} | {r['ratio_geometric_mean']:.2f}x | "
                         f"{heed_aucs} | {torch_aucs} |")
    lines.append("")
    lines.append(f"**Inference** (samples/s at batch {runs[0]['heed']['inference_batch'] if runs else '?'}) "
                 "**and latency** of one request: one user's features and 50-item history with 100 candidate "
                 "movies (ms)")
    lines.append("")
    lines.append("| variant | threads | heed | torch | heed / torch | heed p50 | heed p99 | torch p50 | torch p99 |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        h, t = r["heed"], r["torch"]
        hl, tl = h.get("latency_ms") or {}, t.get("latency_ms") or {}
        lines.append(f"| {r['variant']} | {r['threads']} | {k(h['inference_samples_per_second'])} | "
                     f"{k(t['inference_samples_per_second'])} | "
                     f"{h['inference_samples_per_second'] / t['inference_samples_per_second']:.2f}x | "
                     f"{hl.get('p50', float('nan')):.2f} | {hl.get('p99', float('nan')):.2f} | "
                     f"{tl.get('p50', float('nan')):.2f} | {tl.get('p99', float('nan')):.2f} |")
    serving = [r for r in runs if r["heed"].get("serving_latency_ms")]
    if serving:
        lines.append("")
        lines.append("**Serving latency** of the same requests through `heed serve`'s scorer "
                     "(`serve::RequestScorer`, one thread whatever the run's thread count: the user's features, "
                     "history and first-layer share once per request), ms: the scorer alone (wall clock and this "
                     "thread's CPU time), and with the request's fields encoded; max |Δ| is the largest difference "
                     "to the plain path's scores")
        lines.append("")
        lines.append("| variant | p50 | p99 | CPU p50 | CPU p99 | with encoding p50 | with encoding p99 | max abs Δ |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        seen = set()
        for r in serving:
            if r["variant"] in seen:
                continue
            seen.add(r["variant"])
            s = r["heed"]["serving_latency_ms"]
            cpu = s.get("score_cpu", {})
            lines.append(f"| {r['variant']} | {s['score']['p50']:.3f} | {s['score']['p99']:.3f} | "
                         f"{cpu.get('p50', float('nan')):.3f} | {cpu.get('p99', float('nan')):.3f} | "
                         f"{s['request']['p50']:.3f} | {s['request']['p99']:.3f} | {s['max_abs_diff']:.1e} |")
    lines.append("")
    lines.append("**Measured fp32 GEMM rate** (1024×1024×1024 sgemm, best of 10, GFLOP/s; heed::gemm calls "
                 "OpenBLAS with one thread per product, so its N-thread figure is N products at once)")
    lines.append("")
    lines.append("| threads | numpy (OpenBLAS) | torch.mm | heed::gemm |")
    lines.append("|---:|---:|---:|---:|")
    for t, g in gemm.items():
        lines.append(f"| {t} | {g.get('numpy', float('nan')):.1f} | {g.get('torch', float('nan')):.1f} | "
                     f"{g.get('heed', g.get('eigen', float('nan'))):.1f} |")
    lines.append("")
    lines.append("**Model FLOPs and fraction of peak** (training: forward + backward = 3 × forward FLOPs per "
                 "sample, dense-layer work only; peak = the best measured sgemm rate at that thread count)")
    lines.append("")
    lines.append("| variant | threads | MFLOP/sample fwd | MFLOP/sample train | heed GFLOP/s | heed % of peak "
                 "| torch GFLOP/s | torch % of peak |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        f = r["flops_per_sample"]
        peak = max(v for v in gemm[str(r["threads"])].values())
        hg = r["heed"]["train_samples_per_second"] * f["train"] / 1e9
        tg = r["torch"]["train_samples_per_second"] * f["train"] / 1e9
        lines.append(f"| {r['variant']} | {r['threads']} | {f['forward'] / 1e6:.2f} | {f['train'] / 1e6:.2f} | "
                     f"{hg:.1f} | {100 * hg / peak:.1f}% | {tg:.1f} | {100 * tg / peak:.1f}% |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
