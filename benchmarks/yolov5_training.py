"""YOLOv5n (COCO) on coco128 at 640 px: what pruning recovery, QAT and KD recovery give a real model.

Trains on coco128's 128 train2017 photos and scores on its 128 val2017 photos (mAP50-95 with the 95%
bootstrap interval over images, paired changes against the original), all at 640 px:

1. ``prune``: l2 0.3 pruned, recovered ``--epochs`` epochs (snapshots at each ``--snapshots``), against the
   equal-compute baseline: the unpruned model fine-tuned with the same recipe (the YOLOv5 family's default)
   for the same epochs. l2 0.1 (which one-shot keeps half the mAP) recovered for the first snapshot's epochs.
2. ``kd``: l2 0.1 recovered with distillation from the unpruned model (``--kd-alpha``, T 4) for the first
   snapshot's epochs: KD recovery against plain recovery at equal epochs.
3. ``qat``: INT8 (default knobs) after 1 and 2 QAT epochs against INT8 PTQ.
4. Params, and the FP32 latency ratio of each model to the original from one interleaved run.

Each phase's training is kept in the work dir (a rerun reuses it). Usage:
python benchmarks/yolov5_training.py [--workdir DIR] [--epochs 20] [--snapshots 10 20] [--phase all|train|measure]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from paretodet.base import cpu_model
from paretodet.compress import PruneSpec, prune_model
from paretodet.data import load_dataset
from paretodet.models import Detector, KDSettings, TrainRecipe, get_family, load_detector
from paretodet.objectives import EvalSettings, RoundSettings, evaluate, paired_change_files
from paretodet.search import build
from paretodet.spaces import Candidate

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODEL, DATA = SHARED / "models" / "yolov5n-coco.pt", SHARED / "data" / "coco128" / "data.yaml"
IMGSZ = 640


def snapshot(work: Path, run: str, epoch: int) -> Path:
    return work / "snapshots" / run / f"epoch{epoch}.pt"


def train(work: Path, det: Detector, *, epochs: int, snapshots: list[int], kd_alpha: float) -> dict[str, float]:
    """The recovery, baseline and KD runs (snapshots kept; a run whose last snapshot exists is skipped); wall
    seconds per epoch of each run trained now."""
    family = get_family(det.family)
    data = load_dataset(DATA)
    pruned, _ = prune_model(det.model, PruneSpec("l2", 0.3), imgsz=IMGSZ, data=data, family=det.family)
    light, _ = prune_model(det.model, PruneSpec("l2", 0.1), imgsz=IMGSZ, data=data, family=det.family)
    kd = family.distillation(det, KDSettings(temperature=4.0, alpha=kd_alpha, imgsz=IMGSZ))
    runs: list[tuple[str, Any, int, Any]] = [
        ("l2-0.3", pruned, epochs, None),
        ("baseline", det.model, epochs, None),
        ("l2-0.1", light, snapshots[0], None),
        (f"l2-0.1-kd{kd_alpha}", light, snapshots[0], kd),
    ]
    walls = {}
    for name, model, run_epochs, criterion in runs:
        keep = [e for e in snapshots if e <= run_epochs]
        if snapshot(work, name, keep[-1]).is_file():
            continue
        family.save(det.with_model(model, source=name, digest=f"{name}-0"), _fresh(snapshot(work, name, 0)))
        start = time.perf_counter()

        def on_epoch(done: int, total: int, ema: Any, run: str = name, k: list[int] = keep, t0: float = start) -> None:
            if done in k:
                family.save(det.with_model(ema, source=run, digest=f"{run}-{done}"), _fresh(snapshot(work, run, done)))
            print(f"{run}: epoch {done}/{total} ({time.perf_counter() - t0:.0f} s)", flush=True)

        family.finetune(
            model,
            data,
            imgsz=IMGSZ,
            recipe=TrainRecipe(epochs=run_epochs, seed=0),
            workdir=work / "runs" / name,
            on_epoch=on_epoch,
            criterion=criterion,
        )
        walls[name] = (time.perf_counter() - start) / run_epochs
    return walls


def _fresh(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def measure(work: Path, det: Detector, snapshots: list[int], kd_alpha: float) -> None:
    """mAP (interval, paired change vs the original), params, and the FP32 latency ratio from one interleaved run."""
    data = load_dataset(DATA)
    settings = EvalSettings(threads=2)
    models = {"original": det}
    for run in ("l2-0.3", "baseline", "l2-0.1", f"l2-0.1-kd{kd_alpha}"):
        for epoch in (0, *snapshots):
            if snapshot(work, run, epoch).is_file() and not (
                run in ("baseline", f"l2-0.1-kd{kd_alpha}") and epoch == 0
            ):
                models[f"{run} @{epoch} ep"] = load_detector(snapshot(work, run, epoch))
    rows = {label: _fp32(model, work, data, settings) for label, model in models.items()}
    print(
        f"CPU: {cpu_model()}; YOLOv5n (COCO), trained on coco128 train2017 (128), scored on val2017 (128), {IMGSZ} px"
    )
    print("\n| model | params | mAP50-95 [95% CI] | change vs original, points [paired 95% CI] |")
    print("|---|---|---|---|")
    ref = rows["original"][0]
    for label, (m, _) in rows.items():
        change = "" if label == "original" else _change(ref.evals_file, m.evals_file)
        print(f"| {label} | {m.params:,} | {m.map50_95:.4f} [{m.map50_95_low:.4f}, {m.map50_95_high:.4f}] | {change} |")
    qat_table(work, det, data, settings)
    ratio_table({label: artifact for label, (_, artifact) in rows.items()}, data, snapshots)


def _fp32(det: Detector, work: Path, data: Any, settings: EvalSettings) -> tuple[Any, Any]:
    artifact = build(Candidate.from_dict({"imgsz": IMGSZ}), det, data, workdir=work / "build").artifact
    return evaluate(artifact, data, settings=settings, keep_evals=True), artifact


def _change(ref: str, other: str) -> str:
    delta = paired_change_files(ref, other)
    if delta is None:
        return "n/a"
    return f"{100 * delta['delta']:+.2f} [{100 * delta['low']:+.2f}, {100 * delta['high']:+.2f}]"


def qat_table(work: Path, det: Detector, data: Any, settings: EvalSettings) -> None:
    print("\n| INT8 (default knobs) | mAP50-95 [95% CI] | drop vs FP32, points [paired 95% CI] | build s |")
    print("|---|---|---|---|")
    results = {}
    variants = [("FP32", {}), ("PTQ", {"quant.precision": "int8"})]
    variants += [(f"QAT {e} ep", {"quant.precision": "int8", "quant.qat_epochs": e}) for e in (1, 2)]
    for label, knobs in variants:
        start = time.perf_counter()
        artifact = build(Candidate.from_dict({"imgsz": IMGSZ, **knobs}), det, data, workdir=work / "build").artifact
        seconds = time.perf_counter() - start
        results[label] = (evaluate(artifact, data, settings=settings, keep_evals=True), seconds)
    fp32 = results["FP32"][0]
    for label, (m, seconds) in results.items():
        change = "" if label == "FP32" else _change(fp32.evals_file, m.evals_file)
        print(
            f"| {label} | {m.map50_95:.4f} [{m.map50_95_low:.4f}, {m.map50_95_high:.4f}] | {change} | {seconds:.0f} |"
        )


def ratio_table(artifacts: dict[str, Any], data: Any, snapshots: list[int]) -> None:
    from paretodet.search.artifacts._compare import measure_side_by_side

    labels = [k for k in artifacts if k == "original" or k.endswith(tuple(f"@{e} ep" for e in (0, *snapshots)))]
    table = measure_side_by_side(
        labels, [artifacts[k] for k in labels], data, rounds=RoundSettings(rounds=10), threads=2,
        stage=lambda _t: None, on_progress=None, score=False,
    )  # fmt: skip
    print("\n| FP32 ONNX Runtime, 2 threads, one interleaved run | latency ms [95% CI] | ratio to original [95% CI] |")
    print("|---|---|---|")
    for label, item in zip(labels, table.items):
        lat, ratio = item.latency, item.ratio
        print(f"| {label} | {lat.median:.2f} [{lat.low:.2f}, {lat.high:.2f}] | "
              f"{ratio.median:.3f} [{ratio.low:.3f}, {ratio.high:.3f}] |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/paretodet-v5train"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--snapshots", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--kd-alpha", type=float, default=0.5)
    parser.add_argument("--phase", choices=("all", "train", "measure"), default="all")
    args = parser.parse_args()
    det = load_detector(MODEL)
    if args.phase in ("all", "train"):
        walls = train(args.workdir, det, epochs=args.epochs, snapshots=args.snapshots, kd_alpha=args.kd_alpha)
        for name, seconds in walls.items():
            print(f"{name}: {seconds:.0f} s per epoch")
    if args.phase in ("all", "measure"):
        measure(args.workdir, det, args.snapshots, args.kd_alpha)


if __name__ == "__main__":
    main()
