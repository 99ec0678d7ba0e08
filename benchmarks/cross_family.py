"""Cross-family distillation: a YOLO teacher (Ultralytics) teaches a torchvision SSDlite through its detections.

Usage: python benchmarks/cross_family.py [--workdir DIR] [--epochs 10] [--imgsz 192] [--seeds 0 1 2]
                                         [--alpha 0.5] [--temperature 2] [--lr 0.01] [--init teacher|scratch]
                                         [--phase all|train|measure]

On the demo set in the Pascal VOC layout, the SSDlite student (``--init teacher``: the torchvision demo teacher,
``paretodet.models.torchvision_teacher_path``, trained by paretodet until its val mAP plateaued; ``scratch``:
random weights) is trained for ``--epochs`` at ``--imgsz`` with torchvision's SGD recipe and each seed, twice:
alone (its own detection loss) and with the packaged YOLOv8n demo teacher's detections
(``paretodet.models.torchvision._kd``: ``(1 - alpha) * task + alpha * KD``). mAP50-95 by paretodet's evaluator
on the demo val split at ``--imgsz`` (ONNX Runtime FP32).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

from _demo import demo_workdir

from paretodet.compress import export_artifact
from paretodet.data import load_dataset, synthesize
from paretodet.models import (
    DEMO_DATA_SPEC,
    Detector,
    KDSettings,
    TrainRecipe,
    demo_teacher_path,
    get_family,
    load_detector,
)
from paretodet.models.torchvision._family import build_torchvision
from paretodet.objectives import EvalSettings, evaluate
from paretodet.search import build, torchvision_teacher_path
from paretodet.spaces import Candidate


def run_path(work: Path, kd: bool, seed: int, args: argparse.Namespace) -> Path:
    how = f"kd-a{args.alpha}-T{args.temperature}" if kd else "alone"
    return work / "students" / f"ssdlite-{args.init}-{how}-e{args.epochs}-lr{args.lr}-i{args.imgsz}-s{seed}.pt"


def start_model(args: argparse.Namespace, names: tuple[str, ...]) -> Detector:
    if args.init == "teacher":
        return load_detector(str(torchvision_teacher_path()))
    return build_torchvision("ssdlite320_mobilenet_v3_large", names=names)


def train(work: Path, data: object, yolo: Detector, kd: bool, seed: int, args: argparse.Namespace) -> None:
    dest = run_path(work, kd, seed, args)
    if dest.is_file():
        return
    import torch

    torch.manual_seed(seed)
    student = start_model(args, tuple(yolo.names))
    family = get_family(student.family)
    criterion = None
    if kd:
        settings = KDSettings(temperature=args.temperature, alpha=args.alpha, imgsz=args.imgsz)
        criterion = family.distillation(yolo, settings)
    start = time.perf_counter()
    trained = family.finetune(
        copy.deepcopy(student.model),
        data,  # type: ignore[arg-type]
        imgsz=args.imgsz,
        recipe=TrainRecipe(epochs=args.epochs, lr=args.lr, seed=seed),
        workdir=dest.with_suffix(""),
        criterion=criterion,
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    det = student.with_model(trained, source=dest.stem, digest=dest.stem)
    export_artifact(det, dest, runtime="torch", imgsz=args.imgsz, precision="fp32")
    print(f"{dest.stem}: trained in {time.perf_counter() - start:.0f} s", flush=True)


def score(work: Path, data: object, det: Detector, imgsz: int) -> float:
    artifact = build(Candidate.from_dict({"imgsz": imgsz}), det, data, workdir=work / "build").artifact  # type: ignore[arg-type]
    return evaluate(artifact, data, settings=EvalSettings(threads=2)).map50_95  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--imgsz", type=int, default=192)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--init", choices=("teacher", "scratch"), default="teacher")
    parser.add_argument("--phase", choices=("all", "train", "measure"), default="all")
    args = parser.parse_args()
    work, _ = demo_workdir(args.workdir, "paretodet-xkd-")
    voc = work / "voc" / "data.yaml"
    if not voc.is_file():
        synthesize(work / "voc", DEMO_DATA_SPEC, format="voc")
    data = load_dataset(voc)
    yolo = load_detector(demo_teacher_path())
    if args.phase in ("all", "train"):
        for seed in args.seeds:
            for kd in (False, True):
                train(work, data, yolo, kd, seed, args)
    if args.phase == "train":
        return
    print(f"YOLOv8n teacher -> SSDlite student, demo set (VOC layout), {args.epochs} epochs at {args.imgsz} px,")
    print(f"init {args.init}, lr {args.lr}, alpha {args.alpha}, T {args.temperature}, seeds {args.seeds}\n")
    yolo_map = score(work, data, yolo, args.imgsz)
    start_map = score(work, data, start_model(args, tuple(yolo.names)), args.imgsz)
    print(f"| model | mAP50-95 @{args.imgsz} mean | spread (max-min) | per seed |\n|---|---|---|---|")
    print(f"| YOLOv8n teacher | {yolo_map:.4f} | - | - |")
    print(f"| SSDlite at the start ({args.init}) | {start_map:.4f} | - | - |")
    maps = {}
    for kd, label in ((False, "SSDlite trained alone"), (True, "SSDlite + YOLO teacher's detections (KD)")):
        maps[kd] = [score(work, data, load_detector(str(run_path(work, kd, s, args))), args.imgsz) for s in args.seeds]
        per_seed = " / ".join(f"{m:.4f}" for m in maps[kd])
        spread = max(maps[kd]) - min(maps[kd])
        print(f"| {label} | {statistics.mean(maps[kd]):.4f} | {spread:.4f} | {per_seed} |")
    gains = [(k - a) * 100 for k, a in zip(maps[True], maps[False], strict=True)]
    print(f"\nKD gain: {statistics.mean(gains):+.2f} pt mean; per seed " + " / ".join(f"{g:+.2f}" for g in gains))


if __name__ == "__main__":
    main()
