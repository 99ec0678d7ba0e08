"""One-shot structured pruning (no recovery epochs) against the ratio: where each family's models stop being
useful. The families' ``one_shot_prune_limit`` is the largest ratio at which every structured method keeps at
least half the original mAP50-95 (a search samples no one-shot structured pruning above it).

Models: the demo YOLOv8n teacher (Ultralytics family) at 320 px on the demo val split, and the COCO YOLOv5n
(YOLOv5 family) at 640 px on coco128's 128 val2017 photos. Prints mAP50-95 per method and ratio.

Usage: python benchmarks/one_shot_limit.py [--workdir DIR] [--ratios 0.05 0.1 0.2 0.3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _demo import demo_workdir

from paretodet.base import cpu_model
from paretodet.objectives import EvalSettings, LatencySettings
from paretodet.search import build_and_measure, load_model_and_data
from paretodet.spaces import Candidate

SHARED = Path(__file__).resolve().parents[2] / "shared"
METHODS = ("l1", "l2", "fpgm", "taylor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/paretodet-one-shot"))
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3])
    args = parser.parse_args()
    _, demo_data = demo_workdir(args.workdir / "demo", "one-shot")
    from paretodet.models import demo_teacher_path

    cases = [("ultralytics: demo YOLOv8n", str(demo_teacher_path()), demo_data, 320)]
    v5, coco = SHARED / "models" / "yolov5n-coco.pt", SHARED / "data" / "coco128" / "data.yaml"
    if v5.is_file() and coco.is_file():
        cases.append(("yolov5: COCO YOLOv5n", str(v5), coco, 640))
    settings = EvalSettings(threads=2, latency=LatencySettings(warmup=1, runs=30))
    print(f"CPU: {cpu_model()}; mAP50-95 after one-shot structured pruning (no recovery)")
    for name, model, data, imgsz in cases:
        detector, info = load_model_and_data(model, data)
        work = args.workdir / name.split(":")[0]
        _, base = build_and_measure(Candidate(imgsz=imgsz), detector, info, workdir=work, settings=settings)
        print(f"\n{name} at {imgsz} px on {base.eval_images} val images: original {base.map50_95:.4f}")
        print("| method | " + " | ".join(f"{r:g}" for r in args.ratios) + " |")
        print("|---|" + "---|" * len(args.ratios))
        for method in METHODS:
            cells = []
            for ratio in args.ratios:
                cand = Candidate.from_dict({"imgsz": imgsz, "prune.method": method, "prune.ratio": ratio})
                _, metrics = build_and_measure(cand, detector, info, workdir=work, settings=settings)
                cells.append(f"{metrics.map50_95:.4f} ({metrics.map50_95 / base.map50_95:.0%})")
            print(f"| {method} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
