#!/usr/bin/env python3
"""Mixed-precision training (train.precision): heed's training samples/s in fp32 and bf16 against
the independent PyTorch reference (../shared/reference/torch_rm.py) in one run, and the test AUC
of fp32 and bf16 heed over several seeds (docs/performance.md, "Mixed-precision training").

    /usr/bin/python3 bench/train_precision.py [--rows 1000000] [--rounds 2] [--threads 2]
        [--seconds 20] [--seeds 1,2,3] [--datasets demo,ml-100k] [--skip-speed] [--skip-auc]
        [--out FILE.json] | --table FILE.json

Speed: the reference's data (`torch_rm.py gen`, split 90/10 by position into train.tsv and
test.tsv), heed's twin config of it (torch_rm.toml) trained one epoch per precision with
`train.threads` T (samples/s from metrics.json: whole epochs, batch building included), and
`torch_rm.py bench --variants rm --threads T --batches 1024 --seconds S --no-infer`
(steady-state training samples/s), taking turns: odd rounds run heed fp32, heed bf16, PyTorch;
even rounds PyTorch, heed bf16, heed fp32. Ratios are the rounds' geometric means.

AUC: examples/synth/config.toml on `heed synth --rows 200000 --seed 1` and
examples/ml-100k/config.toml on `heed prepare ml-100k` (../shared/datasets/ml-100k/original),
each trained with train.seed in --seeds and each precision (--threads T), test AUC from
metrics.json; the change bf16 - fp32 per seed, its mean and range.

HEED (default build/heed) is the binary; data goes under bench-data/, runs under bench-runs/.
PyTorch runs with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp (see
docs/performance.md).
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

REFERENCE = "../shared/reference"
PRECISIONS = ["fp32", "bf16"]


def run(cmd, env=None, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, env=env, **kw)


def child_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def heed_train(heed, config, data_dir, out, threads, precision, seed=None, extra=()):
    cmd = [heed, "train", config, "--set", f"data.dir={data_dir}", "--set", f"train.threads={threads}",
           "--set", f'train.precision="{precision}"', "--set", 'train.progress="none"', "--out", out, "--overwrite"]
    if seed is not None:
        cmd += ["--set", f"train.seed={seed}"]
    for e in extra:
        cmd += ["--set", e]
    cpu = child_cpu_seconds()
    run(cmd, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    # The whole run's CPU seconds (reading, training, the test scoring): on a loaded machine the
    # steadier figure than wall-clock samples/s.
    metrics["cpu_seconds"] = child_cpu_seconds() - cpu
    return metrics


def reference_data(rows):
    data = f"bench-data/rm{rows}"
    if not os.path.exists(os.path.join(data, "test.tsv")):
        os.makedirs(data, exist_ok=True)
        run([sys.executable, f"{REFERENCE}/torch_rm.py", "gen", "--out", f"{data}/all.tsv", "--rows", str(rows)])
        with open(f"{data}/all.tsv") as f:
            header = f.readline()
            lines = f.readlines()
        cut = len(lines) * 9 // 10
        with open(f"{data}/train.tsv", "w") as f:
            f.write(header)
            f.writelines(lines[:cut])
        with open(f"{data}/test.tsv", "w") as f:
            f.write(header)
            f.writelines(lines[cut:])
    return data


OPENMP_BLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def torch_samples_per_second(data, threads, seconds, out):
    # Without the OpenMP build of OpenBLAS, torch's products run on the pthread build, whose own
    # threads fight torch's OpenMP threads: PyTorch at about half its speed, and every ratio doubled.
    if not os.path.exists(os.path.join(OPENMP_BLAS, "libblas.so.3")):
        sys.exit(f"{OPENMP_BLAS} is missing: apt-get install libopenblas0-openmp (the reference runs PyTorch on it)")
    env = dict(os.environ, LD_LIBRARY_PATH=OPENMP_BLAS, OMP_NUM_THREADS=str(threads))
    run([sys.executable, f"{REFERENCE}/torch_rm.py", "bench", "--data", f"{data}/all.tsv", "--variants", "rm",
         "--threads", str(threads), "--batches", "1024", "--seconds", str(seconds), "--no-infer", "--json", out],
        env=env, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)["train"][0]["sps"]


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def speed(args, heed, result):
    data = reference_data(args.rows)
    runs = f"bench-runs/train-precision/{args.rows}"
    os.makedirs(runs, exist_ok=True)
    rounds = []
    for r in range(1, args.rounds + 1):
        order = ["fp32", "bf16", "torch"] if r % 2 else ["torch", "bf16", "fp32"]
        got = {"round": r, "first": order[0]}
        for what in order:
            if what == "torch":
                got["torch"] = torch_samples_per_second(data, args.threads, args.seconds, f"{runs}/torch-{r}.json")
            else:
                m = heed_train(heed, f"{REFERENCE}/torch_rm.toml", data, f"{runs}/{what}-{r}", args.threads, what)
                got[what] = m["history"][-1]["samples_per_second"]
                got[f"{what}_auc"] = m["test"]["auc"]
                got[f"{what}_cpu_seconds"] = m["cpu_seconds"]
        rounds.append(got)
        print(json.dumps(got), flush=True)
    result["speed"] = {"rows": args.rows, "threads": args.threads, "rounds": rounds,
                       "fp32_over_torch": geomean([g["fp32"] / g["torch"] for g in rounds]),
                       "bf16_over_torch": geomean([g["bf16"] / g["torch"] for g in rounds]),
                       "bf16_over_fp32": geomean([g["bf16"] / g["fp32"] for g in rounds]),
                       "fp32_over_bf16_cpu": geomean([g["fp32_cpu_seconds"] / g["bf16_cpu_seconds"] for g in rounds])}


def auc(args, heed, result):
    seeds = [int(s) for s in args.seeds.split(",")]
    demo = "bench-data/demo-200000"
    if "demo" in args.datasets.split(",") and not os.path.exists(f"{demo}/test.tsv"):
        run([heed, "synth", "--out", demo, "--rows", "200000", "--seed", "1"], stdout=subprocess.DEVNULL)
    ml = "bench-data/ml-100k"
    wanted = args.datasets.split(",")
    datasets = [("demo", "examples/synth/config.toml", demo)] if "demo" in wanted else []
    source = "../shared/datasets/ml-100k/original"
    if "ml-100k" not in wanted:
        pass
    elif os.path.exists(source):
        if not os.path.exists(f"{ml}/test.tsv"):
            run([heed, "prepare", "ml-100k", "--source", source, "--out", ml], stdout=subprocess.DEVNULL)
        datasets.append(("ml-100k", "examples/ml-100k/config.toml", ml))
    else:
        print(f"{source} is absent: ml-100k skipped", flush=True)
    rows = []
    for name, config, data in datasets:
        for seed in seeds:
            row = {"data": name, "seed": seed}
            for p in PRECISIONS:
                m = heed_train(heed, config, data, f"bench-runs/train-precision/{name}-s{seed}-{p}", args.threads, p,
                               seed=seed)
                row[p] = m["test"]["auc"]
            row["change"] = row["bf16"] - row["fp32"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    result["auc"] = rows


def print_tables(result):
    if "speed" in result:
        s = result["speed"]
        print(f"\nTraining samples/s, {s['rows']:,} rows (90% trained, one epoch), {s['threads']} threads")
        print("| round | first | heed fp32 | heed bf16 | PyTorch | fp32 / PyTorch | bf16 / PyTorch | bf16 / fp32 "
              "| CPU s fp32 | CPU s bf16 | AUC fp32 | AUC bf16 |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for g in s["rounds"]:
            print(f"| {g['round']} | {g['first']} | {g['fp32']:,.0f} | {g['bf16']:,.0f} | {g['torch']:,.0f} | "
                  f"{g['fp32'] / g['torch']:.2f}x | {g['bf16'] / g['torch']:.2f}x | {g['bf16'] / g['fp32']:.3f} | "
                  f"{g.get('fp32_cpu_seconds', 0):.1f} | {g.get('bf16_cpu_seconds', 0):.1f} | "
                  f"{g['fp32_auc']:.4f} | {g['bf16_auc']:.4f} |")
        cpu = s.get("fp32_over_bf16_cpu")
        print(f"| geometric mean | | | | | {s['fp32_over_torch']:.2f}x | {s['bf16_over_torch']:.2f}x | "
              f"{s['bf16_over_fp32']:.3f} | fp32 / bf16: {cpu or 0:.3f} | | | |")
    if "auc" in result:
        print("\nTest AUC, fp32 and bf16 training")
        print("| data | seed | fp32 | bf16 | bf16 - fp32 |")
        print("|---|---:|---:|---:|---:|")
        for r in result["auc"]:
            print(f"| {r['data']} | {r['seed']} | {r['fp32']:.5f} | {r['bf16']:.5f} | {r['change']:+.5f} |")
        for name in sorted({r["data"] for r in result["auc"]}):
            c = [r["change"] for r in result["auc"] if r["data"] == name]
            print(f"{name}: bf16 - fp32 mean {sum(c) / len(c):+.5f}, from {min(c):+.5f} to {max(c):+.5f} "
                  f"over {len(c)} seeds")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0, help="PyTorch's timed stretch per run")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--datasets", default="demo,ml-100k", help="the AUC part's data: demo, ml-100k or both")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-auc", action="store_true")
    parser.add_argument("--out", help="write the results as JSON")
    parser.add_argument("--table", help="print the tables of an earlier --out file and stop")
    args = parser.parse_args()
    if args.table:
        with open(args.table) as f:
            print_tables(json.load(f))
        return
    heed = os.environ.get("HEED", "build/heed")
    result = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "load_average": os.getloadavg()}
    if not args.skip_speed:
        speed(args, heed, result)
    if not args.skip_auc:
        auc(args, heed, result)
    result["load_average_after"] = os.getloadavg()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    print_tables(result)


if __name__ == "__main__":
    main()
