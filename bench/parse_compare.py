#!/usr/bin/python3
"""Parse throughput: heed's streaming reader next to pandas read_csv, on the same files in one run.

    bash bench/parse_bench.sh --rows 1000000

Writes a Criteo-like file (label, 13 counts, 26 hex categories) as TSV, CSV, libSVM and gzip'd
TSV with `parse_bench --make`, then times, best of --repeats:
  heed    parse_bench --file F --format FMT --threads T: reading, decompressing, splitting,
          parsing numbers, bucketizing and hashing every value into training rows, with T parsing
          threads (plus one reading thread)
  pandas  pandas.read_csv(F, sep=...) with its C engine (one thread): typed columns, no hashing.
          pandas has no libSVM reader, so that row has no pandas figure.
Prints a Markdown table: rows/s and MB/s per thread (MB of the file as stored, 10^6 bytes), and
heed's rows/s over pandas'.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import pandas


def heed(binary, path, fmt, threads, repeats):
    out = subprocess.run([binary, "--file", path, "--format", fmt, "--threads", str(threads),
                          "--repeats", str(repeats)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def pandas_read(path, sep, repeats):
    best = float("inf")
    rows = 0
    for _ in range(repeats):
        start = time.perf_counter()
        frame = pandas.read_csv(path, sep=sep, engine="c", low_memory=False)
        best = min(best, time.perf_counter() - start)
        rows = len(frame)
    return {"rows": rows, "seconds": best, "file_bytes": os.path.getsize(path)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    binary = os.path.join(args.build, "parse_bench")
    threads = [int(t) for t in args.threads.split(",")]
    with tempfile.TemporaryDirectory(prefix="heed_parse_bench_") as folder:
        subprocess.run([binary, "--make", folder, "--rows", str(args.rows)], check=True)
        files = {"tsv": ("rows.tsv", "\t"), "csv": ("rows.csv", ","), "libsvm": ("rows.libsvm", None),
                 "gzip": ("rows.tsv.gz", "\t")}
        print(f"{args.rows:,} rows; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
        print("| input | file MB | reader | threads | rows/s per thread | MB/s per thread | heed / pandas (rows/s) |")
        print("|---|---|---|---|---|---|---|")
        for fmt, (name, sep) in files.items():
            path = os.path.join(folder, name)
            base = pandas_read(path, sep, args.repeats) if sep else None
            size = os.path.getsize(path) / 1e6
            for t in threads:
                r = heed(binary, path, fmt, t, args.repeats)
                assert r["rows"] == args.rows, r
                rate = r["rows"] / r["seconds"]
                ratio = f"{rate / (base['rows'] / base['seconds']):.2f}" if base else "n/a"
                print(f"| {fmt} | {size:.0f} | heed | {t} | {rate / t:,.0f} | {size / r['seconds'] / t:.1f} | {ratio} |")
            if base:
                assert base["rows"] == args.rows, base
                print(f"| {fmt} | {size:.0f} | pandas | 1 | {base['rows'] / base['seconds']:,.0f} | "
                      f"{size / base['seconds']:.1f} | |")


if __name__ == "__main__":
    main()
