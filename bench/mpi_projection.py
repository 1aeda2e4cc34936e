#!/usr/bin/python3
"""Projected throughput of `mpirun -np N heed train` beyond this machine (docs/distributed.md).

    bench/mpi_projection.py [--measured docs/perf/mpi.json] [--ranks 1,2,4,8,64,256]

A model of one step, with its terms taken from the 1-rank run of bench/mpi_scaling.sh (rank
0's per-step breakdown) and the bytes per step from the runs on several ranks:

  step(N) = build + update                 every rank builds the whole batch and updates every
                                           touched row and dense weight (replicated work)
          + compute / N                    forward+backward on a 1/N share of the batch
          + 2 (N-1)/N * V / bandwidth      the sum: a reduce-scatter and an allgather of the
                                           gradient vector of V bytes (heed's Communicator::sum)
          + 2 (N-1) * latency              one message to each other rank in each half
          + overhead(N)                    nothing else: no straggler, no contention

  samples/s(N) = batch / step(N)

V (dense gradients + the touched embedding rows' gradients) does not depend on N: the global
batch is the same on every N. Each network is stated as a (bandwidth, latency) pair below;
these are assumptions, not measurements.
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
    args = parser.parse_args()
    runs = json.load(open(args.measured))["runs"]
    one = next(r for r in runs if r["ranks"] == 1)
    several = [r for r in runs if r["ranks"] > 1]
    # bytes sent per step = 2 (N-1)/N * V  ->  V
    vector = max(r["bytes_sent_per_step"] / (2 * (r["ranks"] - 1) / r["ranks"]) for r in several)
    batch = one["batch"]
    replicated = (one["build_ms"] + one["update_ms"]) / 1e3
    compute = one["compute_ms"] / 1e3
    print(f"measured at 1 rank: build {one['build_ms']:.2f} ms + update {one['update_ms']:.2f} ms (replicated), "
          f"forward+backward {one['compute_ms']:.2f} ms (divided), batch {batch}; gradient vector V = "
          f"{vector / 1e6:.2f} MB per step\n")
    ranks = [int(n) for n in args.ranks.split(",")]
    header = "| ranks | rows per rank | " + " | ".join(f"{name}: step ms, samples/s, comm share" for name, _, _ in NETWORKS) + " |"
    print(header)
    print("|" + "---|" * (2 + len(NETWORKS)))
    for n in ranks:
        cells = []
        for _, bandwidth, latency in NETWORKS:
            comm = 0.0 if n == 1 else 2 * (n - 1) / n * vector / bandwidth + 2 * (n - 1) * latency
            step = replicated + compute / n + comm
            cells.append(f"{step * 1e3:.2f}, {batch / step:,.0f}, {comm / step:.0%}")
        print(f"| {n} | {batch / n:g} | " + " | ".join(cells) + " |")
    limit = batch / replicated
    print(f"\nceiling whatever N: batch / (build + update) = {limit:,.0f} samples/s (the replicated work)")


if __name__ == "__main__":
    main()
