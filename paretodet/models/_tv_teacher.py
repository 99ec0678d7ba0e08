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

from paretodet.data import SynthSpec, load_dataset, read_truth, split_images, synthesize
from paretodet.models._teacher import DEMO_DATA_SPEC, plateau_reached

__all__ = ["TorchvisionTeacherRecipe", "torchvision_teacher_path", "train_torchvision_teacher"]

CACHE_ENV = "PARETODET_CACHE"


@dataclass(frozen=True)
class TorchvisionTeacherRecipe:
    """How the torchvision demo teacher is trained (stored beside it).

    Rounds of ``round_epochs`` epochs (SGD, warm-up and cosine decay within each round, the rate halved each
    round) until val mAP50-95 gained less than ``min_gain`` over the last ``window`` rounds, or ``max_rounds``.
    """

    builder: str = "ssdlite320_mobilenet_v3_large"
    imgsz: int = 320
    batch: int = 16
    lr: float = 0.05
    seed: int = 0
    round_epochs: int = 5
    max_rounds: int = 12
    window: int = 2
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
    on_round: Callable[[int, int, float], None] | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
) -> Path:
    """Synthesize the demo data (VOC layout), train the teacher to a plateau, save it to ``dest`` (default
    :func:`torchvision_teacher_path`) with ``<dest>.json`` (recipe and learning curve); return ``dest``.

    ``on_round(round, max_rounds, val_map)`` after each round; ``on_epoch(done, total)`` within a round.
    """
    from paretodet.data import SHAPE_CLASSES
    from paretodet.models._base import TrainRecipe
    from paretodet.models._families import get_family
    from paretodet.models._torchvision import build_torchvision

    recipe = recipe or TorchvisionTeacherRecipe()
    work = Path(workdir).resolve()
    data = load_dataset(synthesize(work / "data", data_spec, format="voc"))
    family = get_family("torchvision")
    detector = build_torchvision(recipe.builder, names=SHAPE_CLASSES, imgsz=recipe.imgsz)
    truths = [read_truth(data, p) for p in split_images(data)[: recipe.val_images]]
    curve: list[float] = []
    model = detector.model
    for round_ in range(recipe.max_rounds):
        model = family.finetune(
            model,
            data,
            imgsz=recipe.imgsz,
            recipe=TrainRecipe(
                epochs=recipe.round_epochs, lr=recipe.lr * 0.5**round_, batch=recipe.batch, seed=recipe.seed + round_
            ),
            workdir=work / f"round{round_}",
            on_epoch=(lambda done, total, _m: on_epoch(done, total)) if on_epoch else None,
        )
        curve.append(_val_map(family, detector.with_model(model, source=detector.source, digest=""), truths, recipe))
        if on_round is not None:
            on_round(round_ + 1, recipe.max_rounds, curve[-1])
        if plateau_reached(curve, window=recipe.window, min_gain=recipe.min_gain):
            break
    dest = dest or torchvision_teacher_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    family.save(detector.with_model(model, source=detector.source, digest=""), tmp)
    os.replace(tmp, dest)
    record = {"recipe": asdict(recipe), "data": asdict(data_spec), "val_map50_95_per_round": curve}
    dest.with_name(dest.name + ".json").write_text(json.dumps(record, indent=2))
    return dest


def _val_map(family: object, detector: object, truths: list, recipe: TorchvisionTeacherRecipe) -> float:
    """mAP50-95 of the model on the first val images, through the same evaluator as every trial."""
    from paretodet.data import SHAPE_CLASSES
    from paretodet.objectives import evaluate_map

    net = family.inference_module(detector, imgsz=recipe.imgsz)  # type: ignore[attr-defined]

    class _Runner:
        threads, family = 2, "torchvision"

        def __call__(self, batch):  # type: ignore[no-untyped-def]
            import torch

            with torch.inference_mode():
                return [t.numpy() for t in net(torch.from_numpy(batch))]

    return evaluate_map(_Runner(), truths, names=SHAPE_CLASSES, imgsz=recipe.imgsz).map50_95
