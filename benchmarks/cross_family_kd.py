"""Cross-family distillation for a whole schedule: students trained from scratch with a teacher of another family.

Usage: python benchmarks/cross_family_kd.py [--workdir DIR] [--part ssdlite|yolo|all] [--epochs 30] [--seeds 0 1]
                                            [--teachers none yolov8n fasterrcnn] [--alpha 0.5] [--temperature 2]
                                            [--lr 0.05] [--lrs 0.05 0.025 ...] [--threads 1]
                                            [--phase all|train|measure|cost]

On the demo set in the Pascal VOC layout (400 train, 100 val images), at 192 px:
- ``ssdlite``: torchvision's SSDlite320 (MobileNetV3-Large) from random weights (seeded), trained ``--epochs``
  with torchvision's SGD recipe (lr 0.05 or ``--lr``, batch 16, warm-up and cosine), alone (``none``) or from its first
  epoch with a teacher's detections (``models.torchvision._kd``): the packaged YOLOv8n demo teacher
  (``yolov8n``) or paretodet's Faster R-CNN demo teacher (``fasterrcnn``: ``paretodet teacher fasterrcnn``).
- ``task-only`` (SSDlite): the control, alone with its task loss scaled by ``1 - alpha`` as a KD run's is.
- ``yolo``: a YOLOv8 student at width 0.5 and depth 1 of the demo YOLOv8n, from random weights, trained
  ``--epochs`` with the family's recipe (``--yolo-init teacher``: started from the YOLOv8n's most important
  channels, as the balanced preset's students are), alone or with the Faster R-CNN teacher's detections as soft targets
  (``models.ultralytics._xkd``).
Every run of a part has the same init (per seed), recipe and epochs. mAP50-95 / mAP50 by paretodet's evaluator
on the 100 val images (ONNX Runtime FP32) with the paired change on the same images against ``none`` and the
``task-only`` control at the run's rate, and against ``none`` at its best rate of ``--lrs`` (SSDlite).
Training wall time per run and the teacher's cache hits are printed; ``--phase cost`` times ``--cost-epochs``
epochs alone and with each teacher (the cost of a KD epoch against a plain one).
Each run is kept under ``--workdir``; rerunning skips the runs already there.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path
from typing import Any

from paretodet.compress import export_artifact
from paretodet.data import load_dataset, synthesize
from paretodet.models import (
    DEMO_DATA_SPEC,
    Detector,
    KDSettings,
    StudentSpec,
    TrainRecipe,
    build_torchvision,
    demo_teacher_path,
    get_family,
    load_detector,
)
from paretodet.objectives import EvalSettings, evaluate, paired_change_files
from paretodet.search import build, torchvision_teacher_path
from paretodet.spaces import Candidate

IMGSZ = 192
SSD_LR = 0.05
YOLO_WIDTH = 0.5


class _ScaledTask:
    """A torchvision criterion that keeps only ``scale`` x the task loss: what a KD run's task share is, without
    the teacher (SGD's step on a scaled loss is a scaled step, so this separates the teacher from the scale)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __call__(self, _images: Any, task_loss: Any, _labels: Any) -> tuple[Any, dict[str, float]]:
        task = task_loss()
        return self.scale * task, {"task": float(task.detach())}

    def remove(self) -> None:
        """Nothing to let go of."""


def teacher_detector(name: str) -> Detector | None:
    """The teacher a run learns from (None: alone, or the task-only control)."""
    if name in ("none", "task-only"):
        return None
    if name == "yolov8n":
        return load_detector(str(demo_teacher_path()))
    return load_detector(str(torchvision_teacher_path(name)))


def run_path(work: Path, part: str, teacher: str, seed: int, args: argparse.Namespace, lr: float | None = None) -> Path:
    """Where a run is kept (``lr``: the SSDlite rate, ``--lr`` by default)."""
    how = "alone" if teacher == "none" else f"{teacher}-a{args.alpha}-T{args.temperature}"
    lr = args.lr if lr is None else lr
    rate = f"-lr{lr}" if part == "ssdlite" and lr != SSD_LR else ""  # the first runs' names stay
    init = "-from-teacher" if part == "yolo" and args.yolo_init == "teacher" else ""
    return work / "runs" / f"{part}-{how}{rate}{init}-e{args.epochs}-s{seed}.pt"


def start_model(part: str, seed: int, names: tuple[str, ...], yolo_init: str = "scratch") -> Detector:
    """The seeded random init of a part's student (the same for every teacher)."""
    import torch

    torch.manual_seed(seed)
    if part == "ssdlite":
        return build_torchvision("ssdlite320_mobilenet_v3_large", names=names, imgsz=IMGSZ)
    yolo = load_detector(str(demo_teacher_path()))
    spec = StudentSpec(width=YOLO_WIDTH, depth=1.0, init=yolo_init, seed=seed)
    return yolo.with_model(get_family(yolo.family).make_student(yolo, spec), source="student", digest=f"s{seed}")


def fit(
    data: Any, part: str, teacher_name: str, seed: int, args: argparse.Namespace, *, epochs: int, workdir: Path
) -> tuple[Detector, dict[str, Any]]:
    """Train one run: the trained student and its record (wall time, seconds per epoch, the teacher's cost)."""
    names = tuple(load_detector(str(demo_teacher_path())).names)
    student = start_model(part, seed, names, args.yolo_init)
    family = get_family(student.family)
    teacher = teacher_detector(teacher_name)
    made: list[Any] = []  # the criterion the trainer builds (it holds the teacher's cost)
    criterion = None
    if teacher_name == "task-only":  # the control: (1 - alpha) x the task loss and no teacher term
        criterion = lambda _model: _ScaledTask(1.0 - args.alpha)  # noqa: E731
    elif teacher is not None:
        settings = KDSettings(temperature=args.temperature, alpha=args.alpha, imgsz=IMGSZ)
        factory = family.distillation(teacher, settings)

        def criterion(model: Any) -> Any:
            made.append(factory(model))
            return made[-1]

    epoch_times: list[float] = []
    last = [time.perf_counter()]

    def on_epoch(done: int, total: int, _model: Any) -> None:
        now = time.perf_counter()
        epoch_times.append(now - last[0])
        last[0] = now
        print(f"  {workdir.name}: epoch {done}/{total} {epoch_times[-1]:.0f} s", flush=True)

    start = time.perf_counter()
    trained = family.finetune(
        copy.deepcopy(student.model),
        data,
        imgsz=IMGSZ,
        recipe=TrainRecipe(epochs=epochs, lr=args.lr if part == "ssdlite" else None, seed=seed),
        workdir=workdir,
        criterion=criterion,
        on_epoch=on_epoch,
    )
    record = {
        "wall_s": time.perf_counter() - start,
        "epoch_s": epoch_times,
        "teacher": made[-1].stats() if made else None,
    }
    return student.with_model(trained, source=workdir.name, digest=workdir.name), record


def train(work: Path, data: Any, part: str, teacher_name: str, seed: int, args: argparse.Namespace) -> None:
    dest = run_path(work, part, teacher_name, seed, args)
    if dest.is_file():
        return
    det, record = fit(data, part, teacher_name, seed, args, epochs=args.epochs, workdir=dest.with_suffix(""))
    dest.parent.mkdir(parents=True, exist_ok=True)
    export_artifact(det, dest, runtime="torch", imgsz=IMGSZ, precision="fp32")
    dest.with_suffix(".json").write_text(json.dumps(record, indent=2))
    print(f"{dest.stem}: trained in {record['wall_s']:.0f} s", flush=True)


def cost(work: Path, data: Any, part: str, args: argparse.Namespace) -> None:
    """Seconds per epoch of ``--cost-epochs`` epochs alone and with each teacher, run one after the other (the
    first KD epoch runs the teacher on every image; later ones find the repeated images in memory)."""
    print(f"\n## The teacher's cost, {part}: seconds per epoch ({args.cost_epochs} epochs each, seed 0)\n")
    print(
        "| teacher | s per epoch | teacher passes | served from memory | seconds in the teacher |\n"
        "|---|---|---|---|---|"
    )
    for teacher in [t for t in args.teachers if part == "ssdlite" or t != "yolov8n"]:
        _, record = fit(
            data, part, teacher, 0, args, epochs=args.cost_epochs, workdir=work / "cost" / f"{part}-{teacher}"
        )
        stats = record["teacher"] or {}
        per_epoch = " / ".join(f"{e:.1f}" for e in record["epoch_s"])
        print(
            f"| {teacher} | {per_epoch} | {stats.get('teacher_passes', '-')} | {stats.get('cache_hits', '-')} | "
            f"{stats.get('teacher_s', '-')} |",
            flush=True,
        )


def score(work: Path, data: Any, det: Detector) -> Any:
    artifact = build(Candidate.from_dict({"imgsz": IMGSZ}), det, data, workdir=work / "build").artifact
    return evaluate(artifact, data, settings=EvalSettings(threads=2))


def _change(base: Any, metrics: Any) -> tuple[str, float | None]:
    """The paired change of ``metrics`` against ``base`` (text, and pt) on the same images."""
    if base is None:
        return "-", None
    delta = paired_change_files(base.evals_file, metrics.evals_file)
    text = f"{delta['delta'] * 100:+.2f} pt [{delta['low'] * 100:+.2f}, {delta['high'] * 100:+.2f}]"
    return text, delta["delta"] * 100


def measure(work: Path, data: Any, part: str, args: argparse.Namespace) -> None:
    """Every kept run of ``part`` at the rates ``--lrs``, against alone and the task-only control at its rate,
    and against alone at its best rate (the highest mean over the seeds)."""
    yolo_start = "started from the YOLOv8n's channels" if args.yolo_init == "teacher" else "from scratch"
    label = {"ssdlite": "SSDlite320 from scratch", "yolo": f"YOLOv8 width {YOLO_WIDTH} {yolo_start}"}[part]
    rates = (args.lrs or [args.lr]) if part == "ssdlite" else [args.lr]
    print(
        f"\n## {label}: {args.epochs} epochs at {IMGSZ} px, seeds {args.seeds}, "
        f"alpha {args.alpha}, T {args.temperature}"
    )
    if part == "ssdlite":
        print(f"SGD rates {rates}")
    teachers = [t for t in args.teachers if part == "ssdlite" or t != "yolov8n"]
    keys = [(t, lr, s) for t in teachers for lr in rates for s in args.seeds]
    paths = {key: run_path(work, part, key[0], key[2], args, key[1]) for key in keys}
    scored = {key: score(work, data, load_detector(str(path))) for key, path in paths.items() if path.is_file()}
    alone = {lr: [scored[("none", lr, s)].map50_95 for s in args.seeds if ("none", lr, s) in scored] for lr in rates}
    best = max((lr for lr in rates if alone[lr]), key=lambda lr: statistics.mean(alone[lr]), default=None)
    print(f"alone at its best rate: lr {best}\n" if part == "ssdlite" else "")
    print(
        "| teacher | lr | seed | mAP50-95 | mAP50 | vs alone, same lr (paired 95% CI) | vs task-only control, same lr "
        "| vs alone at its best lr | train wall s | s / epoch |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    gains: dict[tuple[str, float], list[float]] = {}
    for (t, lr, s), metrics in scored.items():
        record = json.loads(paths[(t, lr, s)].with_suffix(".json").read_text())
        per_epoch = statistics.median(record["epoch_s"]) if record["epoch_s"] else float("nan")
        same, _ = _change(scored.get(("none", lr, s)) if t != "none" else None, metrics)
        control, _ = _change(scored.get(("task-only", lr, s)) if t != "task-only" else None, metrics)
        reference = scored.get(("none", best, s)) if (t, lr) != ("none", best) else None
        vs_best, pt = _change(reference, metrics)
        if pt is not None:
            gains.setdefault((t, lr), []).append(pt)
        print(
            f"| {t} | {lr if part == 'ssdlite' else '-'} | {s} | {metrics.map50_95:.4f} | {metrics.map50:.4f} | "
            f"{same} | {control} | {vs_best} | {record['wall_s']:.0f} | {per_epoch:.1f} |"
        )
        if record.get("teacher"):
            print(f"|   teacher cost | | {s} | {record['teacher']} | | | | | | |")
    for (t, lr), values in gains.items():
        print(
            f"\n{t}{f' at lr {lr}' if part == 'ssdlite' else ''} against alone"
            f"{f' at lr {best}' if part == 'ssdlite' else ''}: {statistics.mean(values):+.2f} pt mean; per seed "
            + " / ".join(f"{g:+.2f}" for g in values)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench/xkd"))
    parser.add_argument("--part", choices=("ssdlite", "yolo", "all"), default="all")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--teachers", nargs="+", default=["none", "yolov8n", "fasterrcnn"])
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=SSD_LR, help="the SSDlite runs' SGD learning rate")
    parser.add_argument("--lrs", type=float, nargs="+", help="measure: the SSDlite rates to compare (default --lr)")
    parser.add_argument(
        "--yolo-init",
        choices=("scratch", "teacher"),
        default="scratch",
        help="the YOLO student's start: random weights, or the demo YOLOv8n's channels (the balanced preset's)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--phase", choices=("all", "train", "measure", "cost"), default="all")
    parser.add_argument("--cost-epochs", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    work = args.workdir
    voc = work / "voc" / "data.yaml"
    if not voc.is_file():
        synthesize(work / "voc", DEMO_DATA_SPEC, format="voc")
    data = load_dataset(voc)
    parts = ("ssdlite", "yolo") if args.part == "all" else (args.part,)
    if args.phase in ("all", "train"):
        for part in parts:
            for seed in args.seeds:
                for teacher in args.teachers:
                    if part == "yolo" and teacher == "yolov8n":
                        continue  # the YOLO student's own family teacher is not the point here
                    train(work, data, part, teacher, seed, args)
    if args.phase in ("all", "measure"):
        for part in parts:
            measure(work, data, part, args)
    if args.phase == "cost":
        for part in parts:
            cost(work, data, part, args)


if __name__ == "__main__":
    main()
