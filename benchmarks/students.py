"""Students worth shipping: a width-0.5 student started from the teacher, with and without distillation.

Usage: python benchmarks/students.py [--workdir DIR] [--epochs 20] [--imgsz 320] [--width 0.5]
                                     [--seeds 0 1 2] [--variants nokd kd cwd ukd] [--recipe plain|mosaic]
                                     [--phase all|train|measure]

On the demo set, every variant trains the same student (``--width`` x the teacher's width, initialised from
the teacher: its most important channels, ``distill.init=teacher``) for the same ``--epochs`` at ``--imgsz``
with one recipe and each seed:
  - ``nokd``: the labels only;
  - ``kd``: our class (T-softened sigmoid) + DFL box distillation, T=4, alpha=0.5;
  - ``cwd``: ``kd`` plus channel-wise feature distillation on the neck outputs (``distill.feature_weight``);
  - ``ukd``: Ultralytics' built-in distillation (``distill_model``, its default ``dis`` weight);
  - ``scratch``: the labels only, student from random weights (what init buys).
``--recipe plain`` is the fine-tuning recipe (AdamW, linear decay, no mosaic); ``mosaic`` adds Ultralytics'
mosaic (closed for the last quarter of the epochs) and one warm-up epoch. mAP50-95 by paretodet's evaluator on
the demo val split at ``--imgsz`` (ONNX Runtime FP32); the teacher is scored the same way.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from _demo import demo_workdir
from torch import nn

from paretodet.compress import export_artifact
from paretodet.data import DatasetInfo, load_data_yaml, write_resolved_yaml
from paretodet.models import Detector, StudentSpec, demo_teacher_path, distillation_loss, load_detector, make_student
from paretodet.models.ultralytics._train import FinetuneRecipe, finetune
from paretodet.objectives import EvalSettings, Metrics, evaluate
from paretodet.search import build
from paretodet.spaces import Candidate

KD = {"temperature": 4.0, "alpha": 0.5}
VARIANTS: dict[str, dict[str, Any]] = {
    "nokd": {},
    "kd": {"kd": {**KD, "feature_weight": 0.0}},
    "cwd": {"kd": {**KD, "feature_weight": 10.0}},
    "ukd": {"trainer_args": {"distill_model": str(demo_teacher_path())}},
    "scratch": {"init": "scratch"},
}
LABELS = {
    "nokd": "student, no KD",
    "kd": "student, our KD (class + DFL, T=4, alpha=0.5)",
    "cwd": "student, our KD + CWD on the neck (weight 10)",
    "ukd": "student, Ultralytics built-in distill (`distill_model`)",
    "scratch": "student from scratch, no KD",
}


def run_name(variant: str, seed: int, args: argparse.Namespace) -> str:
    return f"{variant}-{args.recipe}-w{args.width}-e{args.epochs}-i{args.imgsz}-s{seed}"


def recipe_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.recipe == "mosaic":
        return {"mosaic": 1.0, "close_mosaic": max(1, args.epochs // 4), "warmup_epochs": 1.0}
    return {}


def train(work: Path, data_yaml: Path, teacher: Detector, variant: str, seed: int, args: argparse.Namespace) -> None:
    """Train one student (skipped when its checkpoint exists)."""
    name = run_name(variant, seed, args)
    dest = work / "students" / f"{name}.pt"
    if dest.is_file():
        return
    how = VARIANTS[variant]
    student = make_student(teacher.model, StudentSpec(width=args.width, init=how.get("init", "teacher"), seed=seed))
    criterion = None
    if "kd" in how:
        kd = how["kd"]
        if kd["feature_weight"]:
            from paretodet.models import attach_feature_projectors

            attach_feature_projectors(student, teacher.model, seed=seed)

        def criterion(model: nn.Module) -> Any:
            return distillation_loss(model, teacher.model, **kd)

    start = time.perf_counter()
    trained = finetune(
        student,
        data_yaml,
        imgsz=args.imgsz,
        recipe=FinetuneRecipe(epochs=args.epochs, lr=1e-3, seed=seed),
        workdir=work / "runs",
        name=name,
        criterion=criterion,
        trainer_args={**recipe_args(args), **how.get("trainer_args", {})},
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    export_artifact(
        Detector(trained, teacher.names, name, name, family="ultralytics"),
        dest,
        runtime="torch",
        imgsz=64,
        precision="fp32",
    )
    print(f"{name}: trained in {time.perf_counter() - start:.0f} s", flush=True)


def score(work: Path, data: DatasetInfo, det: Detector, imgsz: int) -> Metrics:
    artifact = build(Candidate.from_dict({"imgsz": imgsz}), det, data, workdir=work / "build").artifact
    return evaluate(artifact, data, settings=EvalSettings(threads=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=["nokd", "kd", "cwd", "ukd"])
    parser.add_argument("--recipe", choices=("plain", "mosaic"), default="plain")
    parser.add_argument("--phase", choices=("all", "train", "measure"), default="all")
    args = parser.parse_args()
    work, demo_yaml = demo_workdir(args.workdir, "paretodet-students-")
    data = load_data_yaml(demo_yaml)
    data_yaml = write_resolved_yaml(data, work / "data_abs.yaml")
    teacher = load_detector(demo_teacher_path())
    if args.phase in ("all", "train"):
        for seed in args.seeds:  # seed-major: every variant of a seed before the next seed
            for variant in args.variants:
                train(work, data_yaml, teacher, variant, seed, args)
    if args.phase == "train":
        return
    t_map = score(work, data, teacher, args.imgsz).map50_95
    t_params = sum(p.numel() for p in teacher.model.parameters())
    print(f"demo set, width {args.width} student, {args.epochs} epochs at {args.imgsz} px, recipe {args.recipe}")
    print(f"seeds {args.seeds}; teacher mAP50-95 {t_map:.4f}, {t_params:,} params\n")
    print(f"| model | params (x teacher) | mAP50-95 @{args.imgsz} mean | x teacher | spread (max-min) | per seed |")
    print("|---|---|---|---|---|---|")
    print(f"| teacher (YOLOv8n) | {t_params:,} (1.00) | {t_map:.4f} | 1.00 | - | - |")
    for variant in args.variants:
        maps, params = [], 0
        for seed in args.seeds:
            path = work / "students" / f"{run_name(variant, seed, args)}.pt"
            if not path.is_file():
                continue
            det = load_detector(path)
            params = sum(p.numel() for p in det.model.parameters())
            maps.append(score(work, data, det, args.imgsz).map50_95)
        if not maps:
            continue
        mean = statistics.mean(maps)
        per_seed = " / ".join(f"{m:.4f}" for m in maps)
        print(
            f"| {LABELS[variant]} | {params:,} ({params / t_params:.2f}) | {mean:.4f} | {mean / t_map:.2f} | "
            f"{max(maps) - min(maps):.4f} | {per_seed} |"
        )


if __name__ == "__main__":
    main()
