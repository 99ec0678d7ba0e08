"""Quantization benchmark: FP32 / FP16 / INT8 (best knobs) / Ultralytics' NNCF INT8 on the demo teacher.

Usage: python benchmarks/quantization.py [--sizes 320 640] [--threads 2] [--workdir DIR]

Every figure is measured on the artifact: ONNX Runtime (or OpenVINO for the NNCF export) with fixed
threads, mAP50-95 by paretodet's COCO evaluator on the demo val split (100 images). The INT8 knobs are
chosen by a grid at the first size (best mAP50-95 among knob sets whose file is <= 0.3x the FP32 file, then
lowest latency) and reused at the others.
The NNCF row needs `pip install 'paretodet[nncf]'` (openvino + nncf); it is skipped without them.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from paretodet.data import load_data_yaml, synthesize, write_resolved_yaml
from paretodet.models import DEMO_DATA_SPEC, demo_teacher_path, load_detector
from paretodet.objectives import EvalSettings, Metrics, evaluate
from paretodet.runtimes import Artifact
from paretodet.search import build
from paretodet.spaces import Candidate

GRID = {
    "quant.calibration": ("minmax", "entropy", "percentile"),
    "quant.per_channel": (False, True),
    "quant.fp_layers": (0, 2, 4, 6),
}
# ONNX Runtime 1.32's entropy calibrator returned exactly the minmax ranges for these uint8 activations on every
# point of a full grid (BENCHMARKS.md); --quick leaves it out to save a third of the time
QUICK_GRID = {**GRID, "quant.calibration": ("minmax", "percentile")}


def _measure(cand: Candidate, det: Any, data: Any, work: Path, settings: EvalSettings) -> tuple[Metrics, Artifact]:
    result = build(cand, det, data, workdir=work)
    return evaluate(result.artifact, data, settings=settings), result.artifact


def _nncf(teacher: Path, data_yaml: Path, imgsz: int, tmp: Path, data: Any, settings: EvalSettings) -> Metrics | None:
    if not (importlib.util.find_spec("openvino") and importlib.util.find_spec("nncf")):
        return None
    from ultralytics import YOLO

    local = tmp / f"teacher{imgsz}.pt"
    shutil.copy2(teacher, local)
    out = YOLO(str(local)).export(
        format="openvino", int8=True, data=str(data_yaml), imgsz=imgsz, split="train", batch=1, device="cpu"
    )
    xml = next(Path(out).glob("*.xml"))
    det = load_detector(teacher)
    art = Artifact(
        path=xml,
        runtime="openvino",
        imgsz=imgsz,
        precision="int8",
        names=det.names,
        params=0,
        gflops=0.0,
        family="ultralytics",
    )
    return evaluate(art, data, settings=settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 640])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="grid without the entropy calibrator")
    args = parser.parse_args()
    grid = QUICK_GRID if args.quick else GRID
    settings = EvalSettings(threads=args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="paretodet-qbench-"))
    work = args.workdir or tmp / "work"
    data_yaml = synthesize(tmp / "data", DEMO_DATA_SPEC)
    data = load_data_yaml(data_yaml)
    teacher = demo_teacher_path()
    det = load_detector(teacher)
    first = args.sizes[0]

    grid_rows = []
    for values in itertools.product(*grid.values()):
        knobs = dict(zip(grid, values, strict=True))
        cand = Candidate.from_dict({"imgsz": first, "quant.precision": "int8", **knobs})
        metrics, artifact = _measure(cand, det, data, work, settings)
        grid_rows.append((knobs, metrics, artifact))
    fp32_bytes = _measure(Candidate.from_dict({"imgsz": first}), det, data, work, settings)[0].size_bytes
    # best = highest mAP50-95 among knob sets that keep INT8's size (<= 0.3x FP32), then lowest latency
    small = [r for r in grid_rows if r[1].size_bytes <= 0.3 * fp32_bytes] or grid_rows
    best_knobs, _, _ = max(small, key=lambda r: (round(r[1].map50_95, 4), -r[1].latency_ms))

    table: dict[str, dict[int, Metrics]] = {"FP32": {}, "FP16": {}, "INT8 (best knobs)": {}, "INT8 (default knobs)": {}}
    for size in args.sizes:
        for name, extra in (
            ("FP32", {"quant.precision": "fp32"}),
            ("FP16", {"quant.precision": "fp16"}),
            ("INT8 (default knobs)", {"quant.precision": "int8"}),
            ("INT8 (best knobs)", {"quant.precision": "int8", **best_knobs}),
        ):
            table[name][size] = _measure(Candidate.from_dict({"imgsz": size, **extra}), det, data, work, settings)[0]
        nncf = _nncf(teacher, write_resolved_yaml(data, tmp / "abs.yaml"), size, tmp, data, settings)
        if nncf is not None:
            table.setdefault("Ultralytics NNCF INT8 (OpenVINO)", {})[size] = nncf

    print(f"demo teacher, demo val ({data.val}), {args.threads} threads; INT8 best knobs: {best_knobs}\n")
    header = (
        "| variant | runtime | size bytes | " + " | ".join(f"latency {s} ms | mAP50-95 @{s}" for s in args.sizes) + " |"
    )
    print(header)
    print("|" + "---|" * (3 + 2 * len(args.sizes)))
    for name, per_size in table.items():
        any_m = next(iter(per_size.values()))
        cells = " | ".join(f"{per_size[s].latency_ms:.2f} | {per_size[s].map50_95:.4f}" for s in args.sizes)
        print(f"| {name} | {any_m.runtime} | {any_m.size_bytes:,} | {cells} |")

    print("\nINT8 knob grid at", first, "px (mAP50-95, latency ms, bytes):")
    for knobs, m, art in sorted(grid_rows, key=lambda r: -r[1].map50_95):
        print(f"  {knobs}  {m.map50_95:.4f}  {m.latency_ms:.2f}  {m.size_bytes:,}  fp32 blocks {list(art.fp32_blocks)}")

    fp32, best = table["FP32"], table["INT8 (best knobs)"]
    big = args.sizes[-1]
    print("\ntargets:")
    print(f"  INT8 size / FP32 size = {best[big].size_bytes / fp32[big].size_bytes:.3f} (<= 0.3)")
    print(f"  INT8 latency / FP32 at {big} = {best[big].latency_ms / fp32[big].latency_ms:.3f} (<= 0.55)")
    for s in args.sizes:
        print(f"  mAP50-95 drop at {s} = {fp32[s].map50_95 - best[s].map50_95:.4f} (<= 0.005)")
    if "Ultralytics NNCF INT8 (OpenVINO)" in table:
        nn = table["Ultralytics NNCF INT8 (OpenVINO)"]
        for s in args.sizes:
            print(
                f"  vs NNCF at {s}: mAP {best[s].map50_95:.4f} vs {nn[s].map50_95:.4f}, "
                f"latency {best[s].latency_ms:.2f} vs {nn[s].latency_ms:.2f} ms"
            )
    if args.workdir is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
