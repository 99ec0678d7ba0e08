"""Latency of several artifacts measured interleaved (A B C A B C ...), for ratios that survive a noisy VM.

Usage: python benchmarks/latency_ab.py NAME=PATH [NAME=PATH ...] [--runs 60] [--threads 2]

Each PATH is an artifact with its sidecar (.onnx or .pt built by paretodet). Every round times one call of
each artifact in turn, so slow phases of a shared machine hit all of them alike; the table gives each one's
median and its ratio to the first.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from paretodet.runtimes import Artifact, open_runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", nargs="+", help="NAME=PATH")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    named = [item.split("=", 1) for item in args.artifacts]
    artifacts = {name: Artifact.read_sidecar(Path(path)) for name, path in named}
    runners = {name: open_runner(art, threads=args.threads) for name, art in artifacts.items()}
    inputs = {
        name: np.random.default_rng(0).random((1, 3, a.imgsz, a.imgsz), dtype=np.float32)
        for name, a in artifacts.items()
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    for name, runner in runners.items():
        for _ in range(10):
            runner(inputs[name])
    for _ in range(args.runs):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner(inputs[name])
            times[name].append((time.perf_counter() - start) * 1000)
    first = statistics.median(next(iter(times.values())))
    print(f"interleaved, {args.runs} rounds, {args.threads} threads\n")
    print("| artifact | imgsz | precision | params | median ms | vs first |\n|---|---|---|---|---|---|")
    for name, values in times.items():
        art = artifacts[name]
        median = statistics.median(values)
        print(f"| {name} | {art.imgsz} | {art.precision} | {art.params:,} | {median:.2f} | {median / first:.2f}x |")


if __name__ == "__main__":
    main()
