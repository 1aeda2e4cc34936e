#!/usr/bin/python3
"""The Python module's costs (docs/python.md): reading rows from a pandas DataFrame against
reading the same rows from their TSV file, both into the Dataset that training and prediction
batch from; and /v1/score-style scoring from several Python threads at once.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_frames.py --rows 200000

It writes demo data with heed.synth (bench-data/python-frames/), reads train.tsv into a typed
DataFrame once (ints, floats, lists for the multi and sequence fields: what a user holds), then
runs --repeats rounds of each in turn (the best of each is printed, and each round's ratio):
  tsv       heed reading train.tsv (the file is in the page cache after the first run)
  frame     heed reading the DataFrame: cells from the Python objects (lists hashed as they are
            read), then the same row parser
and, with a model trained for one epoch, the scores per second of one model shared by 1..N
threads each sending requests of 100 candidates.
"""
import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import pandas as pd

import heed
from heed import _heed

ROOT = Path(__file__).resolve().parents[1]


def best_of(repeats, work):
    """(CPU seconds, wall seconds) of the fastest of `repeats` runs: on a shared machine the
    process's CPU time is the steadier figure for single-threaded work."""
    times = []
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        work()
        times.append((time.process_time() - cpu, time.perf_counter() - wall))
    return min(times)


def typed_frame(path):
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    for column in ("item_tags", "hist_item_ids", "hist_categories"):
        df[column] = [cell.split("|") if cell else [] for cell in df[column]]
    for column in ("label", "hour"):
        df[column] = df[column].astype(int)
    return df


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="most scoring threads")
    parser.add_argument("--out", default=str(ROOT / "bench-data" / "python-frames"))
    parser.add_argument("--no-scoring", action="store_true", help="only the DataFrame against TSV figures")
    args = parser.parse_args()

    data = Path(args.out) / "data"
    if not (data / "train.tsv").exists():
        heed.synth(data, rows=args.rows, seed=1)
    config = heed.Config.load(ROOT / "examples/synth/config.toml").set("data.dir", str(data))
    native = config._native
    df = typed_frame(data / "train.tsv")
    rows = len(df)

    print(f"{rows} rows, {len(df.columns)} columns; {args.repeats} rounds, CPU seconds of this process "
          f"(wall seconds in brackets)")
    for mode, scoring in (("training reads (labels)", False), ("prediction reads", True)):
        # Round by round, the file then the frame, so that both meet the same state of a shared
        # machine; the ratio of each round, and their median, besides the best of each.
        tsv_runs, cells_runs, rows_runs, ratios = [], [], [], []
        for _ in range(args.repeats):
            tsv = best_of(1, lambda: _heed.read_rows(native, str(data / "train.tsv"), scoring))
            table = None

            def make_table():
                nonlocal table
                table = heed._table(native, df, "train")

            cells = best_of(1, make_table)
            parse = best_of(1, lambda: _heed.read_table(native, table, scoring))
            tsv_runs.append(tsv), cells_runs.append(cells), rows_runs.append(parse)
            ratios.append((cells[0] + parse[0]) / tsv[0])
            del table
        tsv, cells, parse = min(tsv_runs), min(cells_runs), min(rows_runs)
        print(f"  {mode}:")
        print(f"    tsv    {tsv[0]:.3f} s ({tsv[1]:.3f})   {rows / tsv[0]:,.0f} rows/s")
        frame = (cells[0] + parse[0], cells[1] + parse[1])
        print(f"    frame  {frame[0]:.3f} s ({frame[1]:.3f})   {rows / frame[0]:,.0f} rows/s "
              f"(cells {cells[0]:.3f} s + rows {parse[0]:.3f} s)")
        print(f"    frame / tsv = {frame[0] / tsv[0]:.2f} best over best ({frame[1] / tsv[1]:.2f} wall); "
              f"per round median {statistics.median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f}")

    if args.no_scoring:
        return
    run_dir = Path(args.out) / "run"
    if not (run_dir / "model").exists():
        heed.train(config.copy().set("train.epochs", 1), out=run_dir, overwrite=True, progress=False)
    model = heed.load(run_dir / "model")
    test = typed_frame(data / "test.tsv")
    user_fields = ["user_id", "user_group", "age", "gender", "city", "hour", "hist_item_ids", "hist_categories"]
    requests = []
    for start in range(0, min(len(test), 100 * 40), 100):
        chunk = test.iloc[start:start + 100]
        user = {f: chunk.iloc[0][f] for f in user_fields}
        candidates = [{f: r[f] for f in model.fields if f not in user_fields} for _, r in chunk.iterrows()]
        requests.append((user, candidates))
    print(f"scoring: {len(requests)} requests of 100 candidates per thread, one shared model")
    for threads in sorted({1, 2, args.threads}):
        def work():
            for user, candidates in requests:
                model.score(user=user, candidates=candidates)

        def all_threads():
            pool = [threading.Thread(target=work) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()

        seconds = best_of(args.repeats, all_threads)[1]
        print(f"  {threads} threads: {threads * len(requests) * 100 / seconds:,.0f} candidates/s")
    print(f"(machine: {os.cpu_count()} cores; {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
