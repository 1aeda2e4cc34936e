#!/usr/bin/env python3
"""Test AUC of trained models in each scoring precision, and its change against fp32
(docs/performance.md, "Reduced precision scoring").

    python3 bench/precision_auc.py --data TEST_FILE RUN_DIR...   (e.g. runs trained with seeds 1-3)

Prints, per run and precision, the test AUC, its change against the same model in fp32, gAUC and
logloss (`heed eval --precision P --threads 1`), then per precision the mean and the range of
the change over the runs. HEED (default build/heed) is the binary.
"""
import argparse
import json
import os
import subprocess

PRECISIONS = ["fp32", "bf16", "int8"]


def evaluate(heed, run, data, precision):
    out = subprocess.run([heed, "eval", os.path.join(run, "model"), "--data", data, "--threads", "1",
                          "--precision", precision], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="labeled test file")
    parser.add_argument("runs", nargs="+", help="run folders (RUN/model is read)")
    args = parser.parse_args()
    heed = os.environ.get("HEED", "build/heed")
    fmt = lambda v: "-" if v is None else f"{v:.5f}"
    changes = {p: [] for p in PRECISIONS}
    print(f"{'run':<30} {'precision':<9} {'auc':<8} {'d_auc':<9} {'gauc':<8} logloss")
    for run in args.runs:
        base = None
        for p in PRECISIONS:
            m = evaluate(heed, run, args.data, p)
            base = m["auc"] if base is None else base
            changes[p].append(m["auc"] - base)
            print(f"{run:<30} {p:<9} {m['auc']:<8.5f} {m['auc'] - base:<+9.5f} {fmt(m['gauc']):<8} {fmt(m['logloss'])}")
    for p in PRECISIONS[1:]:
        c = changes[p]
        print(f"{p}: AUC change mean {sum(c) / len(c):+.5f}, from {min(c):+.5f} to {max(c):+.5f} over {len(c)} runs")


if __name__ == "__main__":
    main()
