"""The torchvision demo teachers: an SSDlite and a Faster R-CNN trained by paretodet on the synthetic shapes set.

They are not shipped (the SSDlite's FP32 checkpoint is ~9 MB, the Faster R-CNN's ~75 MB): ``paretodet demo
--family torchvision`` trains the SSDlite on first use, ``paretodet teacher fasterrcnn`` the Faster R-CNN (a
cross-family teacher for distillation), with progress, and keeps them in the user's cache; later uses reuse
them, and a killed run resumes. Training runs in rounds until val mAP50-95 plateaus (see
:func:`~paretodet.models._teacher.plateau_reached`) or ``max_rounds``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paretodet.data import SynthSpec, load_dataset, read_truth, split_images, synthesize
from paretodet.errors import ModelError
from paretodet.models import DEMO_DATA_SPEC, plateau_reached

if TYPE_CHECKING:
    import numpy as np

    from paretodet.data import ImageTruth
    from paretodet.models import Detector, DetectorFamily

__all__ = [
    "TORCHVISION_TEACHERS",
    "TorchvisionTeacherRecipe",
    "torchvision_teacher_path",
    "torchvision_teacher_recipe",
    "train_torchvision_teacher",
]

CACHE_ENV = "PARETODET_CACHE"


@dataclass(frozen=True)
class TorchvisionTeacherRecipe:
    """How the torchvision demo teacher is trained (stored beside it).

    Rounds of ``round_epochs`` epochs (SGD, warm-up and cosine decay within each round, the starting rate
    times ``lr_decay`` each round) until val mAP50-95 gained less than ``min_gain`` over the last ``window``
    rounds (checked from ``min_rounds`` on: from scratch, SSD scores ~0 for its first epochs), or
    ``max_rounds``. The best round's weights are kept after every round. ``rcnn_rois`` / ``rcnn_proposals``
    (two-stage builders only): regions sampled per image for the box head and proposals kept per image while
    training (torchvision's 512 / 2,000 make a Faster R-CNN epoch 6x slower on 2 cores; inference keeps the
    builder's own settings).
    """

    name: str = "ssdlite"
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
    rcnn_rois: int = 64
    rcnn_proposals: int = 150


TORCHVISION_TEACHERS: dict[str, TorchvisionTeacherRecipe] = {
    "ssdlite": TorchvisionTeacherRecipe(),
    "fasterrcnn": TorchvisionTeacherRecipe(
        name="fasterrcnn",
        builder="fasterrcnn_mobilenet_v3_large_320_fpn",
        imgsz=320,  # at 192 px its 32-px smallest anchors miss the small shapes: 0.004 after 20 epochs
        lr=0.02,
        round_epochs=5,
        min_rounds=5,
        max_rounds=16,  # a bound, not the stop: it plateaued after 11 rounds (BENCHMARKS.md)
        window=2,
    ),
}


def torchvision_teacher_recipe(name: str) -> TorchvisionTeacherRecipe:
    """The recipe of the torchvision demo teacher ``name`` (``ssdlite`` or ``fasterrcnn``).

    Example:
        >>> torchvision_teacher_recipe("fasterrcnn").builder
        'fasterrcnn_mobilenet_v3_large_320_fpn'
    """
    if name not in TORCHVISION_TEACHERS:
        raise ModelError(f"unknown demo teacher '{name}': use one of {', '.join(TORCHVISION_TEACHERS)}")
    return TORCHVISION_TEACHERS[name]


def torchvision_teacher_path(name: str = "ssdlite") -> Path:
    """Where the trained torchvision demo teacher ``name`` is kept: ``$PARETODET_CACHE`` or ``~/.cache/paretodet``."""
    torchvision_teacher_recipe(name)
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "paretodet")
    return root / ("demo_teacher_torchvision.pt" if name == "ssdlite" else f"demo_teacher_{name}.pt")


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
    :func:`torchvision_teacher_path` of the recipe's name) with ``<dest>.json`` (recipe, learning curve and
    training seconds per round); return ``dest``.

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
    seconds: list[float] = []
    model = detector.model
    dest = dest or torchvision_teacher_path(recipe.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    record_path = dest.with_name(dest.name + ".json")
    if resume and dest.is_file() and record_path.is_file():
        record = json.loads(record_path.read_text())
        curve = list(record["val_map50_95_per_round"])
        seconds = list(record.get("train_seconds_per_round", []))
        model = family.load(str(dest)).model  # the best round's weights (the ones kept)
    _lighten_rcnn_training(model, recipe)
    for round_ in range(len(curve), recipe.max_rounds):
        started = time.perf_counter()
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
        seconds.append(round(time.perf_counter() - started, 1))
        current = detector.with_model(model, source=detector.source, digest="")
        curve.append(_val_map(family, current, truths, recipe))
        if on_round is not None:
            on_round(round_ + 1, recipe.max_rounds, curve[-1])
        if curve[-1] >= max(curve):  # keep the best round's weights (a killed run keeps what it reached)
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            family.save(current, tmp)
            os.replace(tmp, dest)
        record = {
            "recipe": asdict(recipe),
            "data": asdict(data_spec),
            "val_map50_95_per_round": curve,
            "train_seconds_per_round": seconds,
        }
        record_path.write_text(json.dumps(record, indent=2))
        if round_ + 1 >= recipe.min_rounds and plateau_reached(curve, window=recipe.window, min_gain=recipe.min_gain):
            break
    return dest


def _lighten_rcnn_training(model: object, recipe: TorchvisionTeacherRecipe) -> None:
    """Fewer sampled regions and proposals per image while a two-stage model trains (inference is untouched)."""
    roi_heads, rpn = getattr(model, "roi_heads", None), getattr(model, "rpn", None)
    if roi_heads is None or rpn is None:
        return
    roi_heads.fg_bg_sampler.batch_size_per_image = recipe.rcnn_rois
    rpn._pre_nms_top_n["training"] = 4 * recipe.rcnn_proposals
    rpn._post_nms_top_n["training"] = recipe.rcnn_proposals


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
