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

    Training stops when the best val mAP50-95 gained less than ``min_gain`` over the last ``window``
    epochs (a plateau, checked from ``min_epochs`` on, since training from scratch starts flat), or at
    ``max_epochs``.
    """

    model_yaml: str = "yolov8n.yaml"
    imgsz: int = 160
    batch: int = 16
    max_epochs: int = 150
    min_epochs: int = 30
    window: int = 10
    min_gain: float = 0.005
    seed: int = 0
    lr0: float = 0.01


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
    on_epoch: Callable[[int, float], None] | None = None,
) -> Path:
    """Synthesize the demo data, train the teacher to a plateau, and (``install``) package it.

    Returns the trained checkpoint. The learning curve is written next to it as ``curve.csv`` and the
    recipe as ``recipe.json``; with ``install`` all three are copied into ``paretodet/assets``.
    """
    from ultralytics import YOLO

    recipe = recipe or TeacherRecipe()
    work = Path(workdir).resolve()
    data_yaml = write_resolved_yaml(load_data_yaml(synthesize(work / "data", data_spec)), work / "data_abs.yaml")
    curve: list[float] = []

    def _on_fit_epoch_end(trainer: Any) -> None:
        value = float(trainer.metrics.get("metrics/mAP50-95(B)", 0.0))
        curve.append(value)
        if on_epoch is not None:
            on_epoch(len(curve), value)
        if len(curve) >= recipe.min_epochs and plateau_reached(curve, window=recipe.window, min_gain=recipe.min_gain):
            trainer.stop = True

    model = YOLO(recipe.model_yaml)
    model.add_callback("on_fit_epoch_end", _on_fit_epoch_end)
    model.train(
        data=str(data_yaml),
        epochs=recipe.max_epochs,
        imgsz=recipe.imgsz,
        batch=recipe.batch,
        device="cpu",
        workers=2,
        seed=recipe.seed,
        deterministic=True,
        plots=False,
        patience=recipe.max_epochs,
        project=str(work / "runs"),
        name="teacher",
        exist_ok=True,
        lr0=recipe.lr0,
        verbose=False,
        close_mosaic=0,
        amp=False,
    )
    run_dir = work / "runs" / "teacher"
    best = run_dir / "weights" / "best.pt"
    _write_curve(run_dir / "curve.csv", curve)
    meta = {
        "recipe": asdict(recipe),
        "data": asdict(data_spec),
        "epochs_run": len(curve),
        "best_map50_95": max(curve) if curve else None,
    }
    (run_dir / "recipe.json").write_text(json.dumps(meta, indent=2))
    if install:
        ASSETS.mkdir(parents=True, exist_ok=True)
        shutil.copy2(best, demo_teacher_path())
        shutil.copy2(run_dir / "curve.csv", ASSETS / "demo_teacher_curve.csv")
        shutil.copy2(run_dir / "recipe.json", ASSETS / "demo_teacher.json")
    return best


def _write_curve(path: Path, curve: list[float]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", "val_map50_95"])
        writer.writerows((i + 1, f"{v:.5f}") for i, v in enumerate(curve))
