#!/usr/bin/python3
"""Projected throughput of `mpirun -np N heed train` beyond this machine (docs/distributed.md).

    bench/mpi_projection.py [--measured docs/perf/mpi.json] [--ranks 1,2,4,8,64,256]

A model of one step with sharded embedding rows, its terms taken from bench/mpi_scaling.sh's
runs: the 1-rank run's per-step breakdown (rank 0's), and the bytes per step from the runs
on several ranks:

  step(N) = update                       the dense Adam step and the Dice statistics on every
                                         rank (replicated work; the rows' share of it, on their
                                         owners, is counted here too, which overstates it)
          + (build + compute) / N        building and forward+backward of a 1/N share
          + 2 (N-1)/N * D / bandwidth    the dense sum: a reduce-scatter and an allgather of
                                         the D bytes of dense gradients (Communicator::sum)
          + R(N) / bandwidth             the rows' three all-to-alls (ids out, rows back,
                                         gradients out), R(N) bytes sent per rank
          + (2 + 6) (N-1) * latency      one message to each other rank per round: 2 rounds in
                                         the gradient sum, 2 per all-to-all (lengths, then
                                         bytes); training rows in memory (the benchmark's), whose
                                         step sizes every rank derives; streamed training adds
                                         2 rounds (a sum of the step's rows before each step)
          + overhead(N)                  nothing else: no straggler, no contention

  samples/s(N) = batch / step(N)

D comes from the runs (bytes sent minus the rows' bytes, over 2 (N-1)/N) and does not depend
on N. R(N) = (N-1)/N * ids(B/N) * (12 + 8 dim) for the ids a share of B/N rows reads: each
id asked for costs 8 bytes out, its row 4 dim back and its gradient 4 + 4 dim out. ids per
row of a share is taken from the run with the most ranks (ids = R / ((N-1)/N (12 + 8 dim)));
a smaller share repeats fewer ids, so at large N this is a little optimistic. Each network is
stated as a (bandwidth, latency) pair below; these are assumptions, not measurements.
"""
import argparse
import json

NETWORKS = [
    # name, bytes per second one rank can send, seconds per message
    ("25 GbE, TCP", 25e9 / 8 * 0.8, 20e-6),
    ("100 Gb/s InfiniBand", 100e9 / 8 * 0.9, 2e-6),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--measured", default="docs/perf/mpi.json")
    parser.add_argument("--ranks", default="1,2,4,8,64,256")
    parser.add_argument("--dim", type=int, default=16, help="embedding.dim of the measured model")
    args = parser.parse_args()
    runs = json.load(open(args.measured))["runs"]
    one = next(r for r in runs if r["ranks"] == 1)
    several = [r for r in runs if r["ranks"] > 1]
    batch = one["batch"]
    dense = max((r["bytes_sent_per_step"] - r["row_bytes_sent_per_step"]) / (2 * (r["ranks"] - 1) / r["ranks"])
                for r in several)
    widest = max(several, key=lambda r: r["ranks"])
    per_id = 12 + 8 * args.dim
    n_w = widest["ranks"]
    ids_per_row = widest["row_bytes_sent_per_step"] / ((n_w - 1) / n_w * per_id) / (batch / n_w)
    replicated = one["update_ms"] / 1e3
    divided = (one["build_ms"] + one["compute_ms"]) / 1e3
    print(f"measured at 1 rank: update {one['update_ms']:.2f} ms (replicated), build {one['build_ms']:.2f} ms + "
          f"forward+backward {one['compute_ms']:.2f} ms (divided), batch {batch}; dense gradients D = "
          f"{dense / 1e6:.3f} MB per step; {ids_per_row:.2f} distinct ids per row of a share at {n_w} ranks\n")
    for r in several:
        print(f"measured at {r['ranks']} ranks: {r['bytes_sent_per_step']:,} bytes sent per step by rank 0, "
              f"{r['row_bytes_sent_per_step']:,} of them rows")
    print()
    ranks = [int(n) for n in args.ranks.split(",")]
    header = "| ranks | rows per rank | " + " | ".join(f"{name}: step ms, samples/s, comm share" for name, _, _ in NETWORKS) + " |"
    print(header)
    print("|" + "---|" * (2 + len(NETWORKS)))
    for n in ranks:
        cells = []
        rows_bytes = 0.0 if n == 1 else (n - 1) / n * ids_per_row * (batch / n) * per_id
        for _, bandwidth, latency in NETWORKS:
            comm = 0.0 if n == 1 else 2 * (n - 1) / n * dense / bandwidth + rows_bytes / bandwidth + 8 * (n - 1) * latency
            step = replicated + divided / n + comm
            cells.append(f"{step * 1e3:.2f}, {batch / step:,.0f}, {comm / step:.0%}")
        print(f"| {n} | {batch / n:g} | " + " | ".join(cells) + " |")
    print(f"\nceiling whatever N: batch / update = {batch / replicated:,.0f} samples/s (the replicated work)")


if __name__ == "__main__":
    main()
