"""Artifacts made by Ultralytics, measured by paretodet and by Ultralytics itself, on the same images.

Usage: python benchmarks/third_party.py [--workdir DIR] [--imgsz 320] [--threads 2]

The packaged demo teacher is exported by Ultralytics (offline) as ``format=onnx`` and as ``format=openvino,
int8=True`` (NNCF, calibrated on the demo train split). Each export is read by
``paretodet.runtimes.artifact_from_file`` and scored by ``paretodet.objectives.evaluate`` (pycocotools, the
full demo val split), and by Ultralytics' ``YOLO(export).val(...)`` with paretodet's NMS settings (conf 0.001,
IoU 0.7, 300 detections), batch 1, square letterbox. Target: the two agree within 0.005. A third column scores
paretodet's own predictions with Ultralytics' metric (its matching and ``ap_per_class``), to tell how the boxes
are made from how they are scored: with Ultralytics 8.4 the gap is in the boxes, not the metric (paretodet's
letterbox shrinks images with INTER_AREA, Ultralytics 8.4's validator with INTER_LINEAR), the same gap
BENCHMARKS.md records for the checkpoint itself. For scale,
paretodet's own artifacts of the same teacher (``apply_candidate``: FP32 and QDQ INT8 on ONNX Runtime, NNCF INT8
on OpenVINO) are measured too.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from _demo import demo_workdir

from paretodet.base import cpu_model
from paretodet.data import load_dataset, read_truth, split_images, write_resolved_yaml
from paretodet.models import demo_teacher_path
from paretodet.objectives import EvalSettings, NmsSettings, evaluate, predict, ultralytics_map
from paretodet.reports import format_comparison
from paretodet.runtimes import artifact_from_file, open_runner
from paretodet.search import apply_candidate, compare_models
from paretodet.spaces import Candidate

TARGET = 0.005
OWN_ARTIFACTS: tuple[tuple[str, str, dict[str, Any]], ...] = (  # (row label, folder, knobs)
    ("paretodet FP32 (ONNX Runtime)", "fp32", {}),
    ("paretodet INT8 (QDQ, ONNX Runtime)", "qdq", {"quant.precision": "int8"}),
    (
        "paretodet INT8 (NNCF, OpenVINO)",
        "nncf",
        {"quant.precision": "int8", "quant.engine": "nncf", "runtime": "openvino"},
    ),
)


def _ultralytics_exports(teacher: Path, data_yaml: Path, imgsz: int) -> dict[str, Path]:
    """Ultralytics' own ONNX export and its OpenVINO INT8 export (simplify=False: onnxslim is not installed, and
    Ultralytics would try to pip-install it)."""
    from ultralytics import YOLO

    onnx_file = YOLO(str(teacher)).export(format="onnx", imgsz=imgsz, simplify=False, batch=1, device="cpu")
    int8_dir = YOLO(str(teacher)).export(
        format="openvino", int8=True, data=str(data_yaml), split="train", imgsz=imgsz, batch=1, device="cpu"
    )
    return {"Ultralytics ONNX (FP32)": Path(onnx_file), "Ultralytics OpenVINO INT8 (NNCF)": Path(int8_dir)}


def _ultralytics_val(export: Path, data_yaml: Path, imgsz: int, nms: NmsSettings, project: Path) -> float:
    """mAP50-95 by Ultralytics' validator on the export itself."""
    from ultralytics import YOLO

    result: Any = YOLO(str(export), task="detect").val(
        data=str(data_yaml),
        imgsz=imgsz,
        batch=1,
        conf=nms.conf,
        iou=nms.iou,
        max_det=nms.max_det,
        rect=False,
        device="cpu",
        plots=False,
        save_json=False,
        workers=0,
        verbose=False,
        project=str(project),
        name=export.stem,
    )
    return float(result.box.map)


def _ultralytics_metric(artifact: Any, data: Any, settings: EvalSettings) -> float:
    """mAP50-95 of paretodet's own predictions of ``artifact`` scored by Ultralytics' metric (its matching and
    ``ap_per_class``), which separates how the artifact is run from how the boxes are scored."""
    truths = [read_truth(data, path) for path in split_images(data)]
    runner = open_runner(artifact, threads=settings.threads)
    predictions = predict(runner, truths, imgsz=artifact.imgsz, nms=settings.nms)
    return ultralytics_map(predictions, data.names).map50_95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    work, data_yaml = demo_workdir(args.workdir, "paretodet-third-party-")
    data = load_dataset(data_yaml)
    resolved = write_resolved_yaml(data, work / "resolved.yaml")
    settings = EvalSettings(threads=args.threads)
    teacher = work / "exports" / "teacher.pt"
    teacher.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(demo_teacher_path(), teacher)

    started = time.perf_counter()
    rows = []
    exports = _ultralytics_exports(teacher, resolved, args.imgsz)
    for label, export in exports.items():
        artifact = artifact_from_file(export)
        ours = evaluate(artifact, data, settings=settings, keep_evals=False)
        same_metric = _ultralytics_metric(artifact, data, settings)
        theirs = _ultralytics_val(export, resolved, args.imgsz, settings.nms, work / "val")
        rows.append((label, artifact, ours.map50_95, same_metric, theirs))
    own = []
    for label, folder, knobs in OWN_ARTIFACTS:
        candidate = Candidate.from_dict({"imgsz": args.imgsz, **knobs})
        out = work / "paretodet" / folder
        _, metrics = apply_candidate(str(demo_teacher_path()), data_yaml, candidate, out, settings=settings)
        own.append((label, metrics))

    print(
        f"CPU {cpu_model()}, {args.threads} threads; demo teacher at {args.imgsz} px; demo val split "
        f"({ours.eval_images} images); NMS conf {settings.nms.conf} IoU {settings.nms.iou} max_det "
        f"{settings.nms.max_det}; {time.perf_counter() - started:.0f} s\n"
    )
    print(
        "| artifact | read as | paretodet mAP50-95 (pycocotools) | paretodet's boxes, Ultralytics' metric | "
        f"Ultralytics val() | same metric: difference | paretodet evaluate - val() (target <= {TARGET}) |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, art, mine, same_metric, theirs in rows:
        read_as = (
            f"{art.runtime} {art.precision} {art.family} {art.imgsz}px, {art.params:,} params, {art.gflops:.2f} GFLOPs"
        )
        verdict = "ok" if abs(mine - theirs) <= TARGET else "OVER"
        print(
            f"| {label} | {read_as} | {mine:.4f} | {same_metric:.4f} | {theirs:.4f} | "
            f"{same_metric - theirs:+.4f} | {mine - theirs:+.4f} {verdict} |"
        )
    print("\n| paretodet's own artifact | runtime | mAP50-95 | size bytes | latency ms |")
    print("|---|---|---|---|---|")
    for label, metrics in own:
        print(
            f"| {label} | {metrics.runtime} | {metrics.map50_95:.4f} | {metrics.size_bytes:,} | "
            f"{metrics.latency_ms:.2f} |"
        )
    items = [str(work / "paretodet" / OWN_ARTIFACTS[0][1] / "model.onnx"), *map(str, exports.values())]
    items += [str(work / "paretodet" / folder / "model.onnx") for _, folder, _ in OWN_ARTIFACTS[1:2]]
    table = compare_models(items, data_yaml, imgsz=args.imgsz, threads=args.threads)
    print(f"\nOne compare table ({table.rounds} interleaved rounds, {table.images} images; REF: paretodet FP32):\n")
    print(format_comparison(table.rows(), "md"))


if __name__ == "__main__":
    main()
