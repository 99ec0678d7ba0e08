"""The real-model search: ``paretodet search`` on the COCO YOLOv5n and coco128 with the balanced preset.

Runs the CLI as a user would (``--trials 16`` by default, the default space, verification at the end), then
prints every trial (probe or sampled, config, verified mAP50-95 and latency ratio, on the front or not) and the
issue's checks: the reference probe's input size, whether a 640-px trial is on the front, and the trials below
0.05 mAP50-95 that are not probes of a technique alone.

Usage: python benchmarks/yolov5_search.py [--workdir DIR] [--trials 16]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from paretodet.base import cpu_model
from paretodet.reports import build_info, config_summary
from paretodet.search import load_trials

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODEL, DATA = SHARED / "models" / "yolov5n-coco.pt", SHARED / "data" / "coco128" / "data.yaml"
FLOOR = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/paretodet-v5search"))
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    start = time.perf_counter()
    if not (args.workdir / "study.db").is_file():
        subprocess.run(
            [sys.executable, "-m", "paretodet.cli", "search", "--model", str(MODEL), "--data", str(DATA),
             "--trials", str(args.trials), "--workdir", str(args.workdir)],
            check=True,
        )  # fmt: skip
    wall = time.perf_counter() - start
    df, manifest = load_trials(args.workdir)
    info = build_info(df)
    front = set(info.front["number"].astype(int))
    done = df[df["state"] == "COMPLETE"].sort_values("number")
    print(f"CPU: {cpu_model()}; balanced preset, {len(done)} completed trials, wall {wall:.0f} s (0 if reused)")
    for note in manifest.get("space_notes") or []:
        print(f"- space: {note}")
    probes = done["probe"].notna() & ~done["probe"].astype(str).isin(["", "nan", "None"])
    print("\n| trial | probe | config | mAP50-95 | latency ratio | front |")
    print("|---|---|---|---|---|---|")
    for _, row in done.iterrows():
        probe = str(row["probe"]) if probes[row.name] else ""
        ratio = row.get("latency_ratio", float("nan"))
        print(
            f"| {int(row['number'])} | {probe} | {config_summary(row.to_dict())} | {row['map50_95']:.4f} | "
            f"{ratio:.3f} | {'yes' if int(row['number']) in front else ''} |"
        )
    originals = done[done["probe"].astype(str) == "original"]
    low = done[(done["map50_95"] < FLOOR) & ~probes]
    print(f"\nreference probe at {sorted(set(originals['imgsz'].astype(int)))} px")
    print(f"front trials at 640 px: {sorted(int(n) for n in done[done['imgsz'] == 640]['number'] if int(n) in front)}")
    print(f"trials below {FLOOR} mAP50-95 that are not probes: {sorted(int(n) for n in low['number'])}")


if __name__ == "__main__":
    main()
