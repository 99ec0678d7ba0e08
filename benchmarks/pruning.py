"""What pruning buys on the demo teacher, and what recovery fine-tuning gives back.

Usage: python benchmarks/pruning.py [--workdir DIR] [--ratios 0.3 0.5] [--method l2] [--epochs 40]
                                    [--phase all|train|measure]

1. Every structured method (l1, l2, fpgm, taylor) at each ratio, right after pruning (no fine-tuning), and
   unstructured level pruning: params, GFLOPs, bytes (and zlib-compressed bytes), mAP50-95.
2. Recovery: ``--method`` at each ratio, fine-tuned ``--epochs`` epochs at imgsz 320 (AdamW, linear decay),
   a snapshot of the weights at 5/10/20/40 epochs of that one run; and the equal-compute baseline: the
   unpruned teacher fine-tuned with the very same recipe. mAP50-95 at 320 on the demo val split. Kept
   channel counts are rounded to multiples of 8 (paretodet's default); runs named ``*-exact`` in a work dir
   were made before that default and keep NNI's exact counts.
3. The recovered models as ONNX Runtime artifacts: bytes, latency at 640 (2 threads), FP32 and INT8.

``--phase train`` only trains (snapshots are kept in the work dir; a rerun reuses them); ``--phase measure``
only measures, so latency can be timed on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from _demo import demo_workdir
from torch import nn

from paretodet.compress import PruneSpec, export_artifact, prune_model
from paretodet.data import DatasetInfo, load_data_yaml, write_resolved_yaml
from paretodet.models import Detector, FinetuneRecipe, demo_teacher_path, distillation_loss, finetune, load_detector
from paretodet.objectives import EvalSettings, Metrics, evaluate
from paretodet.search import build
from paretodet.spaces import Candidate

SNAPSHOTS = (5, 10, 20, 40)
KD_TEMPERATURE = 4.0
TRAIN_IMGSZ = 320


def snapshot_path(work: Path, name: str, epoch: int) -> Path:
    """Where the weights of run ``name`` after ``epoch`` fine-tuning epochs are kept."""
    return work / "snapshots" / name / f"epoch{epoch}.pt"


def save(model: nn.Module, names: tuple[str, ...], path: Path) -> None:
    """Keep a model as an ordinary Ultralytics checkpoint."""
    export_artifact(
        Detector(model, names, str(path), path.stem, family="ultralytics"),
        path,
        runtime="torch",
        imgsz=64,
        precision="fp32",
    )


def train_runs(
    work: Path,
    data: DatasetInfo,
    det: Detector,
    *,
    ratios: list[float],
    method: str,
    epochs: int,
    kd_alpha: float,
    kd_epochs: int,
) -> None:
    """Prune, then fine-tune; fine-tune the unpruned teacher the same way; with ``kd_alpha`` > 0 also recover
    each pruned model with the distillation loss from the unpruned teacher. Snapshots go to the work dir."""
    data_yaml = write_resolved_yaml(data, work / "data.yaml")
    runs: list[tuple[str, nn.Module, int, Any]] = [("teacher", det.model, epochs, None)]
    for ratio in ratios:
        pruned, _ = prune_model(
            det.model, PruneSpec(method, ratio), imgsz=TRAIN_IMGSZ, data_yaml=data_yaml, family="ultralytics"
        )
        runs.append((f"{method}-{ratio}", pruned, epochs, None))
        if kd_alpha > 0:

            def criterion(model: nn.Module) -> Any:
                return distillation_loss(model, det.model, temperature=KD_TEMPERATURE, alpha=kd_alpha)

            runs.append((f"{method}-{ratio}-kd{kd_alpha}", pruned, kd_epochs, criterion))
    for name, model, run_epochs, criterion in runs:
        keep = [e for e in SNAPSHOTS if e <= run_epochs] or [run_epochs]
        if snapshot_path(work, name, keep[-1]).is_file():
            print(f"{name}: snapshots already there")
            continue
        save(model, det.names, snapshot_path(work, name, 0))
        start = time.perf_counter()

        def on_epoch(done: int, total: int, ema: nn.Module, run: str = name, t0: float = start, k: Any = keep) -> None:
            if done in k:
                save(ema, det.names, snapshot_path(work, run, done))
            print(f"{run}: epoch {done}/{total} ({time.perf_counter() - t0:.0f} s)", flush=True)

        finetune(
            model,
            data_yaml,
            imgsz=TRAIN_IMGSZ,
            recipe=FinetuneRecipe(epochs=run_epochs),
            workdir=work / "runs",
            name=name,
            on_epoch=on_epoch,
            criterion=criterion,
        )


def measure(candidate: Candidate, det: Detector, data: DatasetInfo, work: Path) -> Metrics:
    """Build ``candidate`` from ``det`` and measure it."""
    artifact = build(candidate, det, data, workdir=work / "build").artifact
    os.sync()
    return evaluate(artifact, data, settings=EvalSettings(threads=2))


def one_shot_table(work: Path, data: DatasetInfo, det: Detector, ratios: list[float]) -> list[str]:
    """Every method right after pruning (no fine-tuning)."""
    data_yaml = write_resolved_yaml(data, work / "data.yaml")
    c320 = Candidate.from_dict({"imgsz": TRAIN_IMGSZ})
    lines = [
        "| method | ratio | params | GFLOPs @640 | bytes | zlib bytes | mAP50-95 @320, no fine-tuning |",
        "|---|---|---|---|---|---|---|",
    ]
    base = measure(c320, det, data, work)
    lines.append(_one_shot_row("none", 0.0, det, base, work, data))
    for method in ("l1", "l2", "fpgm", "taylor", "level"):
        for ratio in ratios:
            pruned, _ = prune_model(
                det.model, PruneSpec(method, ratio), imgsz=TRAIN_IMGSZ, data_yaml=data_yaml, family="ultralytics"
            )
            pdet = Detector(
                pruned,
                det.names,
                f"{method}-{ratio}",
                f"oneshot-r8-{method}-{ratio}-{det.digest}",
                family="ultralytics",
            )
            lines.append(_one_shot_row(method, ratio, pdet, measure(c320, pdet, data, work), work, data))
    return lines


def _one_shot_row(method: str, ratio: float, det: Detector, m: Metrics, work: Path, data: DatasetInfo) -> str:
    art640 = build(Candidate.from_dict({"imgsz": 640}), det, data, workdir=work / "build").artifact
    return (
        f"| {method} | {ratio} | {m.params:,} | {art640.gflops:.2f} | {m.size_bytes:,} | "
        f"{m.compressed_bytes:,} | {m.map50_95:.4f} |"
    )


def recovery_tables(work: Path, data: DatasetInfo, names: list[str], epochs: int) -> list[str]:
    """mAP vs fine-tune epochs, then the final models' deployable artifacts."""
    keep = [0, *[e for e in SNAPSHOTS if e <= epochs]]
    lines = ["| run | " + " | ".join(f"{e} ep" for e in keep) + " |", "|---|" + "---|" * len(keep)]
    finals: dict[str, Detector] = {}
    for name in names:
        row = []
        for epoch in keep:
            path = snapshot_path(work, name, epoch)
            if not path.is_file():
                row.append("-")
                continue
            det = load_detector(path)
            row.append(f"{measure(Candidate.from_dict({'imgsz': TRAIN_IMGSZ}), det, data, work).map50_95:.4f}")
            finals[name] = det
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    lines += [
        "",
        "| model (after recovery) | precision | params | bytes | latency ms @640 | mAP50-95 @640 | mAP50-95 @320 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, det in finals.items():
        for precision in ("fp32", "int8"):
            m640 = measure(Candidate.from_dict({"imgsz": 640, "quant.precision": precision}), det, data, work)
            m320 = measure(Candidate.from_dict({"imgsz": TRAIN_IMGSZ, "quant.precision": precision}), det, data, work)
            lines.append(
                f"| {name} | {precision} | {m640.params:,} | {m640.size_bytes:,} | {m640.latency_ms:.2f} | "
                f"{m640.map50_95:.4f} | {m320.map50_95:.4f} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.3, 0.5])
    parser.add_argument("--method", default="l2")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--phase", choices=("all", "train", "measure"), default="all")
    parser.add_argument("--kd-alpha", type=float, default=0.0, help="also recover with KD from the teacher")
    parser.add_argument("--kd-epochs", type=int, default=20)
    args = parser.parse_args()
    work, data_yaml = demo_workdir(args.workdir, "paretodet-prune-")
    data = load_data_yaml(data_yaml)
    det = load_detector(demo_teacher_path())
    if args.phase in ("all", "train"):
        train_runs(
            work,
            data,
            det,
            ratios=args.ratios,
            method=args.method,
            epochs=args.epochs,
            kd_alpha=args.kd_alpha,
            kd_epochs=args.kd_epochs,
        )
    if args.phase == "train":
        return
    os.sync()
    out: list[Any] = ["## one-shot pruning (demo teacher, demo val)", ""]
    out += one_shot_table(work, data, det, args.ratios)
    out += ["", f"## recovery: {args.method}, fine-tuned at {TRAIN_IMGSZ} px; teacher = equal-compute baseline", ""]
    names = ["teacher", *(p.name for p in sorted((work / "snapshots").glob(f"{args.method}-*")))]
    out += recovery_tables(work, data, names, args.epochs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
