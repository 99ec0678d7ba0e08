"""Ratio stability: the same latency ratio measured by five separate `paretodet compare` runs (interleaved rounds)
and by five pairs of separate `paretodet apply` runs (each artifact timed in its own process), on the demo.

Pairs: the demo teacher FP32 vs INT8 at 320 px; the original vs L2 0.3 one-shot pruned at 640 px. Prints each run's
ratio, and the coefficient of variation (std / mean) of the five ratios per method (target for compare: <= 0.03).

Usage: python benchmarks/ratio_stability.py [--workdir DIR] [--runs 5] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from _demo import demo_workdir

from paretodet.base import cpu_model
from paretodet.models import demo_teacher_path

PAIRS = {
    "FP32 vs INT8 @320": ({"imgsz": 320}, {"imgsz": 320, "quant.precision": "int8"}),
    "original vs L2 0.3 one-shot @640": ({"imgsz": 640}, {"imgsz": 640, "prune.method": "l2", "prune.ratio": 0.3}),
}


def _cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "paretodet.cli", *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"paretodet {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def _apply(data: Path, knobs: dict[str, object], out: Path) -> dict[str, float]:
    sets = [x for k, v in knobs.items() for x in ("--set", f"{k}={v}")]
    _cli("apply", str(demo_teacher_path()), "--data", str(data), "--out", str(out), *sets)
    return json.loads((out / "metrics.json").read_text())


def _cv(values: list[float]) -> float:
    return statistics.pstdev(values) / statistics.mean(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    work, data = demo_workdir(args.workdir, "paretodet-ratios-")
    print(f"CPU: {cpu_model()}; {args.runs} runs per method; compare: {args.rounds} interleaved rounds")
    for name, (ref_knobs, other_knobs) in PAIRS.items():
        slug = name.split(" @")[0].replace(" ", "_")
        applied: list[float] = []
        for _ in range(args.runs):  # each artifact built (cached after the first) and timed in its own process
            ref = _apply(data, ref_knobs, work / slug / "ref")
            other = _apply(data, other_knobs, work / slug / "other")
            applied.append(other["latency_ms"] / ref["latency_ms"])
        compared: list[tuple[float, float, float]] = []
        ref_file, other_file = work / slug / "ref" / "model.onnx", work / slug / "other" / "model.onnx"
        for _ in range(args.runs):
            out = json.loads(
                _cli("compare", str(ref_file), str(other_file), "--data", str(data), "--rounds", str(args.rounds),
                     "--json")
            )  # fmt: skip
            row = out["items"][1]
            compared.append((row["latency_ratio"], row["ratio_low"], row["ratio_high"]))
        print(f"\n{name}")
        print(f"{'run':>4} {'apply ratio':>12} {'compare ratio [95% CI]':>28}")
        for i, (a, (c, lo, hi)) in enumerate(zip(applied, compared), 1):
            print(f"{i:>4} {a:>12.3f} {c:>12.3f} [{lo:.3f}, {hi:.3f}]")
        print(f" CV  {_cv(applied):>12.4f} {_cv([c for c, _, _ in compared]):>12.4f}")


if __name__ == "__main__":
    main()
