"""The torchvision demo teacher: an SSDlite trained by paretodet on the synthetic shapes set.

It is not shipped (its FP32 checkpoint is ~9 MB): ``paretodet demo --family torchvision`` trains it on first
use, with progress, and keeps it in the user's cache; later demos reuse it. Training runs until val mAP50-95
plateaus (see :func:`~paretodet.models._teacher.plateau_reached`) or ``max_epochs``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paretodet.data import SynthSpec, load_dataset, read_truth, split_images, synthesize
from paretodet.models import DEMO_DATA_SPEC, plateau_reached

if TYPE_CHECKING:
    import numpy as np

    from paretodet.data import ImageTruth
    from paretodet.models import Detector, DetectorFamily

__all__ = ["TorchvisionTeacherRecipe", "torchvision_teacher_path", "train_torchvision_teacher"]

CACHE_ENV = "PARETODET_CACHE"


@dataclass(frozen=True)
class TorchvisionTeacherRecipe:
    """How the torchvision demo teacher is trained (stored beside it).

    Rounds of ``round_epochs`` epochs (SGD, warm-up and cosine decay within each round, the starting rate
    times ``lr_decay`` each round) until val mAP50-95 gained less than ``min_gain`` over the last ``window``
    rounds (checked from ``min_rounds`` on: from scratch, SSD scores ~0 for its first epochs), or
    ``max_rounds``. The best round's weights are kept after every round.
    """

    builder: str = "ssdlite320_mobilenet_v3_large"
    imgsz: int = 192
    batch: int = 16
    lr: float = 0.05
    lr_decay: float = 0.9
    seed: int = 0
    round_epochs: int = 10
    min_rounds: int = 6
    max_rounds: int = 20
    window: int = 3
    min_gain: float = 0.01
    val_images: int = 50


def torchvision_teacher_path() -> Path:
    """Where the trained torchvision demo teacher is kept: ``$PARETODET_CACHE`` or ``~/.cache/paretodet``."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "paretodet")
    return root / "demo_teacher_torchvision.pt"


def train_torchvision_teacher(
    workdir: Path | str,
    *,
    recipe: TorchvisionTeacherRecipe | None = None,
    data_spec: SynthSpec = DEMO_DATA_SPEC,
    dest: Path | None = None,
    resume: bool = False,
    on_round: Callable[[int, int, float], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> Path:
    """Synthesize the demo data (VOC layout), train the teacher to a plateau, save it to ``dest`` (default
    :func:`torchvision_teacher_path`) with ``<dest>.json`` (recipe and learning curve); return ``dest``.

    ``resume``: continue from the weights and learning curve at ``dest`` (rounds already run are not run
    again). ``on_round(round, max_rounds, val_map)`` after each round; ``on_epoch(done, total)`` within a round.
    """
    from paretodet.data import SHAPE_CLASSES
    from paretodet.models import TrainRecipe, build_torchvision, get_family

    recipe = recipe or TorchvisionTeacherRecipe()
    work = Path(workdir).resolve()
    data = load_dataset(synthesize(work / "data", data_spec, format="voc"))
    family = get_family("torchvision")
    detector = build_torchvision(recipe.builder, names=SHAPE_CLASSES, imgsz=recipe.imgsz)
    truths = [read_truth(data, p) for p in split_images(data)[: recipe.val_images]]
    curve: list[float] = []
    model = detector.model
    dest = dest or torchvision_teacher_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    record_path = dest.with_name(dest.name + ".json")
    if resume and dest.is_file() and record_path.is_file():
        curve = list(json.loads(record_path.read_text())["val_map50_95_per_round"])
        model = family.load(str(dest)).model
    for round_ in range(len(curve), recipe.max_rounds):
        model = family.finetune(
            model,
            data,
            imgsz=recipe.imgsz,
            recipe=TrainRecipe(
                epochs=recipe.round_epochs,
                lr=recipe.lr * recipe.lr_decay**round_,
                batch=recipe.batch,
                seed=recipe.seed + round_,
            ),
            workdir=work / f"round{round_}",
            on_epoch=(lambda done, total, _m: on_epoch(done, total)) if on_epoch else None,
        )
        current = detector.with_model(model, source=detector.source, digest="")
        curve.append(_val_map(family, current, truths, recipe))
        if on_round is not None:
            on_round(round_ + 1, recipe.max_rounds, curve[-1])
        if curve[-1] >= max(curve):  # keep the best round's weights (a killed run keeps what it reached)
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            family.save(current, tmp)
            os.replace(tmp, dest)
        record = {"recipe": asdict(recipe), "data": asdict(data_spec), "val_map50_95_per_round": curve}
        record_path.write_text(json.dumps(record, indent=2))
        if round_ + 1 >= recipe.min_rounds and plateau_reached(curve, window=recipe.window, min_gain=recipe.min_gain):
            break
    return dest


def _val_map(
    family: DetectorFamily, detector: Detector, truths: list[ImageTruth], recipe: TorchvisionTeacherRecipe
) -> float:
    """mAP50-95 of the model on the first val images, through the same evaluator as every trial."""
    from paretodet.data import SHAPE_CLASSES
    from paretodet.objectives import evaluate_map

    net = family.inference_module(detector, imgsz=recipe.imgsz)

    class _Runner:
        threads, family = 2, "torchvision"

        def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
            import torch

            with torch.inference_mode():
                return [t.numpy() for t in net(torch.from_numpy(batch))]

    return evaluate_map(_Runner(), truths, names=SHAPE_CLASSES, imgsz=recipe.imgsz).map50_95
