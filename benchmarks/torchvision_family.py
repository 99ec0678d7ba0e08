"""torchvision detectors in paretodet (issue 14): evaluator agreement, INT8 and pruning of the SSDlite teacher.

Usage: python benchmarks/torchvision_family.py [--part evaluator|int8|prune|all] [--teacher PT] [--epochs N]
Defaults: the torchvision demo teacher (``paretodet demo --family torchvision`` trains it; see
``paretodet.models.torchvision_teacher_path``) on the demo set in the Pascal VOC layout, at its training size.

- evaluator: paretodet's COCO mAP vs pycocotools' own COCOeval on the COCO-layout JSON of the same images,
  fed the same torchvision predictions (target: equal within 1e-6).
- int8: FP32 vs INT8 (PTQ, default knobs) ONNX artifacts: mAP drop (target <= 1 pt), file ratio (<= 0.3x),
  ONNX Runtime latency ratio.
- prune: 30% backbone pruning + recovery vs the equal-compute baseline (the unpruned teacher fine-tuned for
  the same epochs with the same recipe).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import tempfile
import time
from pathlib import Path

from paretodet.data import load_dataset, read_truth, split_images, synthesize
from paretodet.models import DEMO_DATA_SPEC, load_detector
from paretodet.objectives import EvalSettings, Metrics, coco_map, predict
from paretodet.runtimes import open_runner
from paretodet.search import apply_candidate, torchvision_teacher_path
from paretodet.spaces import Candidate


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def evaluator_part(teacher: Path, imgsz: int, tmp: Path) -> None:
    """The same predictions scored by paretodet and by stock pycocotools on the JSON ground truth."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from paretodet.compress import export_artifact

    data = load_dataset(synthesize(tmp / "coco", DEMO_DATA_SPEC, splits=("train", "val"), format="coco"))
    truths = [read_truth(data, p) for p in split_images(data)]
    art = export_artifact(load_detector(teacher), tmp / "t.onnx", runtime="onnxruntime", imgsz=imgsz, precision="fp32")
    preds = predict(open_runner(art, threads=2), truths, imgsz=imgsz)
    ours = coco_map(preds, data.names)
    assert data.val_annotations is not None
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(data.val_annotations))
        by_name = {Path(img["file_name"]).name: img["id"] for img in gt.dataset["images"]}
        results = [
            {
                **r,
                "image_id": by_name[truths[r["image_id"]].path.name],
                "category_id": data.category_ids[r["category_id"]],
            }
            for r in preds.results
        ]
        ev = COCOeval(gt, gt.loadRes(results), iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    print(f"evaluator agreement ({len(truths)} val images, {len(preds.results)} detections, imgsz {imgsz})")
    print(f"  paretodet  mAP50-95 {ours.map50_95:.6f}  mAP50 {ours.map50:.6f}")
    print(f"  COCOeval   mAP50-95 {ev.stats[0]:.6f}  mAP50 {ev.stats[1]:.6f}")
    diff = max(abs(ours.map50_95 - ev.stats[0]), abs(ours.map50 - ev.stats[1]))
    print(f"  largest difference {diff:.2e} (target <= 1e-6)")


def _measure(teacher: Path, data: Path, out: Path, values: dict[str, object]) -> tuple[Metrics, float]:
    start = time.perf_counter()
    _, metrics = apply_candidate(str(teacher), data, Candidate.from_dict(values), out, settings=EvalSettings(threads=2))
    return metrics, time.perf_counter() - start


def _row(name: str, m: Metrics, base: Metrics, wall: float) -> str:
    return (
        f"| {name} | {m.map50_95:.4f} ({(m.map50_95 - base.map50_95) * 100:+.1f} pt) | {m.map50:.4f} | "
        f"{m.voc_map50:.4f} | {m.size_bytes / 1e6:.2f} MB ({m.size_bytes / base.size_bytes:.2f}x) | "
        f"{m.latency_ms:.2f} ms ({base.latency_ms / m.latency_ms:.2f}x faster) | {m.params:,} | {wall:.0f} s |"
    )


HEADER = (
    "| artifact | mAP50-95 | mAP50 | VOC mAP50 | size | ORT latency | params | build+measure |\n"
    "|---|---|---|---|---|---|---|---|"
)


def int8_part(teacher: Path, imgsz: int, tmp: Path) -> None:
    data = synthesize(tmp / "voc", DEMO_DATA_SPEC, format="voc")
    base, w0 = _measure(teacher, data, tmp / "fp32", {"imgsz": imgsz})
    fp16, w1 = _measure(teacher, data, tmp / "fp16", {"imgsz": imgsz, "quant.precision": "fp16"})
    int8, w2 = _measure(teacher, data, tmp / "int8", {"imgsz": imgsz, "quant.precision": "int8"})
    mixed, w3 = _measure(
        teacher, data, tmp / "mixed", {"imgsz": imgsz, "quant.precision": "int8", "quant.fp_layers": 2}
    )
    print(f"INT8 of the torchvision teacher at {imgsz} px, ONNX Runtime, 2 threads")
    print(HEADER)
    for name, m, w in (
        ("FP32", base, w0),
        ("FP16", fp16, w1),
        ("INT8 PTQ", int8, w2),
        ("INT8, 2 blocks FP32", mixed, w3),
    ):
        print(_row(name, m, base, w))


def prune_part(teacher: Path, imgsz: int, tmp: Path, epochs: int) -> None:
    data = synthesize(tmp / "voc", DEMO_DATA_SPEC, format="voc")
    base, w0 = _measure(teacher, data, tmp / "base", {"imgsz": imgsz})
    pruned = {
        "imgsz": imgsz,
        "prune.method": "l1",
        "prune.ratio": 0.3,
        "prune.backbone_ratio": 0.3,
        "prune.neck_ratio": 0.0,
    }
    one_shot, w1 = _measure(teacher, data, tmp / "oneshot", pruned)
    recovered, w2 = _measure(teacher, data, tmp / "recovered", {**pruned, "prune.finetune_epochs": epochs})
    # equal compute: the same recipe and epochs on the unpruned teacher (pruning with ratio 0 keeps every channel)
    same = {"imgsz": imgsz, "prune.method": "l1", "prune.ratio": 0.0, "prune.finetune_epochs": epochs}
    baseline, w3 = _measure(teacher, data, tmp / "baseline", same)
    print(f"30% backbone pruning (l1) of the torchvision teacher at {imgsz} px, recovery {epochs} epochs")
    print(HEADER)
    rows = (
        ("teacher", base, w0),
        ("pruned, one-shot", one_shot, w1),
        (f"pruned + {epochs} epochs recovery", recovered, w2),
        (f"unpruned + {epochs} epochs (equal compute)", baseline, w3),
    )
    for name, m, w in rows:
        print(_row(name, m, base, w))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", default="all", choices=("evaluator", "int8", "prune", "all"))
    parser.add_argument("--teacher", type=Path, default=torchvision_teacher_path())
    parser.add_argument("--imgsz", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    meta = args.teacher.with_name(args.teacher.name + ".json")
    recipe = json.loads(meta.read_text())["recipe"] if meta.is_file() else {}
    imgsz = args.imgsz or recipe.get("imgsz", 256)
    print(f"teacher {args.teacher} ({recipe.get('builder', '?')}); CPU {_cpu()}")
    with tempfile.TemporaryDirectory(prefix="paretodet-tv-") as tmp:
        if args.part in ("evaluator", "all"):
            evaluator_part(args.teacher, imgsz, Path(tmp) / "e")
        if args.part in ("int8", "all"):
            int8_part(args.teacher, imgsz, Path(tmp) / "q")
        if args.part in ("prune", "all"):
            prune_part(args.teacher, imgsz, Path(tmp) / "p", args.epochs)


if __name__ == "__main__":
    main()
