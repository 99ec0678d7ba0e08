"""The official COCO-pretrained YOLOv5n on real COCO photos: FP32 / FP16 / INT8 on ONNX Runtime.

Usage: python benchmarks/yolov5_coco.py [--shared ../shared] [--workdir DIR] [--imgsz 640] [--search-trials 12]

Model ``models/yolov5n-coco.pt`` and data ``data/coco128`` from the shared folder (read-only): INT8 calibrates
on the 128 train2017 photos, everything is scored on the 128 val2017 photos. mAP50-95 / mAP50 by pycocotools;
the FP32 row is also scored by Ultralytics' metrics over the same predictions (a second route). Latency:
ONNX Runtime, batch 1, 2 threads, median of 50 runs. Then a search over the quantization knobs (the model
has no training loss in paretodet, so the search samples no training knob) and its Pareto front.

Artifacts are cached in the work dir: a second run only measures (run it on an idle machine for latency).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from paretodet.data import load_data_yaml, read_truth, split_images
from paretodet.models import load_detector
from paretodet.objectives import EvalSettings, coco_map, evaluate, predict, ultralytics_map
from paretodet.runtimes import open_runner
from paretodet.search import SearchConfig, build, load_trials, run_study
from paretodet.spaces import Candidate, Knob, SearchSpace

INT8_GRID = [
    {"quant.calibration": cal, "quant.per_channel": pc, "quant.fp_layers": fp}
    for cal in ("minmax", "percentile")
    for pc in (False, True)
    for fp in (0, 2)
]


def quant_space(imgsz: int) -> SearchSpace:
    """Input size and every quantization knob (no QAT: this model cannot be trained here)."""
    int8 = (("quant.precision", ("int8",)),)
    return SearchSpace(
        knobs=(
            Knob("imgsz", choices=(imgsz // 2, 3 * imgsz // 4 // 32 * 32, imgsz)),
            Knob("quant.precision", choices=("fp32", "fp16", "int8")),
            Knob("quant.calibration", choices=("minmax", "entropy", "percentile"), when=int8),
            Knob("quant.calib_images", choices=(32, 64, 128), when=int8),
            Knob("quant.per_channel", choices=(False, True), when=int8),
            Knob("quant.fp_layers", choices=(0, 1, 2, 4), when=int8),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--search-trials", type=int, default=12)
    args = parser.parse_args()
    work: Path = args.workdir or Path(tempfile.mkdtemp(prefix="paretodet-v5-"))
    model_path = args.shared / "models" / "yolov5n-coco.pt"
    data = load_data_yaml(args.shared / "data" / "coco128" / "data.yaml")
    det = load_detector(model_path)
    settings = EvalSettings(threads=2)
    variants = [("FP32", {}), ("FP16", {"quant.precision": "fp16"})]
    variants += [
        (
            f"INT8 {g['quant.calibration']}, {'per-channel' if g['quant.per_channel'] else 'per-tensor'}, "
            f"{g['quant.fp_layers']} FP32 blocks",
            {"quant.precision": "int8", **g},
        )
        for g in INT8_GRID
    ]
    artifacts = {}
    for name, knobs in variants:
        artifacts[name] = build(Candidate.from_dict({"imgsz": args.imgsz, **knobs}), det, data, workdir=work).artifact
    os.sync()
    print(f"YOLOv5n (COCO-pretrained, {det.params():,} params), coco128 val2017 (128 photos), imgsz {args.imgsz}\n")
    print("| variant | bytes | ORT latency ms | mAP50-95 | mAP50 |")
    print("|---|---|---|---|---|")
    rows = {}
    for name, _ in variants:
        m = evaluate(artifacts[name], data, settings=settings)
        rows[name] = m
        print(f"| {name} | {m.size_bytes:,} | {m.latency_ms:.2f} | {m.map50_95:.4f} | {m.map50:.4f} |")
    fp32 = rows["FP32"]
    truths = [read_truth(data, path) for path in split_images(data)]
    preds = predict(open_runner(artifacts["FP32"], threads=2), truths, imgsz=args.imgsz)
    coco, ultra = coco_map(preds, data.names), ultralytics_map(preds, data.names)
    print(
        f"\nFP32 cross-check on the same predictions: pycocotools {coco.map50_95:.4f} / {coco.map50:.4f}, "
        f"Ultralytics metrics {ultra.map50_95:.4f} / {ultra.map50:.4f} (mAP50-95 / mAP50)"
    )
    int8 = {k: v for k, v in rows.items() if k.startswith("INT8")}
    best = max(int8, key=lambda k: (int8[k].map50_95, -int8[k].latency_ms))
    fastest = min(int8, key=lambda k: int8[k].latency_ms)
    for label, key in (("best-mAP INT8", best), ("fastest INT8", fastest)):
        m = int8[key]
        print(
            f"{label}: {key}: drop {fp32.map50_95 - m.map50_95:.4f} mAP50-95, "
            f"latency {m.latency_ms / fp32.latency_ms:.2f}x FP32, size {m.size_bytes / fp32.size_bytes:.2f}x"
        )
    if args.search_trials:
        config = SearchConfig(
            model=str(model_path),
            data=args.shared / "data" / "coco128" / "data.yaml",
            workdir=work / "search",
            trials=args.search_trials,
            space=quant_space(args.imgsz),
            evaluation=settings,
        )
        summary = run_study(config)
        df, _ = load_trials(config.workdir)
        done = df[df["state"] == "COMPLETE"]
        from paretodet.reports import build_info

        front = build_info(df).front
        cols = ["number", "imgsz", "quant.precision", "quant.calibration", "quant.per_channel", "quant.fp_layers"]
        print(f"\nsearch: {summary.completed} trials, {summary.failed} failed, front of {summary.front_size}:\n")
        print("| trial | imgsz | precision | calibration | per-channel | FP32 blocks | mAP50-95 | ms | bytes |")
        print("|---|---|---|---|---|---|---|---|---|")
        for _, r in front.iterrows():
            int8_row = r["quant.precision"] == "int8"
            knobs = [str(r[c]) if (int8_row or c in cols[:3]) else "-" for c in cols]
            print(f"| {' | '.join(knobs)} | {r['map50_95']:.4f} | {r['latency_ms']:.2f} | {int(r['size_bytes']):,} |")
        print(f"\n({len(done)} completed trials in {work / 'search'})")


if __name__ == "__main__":
    main()
