"""The packaged demo teacher: a YOLOv8n trained by this project on the synthetic shapes set, to a plateau."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paretodet.data import SynthSpec, load_data_yaml, synthesize, write_resolved_yaml

__all__ = ["DEMO_DATA_SPEC", "TeacherRecipe", "demo_teacher_path", "plateau_reached", "train_demo_teacher"]

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_DATA_SPEC = SynthSpec(images=400, seed=0)


@dataclass(frozen=True)
class TeacherRecipe:
    """How the demo teacher is trained (stored beside the weights).

    Phase "scratch" trains from scratch at ``imgsz`` (mosaic, linear LR decay over ``max_epochs``). Phase
    "polish" continues from its best weights without mosaic at a constant ``polish_lr``, like Ultralytics'
    close-mosaic epochs. Phase "polish_large" does the same at ``large_imgsz``, the largest input size the
    demo searches, so the teacher is converged there too (else any later fine-tuning at that size "gains"
    accuracy that is only the teacher's missing training). Each phase runs until the best val mAP50-95
    gained less than ``min_gain`` over the last ``window`` epochs, checked from its ``*min_epochs`` on.
    """

    model_yaml: str = "yolov8n.yaml"
    imgsz: int = 160
    batch: int = 16
    seed: int = 0
    window: int = 10
    min_gain: float = 0.005
    max_epochs: int = 150
    min_epochs: int = 30
    optimizer: str = "AdamW"
    momentum: float = 0.9
    lr0: float = 0.001
    polish_max_epochs: int = 80
    polish_min_epochs: int = 10
    polish_lr: float = 0.001
    large_imgsz: int = 320
    large_max_epochs: int = 60
    large_min_epochs: int = 10
    large_lr: float = 0.0005


def demo_teacher_path() -> Path:
    """Path of the packaged teacher checkpoint (an ordinary Ultralytics .pt)."""
    return ASSETS / "demo_teacher.pt"


def plateau_reached(curve: list[float], *, window: int, min_gain: float) -> bool:
    """True when the running best of ``curve`` gained less than ``min_gain`` over the last ``window`` epochs.

    Example:
        >>> plateau_reached([0.1, 0.5, 0.6] + [0.6] * 10, window=10, min_gain=0.005)
        True
    """
    if len(curve) <= window:
        return False
    best = [max(curve[: i + 1]) for i in range(len(curve))]
    return best[-1] - best[-1 - window] < min_gain


def train_demo_teacher(
    workdir: Path | str,
    *,
    recipe: TeacherRecipe | None = None,
    data_spec: SynthSpec = DEMO_DATA_SPEC,
    install: bool = True,
    resume: dict[str, tuple[Path, list[float]]] | None = None,
    on_epoch: Callable[[str, int, float], None] | None = None,
) -> Path:
    """Synthesize the demo data, train the teacher in three phases to a plateau, and (``install``) package it.

    ``resume`` maps phases already run to their (best weights, curve) so they are not run again. Returns the
    final checkpoint. The learning curve (``curve.csv``, one row per epoch and phase) and ``recipe.json``
    are written beside it; with ``install`` all three are copied into ``paretodet/assets``.
    """
    recipe = recipe or TeacherRecipe()
    work = Path(workdir).resolve()
    data_yaml = write_resolved_yaml(load_data_yaml(synthesize(work / "data", data_spec)), work / "data_abs.yaml")
    common: dict[str, Any] = {
        "data": str(data_yaml),
        "imgsz": recipe.imgsz,
        "batch": recipe.batch,
        "seed": recipe.seed,
        "project": str(work / "runs"),
        "optimizer": recipe.optimizer,
        "momentum": recipe.momentum,
    }
    done = dict(resume or {})
    phases = _phases(recipe)
    weights = recipe.model_yaml
    for name, args in phases:
        if name not in done:
            done[name] = _train_phase(weights, name, recipe, on_epoch, **{**common, **args})
        weights = str(done[name][0])
    out_dir = work / "runs"
    curves = [(name, done[name][1]) for name, _ in phases]
    _write_record(out_dir, curves, recipe, data_spec)
    best = Path(weights)
    if install:
        ASSETS.mkdir(parents=True, exist_ok=True)
        shutil.copy2(best, demo_teacher_path())
        shutil.copy2(out_dir / "curve.csv", ASSETS / "demo_teacher_curve.csv")
        shutil.copy2(out_dir / "recipe.json", ASSETS / "demo_teacher.json")
    return best


def _phases(recipe: TeacherRecipe) -> list[tuple[str, dict[str, Any]]]:
    """The three training phases and their Ultralytics arguments: from scratch with mosaic, a polish without
    it, and a polish at the larger input size."""
    return [
        (
            "scratch",
            {
                "min_epochs": recipe.min_epochs,
                "epochs": recipe.max_epochs,
                "lr0": recipe.lr0,
                "lrf": 0.01,
                "mosaic": 1.0,
                "warmup_epochs": 3.0,
            },
        ),
        (
            "polish",
            {
                "min_epochs": recipe.polish_min_epochs,
                "epochs": recipe.polish_max_epochs,
                "lr0": recipe.polish_lr,
                "lrf": 1.0,
                "mosaic": 0.0,
                "warmup_epochs": 0.0,
            },
        ),
        (
            "polish_large",
            {
                "min_epochs": recipe.large_min_epochs,
                "epochs": recipe.large_max_epochs,
                "lr0": recipe.large_lr,
                "lrf": 1.0,
                "mosaic": 0.0,
                "warmup_epochs": 0.0,
                "imgsz": recipe.large_imgsz,
            },
        ),
    ]


def _write_record(
    out_dir: Path, curves: list[tuple[str, list[float]]], recipe: TeacherRecipe, data_spec: SynthSpec
) -> None:
    """``curve.csv`` (one row per epoch and phase) and ``recipe.json`` (recipe, data, plateau, best mAP)."""
    _write_curve(out_dir / "curve.csv", curves)
    meta = {
        "recipe": asdict(recipe),
        "data": asdict(data_spec),
        "epochs_run": {name: len(curve) for name, curve in curves},
        "plateau": {
            name: plateau_reached(curve, window=recipe.window, min_gain=recipe.min_gain) for name, curve in curves
        },
        "best_map50_95": {name: max(curve) if curve else None for name, curve in curves},
        "note": "val mAP50-95 as logged by Ultralytics' trainer (rect val batches) on the demo val split, at each "
        "phase's imgsz; optimizer AdamW lr/momentum as listed (what optimizer=auto picks for this data)",
    }
    (out_dir / "recipe.json").write_text(json.dumps(meta, indent=2))


def _train_phase(
    weights: str,
    name: str,
    recipe: TeacherRecipe,
    on_epoch: Callable[[str, int, float], None] | None,
    *,
    min_epochs: int,
    epochs: int,
    **train_args: Any,
) -> tuple[Path, list[float]]:
    """One Ultralytics training run that stops itself at a plateau; returns its best weights and curve."""
    from ultralytics import YOLO

    curve: list[float] = []

    stopped = False

    def _on_fit_epoch_end(trainer: Any) -> None:
        nonlocal stopped
        if stopped:  # Ultralytics' final re-validation of best.pt after the last epoch: not an epoch
            return
        value = float(trainer.metrics.get("metrics/mAP50-95(B)", 0.0))
        curve.append(value)
        if on_epoch is not None:
            on_epoch(name, len(curve), value)
        if len(curve) >= min_epochs and plateau_reached(curve, window=recipe.window, min_gain=recipe.min_gain):
            trainer.stop = True
        stopped = bool(trainer.stop)

    model = YOLO(weights)
    model.add_callback("on_fit_epoch_end", _on_fit_epoch_end)
    model.train(
        epochs=epochs,
        name=name,
        device="cpu",
        workers=2,
        deterministic=True,
        plots=False,
        patience=epochs,
        exist_ok=True,
        verbose=False,
        close_mosaic=0,
        amp=False,
        **train_args,
    )
    return Path(train_args["project"]) / name / "weights" / "best.pt", curve


def _write_curve(path: Path, phases: list[tuple[str, list[float]]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phase", "epoch", "val_map50_95"])
        for phase, curve in phases:
            writer.writerows((phase, i + 1, f"{v:.5f}") for i, v in enumerate(curve))
