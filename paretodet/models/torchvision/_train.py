"""Training of torchvision detectors: a plain torch loop on torchvision's own detection losses.

Images are letterboxed to the network size exactly as evaluation feeds them (so the model's transform never
resizes), boxes mapped with the same ratio and padding; difficult objects are left out. Labels are the
model's torchvision labels (its label map: class + 1 for paretodet-trained models, COCO ids for COCO ones).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from paretodet.errors import ConfigError, DataError, TrainingDiverged
from paretodet.models._base import EpochCallback, TrainRecipe
from paretodet.models._divergence import diverged_reason
from paretodet.models.torchvision._onnx import set_input_size

if TYPE_CHECKING:
    from paretodet.data import DatasetInfo

__all__ = ["TORCHVISION_RECIPE", "Batch", "TorchvisionRecipe", "batch_loss", "finetune", "loss_batches"]

LOSS_BATCH = 4  # images per batch of loss_batches


@dataclass(frozen=True)
class TorchvisionRecipe:
    """How torchvision detectors fine-tune: SGD (``momentum``, ``weight_decay``) at ``lr`` (a run's own rate
    replaces it), a linear warm-up over ``warmup_iters`` updates (at most ``warmup_share`` of the run), then
    cosine decay to ``final_lr_share`` of the rate; gradients clipped to norm ``grad_clip``; horizontal flips
    with probability ``flip``. The family's ``recipe``; trained stages' cache keys hash it."""

    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_iters: int = 50
    warmup_share: float = 0.1
    final_lr_share: float = 0.01
    grad_clip: float = 10.0
    flip: float = 0.5


TORCHVISION_RECIPE = TorchvisionRecipe()


@dataclass(frozen=True)
class Batch:
    """Letterboxed training images (``(3, S, S)`` RGB in [0, 1]) with boxes (input pixels) and class ids."""

    images: tuple[torch.Tensor, ...]
    boxes: tuple[torch.Tensor, ...]
    classes: tuple[torch.Tensor, ...]
    imgsz: int

    def to(self, device: str) -> Batch:
        """The same batch with its tensors on ``device``."""
        if device == "cpu":
            return self
        move = lambda tensors: tuple(t.to(device) for t in tensors)  # noqa: E731
        return Batch(move(self.images), move(self.boxes), move(self.classes), self.imgsz)


def finetune(
    model: nn.Module,
    data: DatasetInfo,
    *,
    imgsz: int,
    recipe: TrainRecipe,
    workdir: Path,
    on_epoch: EpochCallback | None = None,
    criterion: Callable[[Any], Any] | None = None,
    settings: TorchvisionRecipe = TORCHVISION_RECIPE,
) -> nn.Module:
    """Train ``model`` in place on ``data``'s train split; return it in eval mode.

    As ``settings`` (the family's recipe) says: SGD (momentum 0.9, weight decay 1e-4, ``recipe.lr`` or 0.01) with
    warm-up and cosine decay, horizontal flips, gradients clipped to norm 10; seeded by ``recipe.seed``;
    ``criterion(model)``, when given, is a distillation criterion (the family's ``distillation``) called with the
    batch's images, the task loss and the label map; on ``recipe.device`` (the model comes back on the CPU).
    Batch-norm statistics stay frozen for models loaded from trained weights (``paretodet_frozen_bn``). Mean
    losses per epoch go to ``workdir/train_log.csv``.

    Example:
        >>> recipe = TrainRecipe(epochs=3)
        >>> model = finetune(det.model, info, imgsz=320, recipe=recipe, workdir=Path("w"))  # doctest: +SKIP
    """
    images = _train_images(data)
    model.to(recipe.device)
    class_to_label = _class_to_label(model, data.nc).to(recipe.device)
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    lr = settings.lr if recipe.lr is None else float(recipe.lr)
    batch = max(1, int(recipe.batch))
    params = [p for p in model.parameters()]
    for param in params:
        param.requires_grad_(True)
    optimizer = torch.optim.SGD(params, lr=lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    steps = math.ceil(len(images) / batch)
    total = max(1, recipe.epochs * steps)
    warmup = max(1, min(settings.warmup_iters, int(total * settings.warmup_share)))
    floor = settings.final_lr_share
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: _lr_factor(i, warmup, total, floor))
    set_input_size(model, imgsz)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "train_log.csv"
    rows: list[list[Any]] = []
    kd = criterion(model) if criterion is not None else None  # e.g. compress._detection_kd.DetectionKD
    try:
        for epoch in range(recipe.epochs):
            _train_mode(model)
            order = rng.permutation(len(images))
            losses: list[float] = []
            for start in range(0, len(order), batch):
                paths = [images[i] for i in order[start : start + batch]]
                batch_data = _read_batch(data, paths, imgsz, rng=rng, flip=settings.flip).to(recipe.device)
                loss, parts = _batch_loss(model, batch_data, class_to_label, kd)
                if not math.isfinite(float(loss.detach())):
                    done = epoch * steps + len(losses)
                    raise TrainingDiverged(diverged_reason(parts, epoch=epoch + 1, updates=done, lr=lr))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
                optimizer.step()
                scheduler.step()
                losses.append(float(loss.detach()))
            rows.append([epoch + 1, float(np.mean(losses)), optimizer.param_groups[0]["lr"]])
            _write_log(log, rows)
            model.eval()
            if on_epoch is not None:
                on_epoch(epoch + 1, recipe.epochs, model)
    finally:
        if kd is not None:
            kd.remove()
    return model.cpu().eval()


def loss_batches(data: DatasetInfo, *, imgsz: int, count: int) -> list[Batch]:
    """``count`` batches of up to 4 training images (cycled in file order; no augmentation)."""
    images = _train_images(data)
    batches = []
    for k in range(count):
        paths = [images[(k * LOSS_BATCH + j) % len(images)] for j in range(min(LOSS_BATCH, len(images)))]
        batches.append(_read_batch(data, paths, imgsz, rng=None))
    return batches


def batch_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
    """The summed torchvision training losses of ``model`` on ``batch``; batch-norm layers run on their
    running statistics (gradients for Taylor importance must not move them)."""
    set_input_size(model, batch.imgsz)
    model.train()
    _freeze_bn(model)
    return _loss(model, batch, _class_to_label(model, None))


# --------------------------------------------------------------------------------------------- helpers


def _lr_factor(step: int, warmup: int, total: int, floor: float) -> float:
    warm = min(1.0, (step + 1) / warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    return warm * (floor + (1 - floor) * cosine)


def _train_mode(model: nn.Module) -> None:
    model.train()
    if getattr(model, "paretodet_frozen_bn", False):
        _freeze_bn(model)


def _freeze_bn(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def _class_to_label(model: nn.Module, nc: int | None) -> torch.Tensor:
    """class id -> torchvision label, from the model's label map (label = class + 1 without one)."""
    label_map: Sequence[int] | None = getattr(model, "paretodet_label_map", None)
    if not label_map:
        if nc is None:
            raise ConfigError("this torchvision model carries no label map: load it through paretodet")
        label_map = (-1, *range(nc))
    classes = max(label_map) + 1
    if nc is not None and nc != classes:
        raise ConfigError(f"the data has {nc} classes but the torchvision model predicts {classes}")
    lut = torch.full((classes,), -1, dtype=torch.int64)
    for label, cls in enumerate(label_map):
        if cls >= 0:
            lut[cls] = label
    return lut


def _batch_loss(
    model: nn.Module, batch: Batch, class_to_label: torch.Tensor, kd: Any
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss to minimise (the task loss, or the distillation criterion's total with a teacher) and the value
    of each of its terms: torchvision's task losses by their names, then the criterion's own (``kd_*``)."""
    terms = _losses(model, batch, class_to_label)
    task = sum(terms.values(), torch.zeros((), device=batch.images[0].device))
    parts = {name: float(value.detach()) for name, value in terms.items()}
    if kd is None:
        return task, parts
    total, kd_parts = kd(torch.stack(batch.images), lambda: task, class_to_label)
    return total, {**parts, **{k: v for k, v in kd_parts.items() if k != "task"}}


def _losses(model: nn.Module, batch: Batch, class_to_label: torch.Tensor) -> dict[str, torch.Tensor]:
    """torchvision's training losses of ``model`` on ``batch``, by name (``classification``, ``bbox_regression``...)."""
    targets = [
        {"boxes": boxes, "labels": class_to_label[classes]}
        for boxes, classes in zip(batch.boxes, batch.classes, strict=True)
    ]
    return dict(model(list(batch.images), targets))


def _loss(model: nn.Module, batch: Batch, class_to_label: torch.Tensor) -> torch.Tensor:
    return sum(_losses(model, batch, class_to_label).values(), torch.zeros((), device=batch.images[0].device))


def _train_images(data: DatasetInfo) -> list[Path]:
    from paretodet.data import split_images

    images = split_images(data, "train")
    if not images:
        raise DataError(f"{data.yaml_path} has no training images: add images to its train split")
    return images


def _read_batch(
    data: DatasetInfo, paths: Sequence[Path], imgsz: int, *, rng: np.random.Generator | None, flip: float = 0.0
) -> Batch:
    """Letterboxed images with their boxes (difficult and degenerate ones dropped); ``rng``: horizontal flips
    with probability ``flip``."""
    from paretodet.data import letterbox, read_image, read_truth

    images, boxes, classes = [], [], []
    for path in paths:
        truth = read_truth(data, path)
        tensor, lb = letterbox(read_image(path), imgsz)
        keep = ~truth.difficult
        xyxy = truth.boxes[keep].copy()
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]] * lb.ratio + lb.pad_x
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]] * lb.ratio + lb.pad_y
        xyxy = xyxy.clip(0, imgsz)
        image = torch.from_numpy(tensor[0])
        if rng is not None and rng.random() < flip:
            image = image.flip(-1)
            xyxy[:, [0, 2]] = imgsz - xyxy[:, [2, 0]]
        big = (xyxy[:, 2] - xyxy[:, 0] >= 1) & (xyxy[:, 3] - xyxy[:, 1] >= 1)
        images.append(image.contiguous())
        boxes.append(torch.as_tensor(xyxy[big], dtype=torch.float32).reshape(-1, 4))
        classes.append(torch.as_tensor(truth.classes[keep][big], dtype=torch.int64))
    return Batch(tuple(images), tuple(boxes), tuple(classes), imgsz)


def _write_log(path: Path, rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["epoch", "loss", "lr"])
        writer.writerows(rows)
