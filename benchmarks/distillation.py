"""Does our knowledge distillation beat plain training of the same student, and Ultralytics' built-in distill?

Usage: python benchmarks/distillation.py [--workdir DIR] [--epochs 30] [--imgsz 160] [--width 0.5]
                                         [--seeds 0 1] [--phase all|train|measure]

On the demo set, a student of ``--width`` x the teacher's width (from scratch) is trained for ``--epochs``
epochs at ``--imgsz`` with one recipe (AdamW, linear decay, no mosaic) and each seed, four ways:
  - no KD (the labels only);
  - our KD: a T x alpha sweep on the first seed, then the best (T, alpha) on every seed;
  - Ultralytics' built-in feature distillation (``distill_model``, default ``dis`` weight).
mAP50-95 by paretodet's evaluator on the demo val split at ``--imgsz``; latency of ONNX Runtime FP32 at 640
(2 threads). The sweep picks its best point on the same val split it reports (no separate holdout).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from _demo import demo_workdir
from torch import nn

from paretodet.compress import export_artifact
from paretodet.data import DatasetInfo, load_data_yaml, write_resolved_yaml
from paretodet.models import (
    Detector,
    FinetuneRecipe,
    StudentSpec,
    demo_teacher_path,
    distillation_loss,
    finetune,
    load_detector,
    make_student,
)
from paretodet.objectives import EvalSettings, Metrics, evaluate
from paretodet.search import build
from paretodet.spaces import Candidate

SWEEP = ((2.0, 0.25), (2.0, 0.5), (4.0, 0.25), (4.0, 0.5))


def run_path(work: Path, name: str) -> Path:
    """Where the trained student of run ``name`` is kept."""
    return work / "students" / f"{name}.pt"


def train(work: Path, data_yaml: Path, teacher: Detector, name: str, args: argparse.Namespace, **how: Any) -> None:
    """Train one student (skipped when its checkpoint exists)."""
    dest = run_path(work, name)
    if dest.is_file():
        return
    seed = how.pop("seed")
    student = make_student(teacher.model, StudentSpec(width=args.width, init="scratch", seed=seed))
    criterion = None
    if "temperature" in how:
        t, a = how["temperature"], how["alpha"]

        def criterion(model: nn.Module) -> Any:
            return distillation_loss(model, teacher.model, temperature=t, alpha=a)

    start = time.perf_counter()
    trained = finetune(
        student,
        data_yaml,
        imgsz=args.imgsz,
        recipe=FinetuneRecipe(epochs=args.epochs, lr=1e-3, seed=seed),
        workdir=work / "runs",
        name=name,
        criterion=criterion,
        trainer_args=how.get("trainer_args"),
    )
    export_artifact(
        Detector(trained, teacher.names, name, name, family="ultralytics"),
        dest,
        runtime="torch",
        imgsz=64,
        precision="fp32",
    )
    print(f"{name}: trained in {time.perf_counter() - start:.0f} s", flush=True)


def score(work: Path, data: DatasetInfo, name: str, imgsz: int) -> Metrics:
    """mAP (and latency) of a trained student as an ONNX Runtime FP32 artifact."""
    det = load_detector(run_path(work, name))
    artifact = build(Candidate.from_dict({"imgsz": imgsz}), det, data, workdir=work / "build").artifact
    return evaluate(artifact, data, settings=EvalSettings(threads=2))


def best_point(work: Path, data: DatasetInfo, seed: int, imgsz: int) -> tuple[float, float]:
    """The (T, alpha) of the sweep with the best mAP50-95 on the first seed."""
    maps = {p: score(work, data, f"kd-T{p[0]}-a{p[1]}-s{seed}", imgsz).map50_95 for p in SWEEP}
    return max(maps, key=lambda p: maps[p])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--imgsz", type=int, default=160)
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--phase", choices=("all", "train", "measure"), default="all")
    args = parser.parse_args()
    work, demo_yaml = demo_workdir(args.workdir, "paretodet-kd-")
    data = load_data_yaml(demo_yaml)
    data_yaml = write_resolved_yaml(data, work / "data_abs.yaml")
    teacher = load_detector(demo_teacher_path())
    first = args.seeds[0]
    if args.phase in ("all", "train"):
        for t, a in SWEEP:
            train(work, data_yaml, teacher, f"kd-T{t}-a{a}-s{first}", args, seed=first, temperature=t, alpha=a)
        best = best_point(work, data, first, args.imgsz)
        ukd = {"distill_model": str(demo_teacher_path()), "dis": 6.0}
        for seed in args.seeds:
            train(work, data_yaml, teacher, f"nokd-s{seed}", args, seed=seed)
            train(work, data_yaml, teacher, f"ukd-s{seed}", args, seed=seed, trainer_args=ukd)
            t, a = best
            train(work, data_yaml, teacher, f"kd-T{t}-a{a}-s{seed}", args, seed=seed, temperature=t, alpha=a)
    if args.phase == "train":
        return
    os.sync()
    best = best_point(work, data, first, args.imgsz)
    sweep_rows = [
        f"| {t} | {a} | {score(work, data, f'kd-T{t}-a{a}-s{first}', args.imgsz).map50_95:.4f} |" for t, a in SWEEP
    ]
    teacher_art = build(Candidate.from_dict({"imgsz": args.imgsz}), teacher, data, workdir=work / "build").artifact
    teacher_m = evaluate(teacher_art, data, settings=EvalSettings(threads=2))
    rows: list[tuple[str, Detector | None, list[float]]] = [("teacher (YOLOv8n)", teacher, [teacher_m.map50_95])]
    for label, prefix in (
        ("student, no KD", "nokd"),
        (f"student, our KD (T={best[0]}, alpha={best[1]})", f"kd-T{best[0]}-a{best[1]}"),
        ("student, Ultralytics built-in distill (dis=6)", "ukd"),
    ):
        maps = [score(work, data, f"{prefix}-s{seed}", args.imgsz).map50_95 for seed in args.seeds]
        rows.append((label, load_detector(run_path(work, f"{prefix}-s{first}")), maps))
    print(f"demo set, student width {args.width} x teacher, from scratch, {args.epochs} epochs at {args.imgsz} px")
    print(f"seeds {args.seeds}\n")
    print(f"| model | params | bytes (ONNX FP32) | ORT latency ms @640 | mAP50-95 @{args.imgsz} (mean) | per seed |")
    print("|---|---|---|---|---|---|")
    for label, det, maps in rows:
        assert det is not None
        m640 = evaluate(
            build(Candidate.from_dict({"imgsz": 640}), det, data, workdir=work / "build").artifact,
            data,
            settings=EvalSettings(threads=2, max_images=8),
        )
        per_seed = " / ".join(f"{m:.4f}" for m in maps)
        print(
            f"| {label} | {m640.params:,} | {m640.size_bytes:,} | {m640.latency_ms:.2f} | "
            f"{statistics.mean(maps):.4f} | {per_seed} |"
        )
    print(f"\nT x alpha sweep (seed {first}):\n\n| T | alpha | mAP50-95 |\n|---|---|---|")
    print("\n".join(sweep_rows))


if __name__ == "__main__":
    main()
