"""Latency repeatability: run `paretodet evaluate --json` N times and report the spread of the medians.

Usage: python benchmarks/latency_repeatability.py [--repeats 3] [--imgsz 320] [--runtime onnxruntime]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from paretodet.data import synthesize
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--runtime", default="onnxruntime")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = synthesize(Path(tmp) / "data", DEMO_DATA_SPEC, splits=("val",))
        os.sync()  # flush the freshly written images first: disk write-back competes with the first timed run
        results = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "paretodet.cli",
                    "evaluate",
                    str(demo_teacher_path()),
                    "--data",
                    str(data),
                    "--imgsz",
                    str(args.imgsz),
                    "--runtime",
                    args.runtime,
                    "--threads",
                    str(args.threads),
                    "--json",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results.append(json.loads(out))
    print(f"{'run':>4}{'latency_ms':>12}{'p90_ms':>10}{'cv':>8}{'e2e_ms':>10}{'mAP50-95':>10}")
    for i, r in enumerate(results, 1):
        print(
            f"{i:>4}{r['latency_ms']:>12.2f}{r['latency_p90_ms']:>10.2f}{r['latency_cv']:>8.3f}"
            f"{r['e2e_latency_ms']:>10.2f}{r['map50_95']:>10.4f}"
        )
    medians = [r["latency_ms"] for r in results]
    cv = statistics.pstdev(medians) / statistics.mean(medians)
    print(
        f"CV of the median latency across {args.repeats} evaluate runs: {cv:.3f} "
        f"(within-run CV mean {statistics.mean(r['latency_cv'] for r in results):.3f})"
    )


if __name__ == "__main__":
    main()
