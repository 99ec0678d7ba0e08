"""Fine-tuning a modified detector (pruned, fake-quantized) with the Ultralytics trainer, keeping the model.

The stock ``DetectionTrainer`` rebuilds its model from the YAML, which silently undoes pruning; here the
trainer's ``model`` is preset, so the modified module itself is trained and returned (its EMA weights).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from torch import nn

from paretodet.base import heavy_work
from paretodet.models.ultralytics._features import detach_feature_projectors
from paretodet.models.ultralytics._recipe import FinetuneRecipe

__all__ = ["EpochCallback", "FinetuneRecipe", "finetune", "quiet_ultralytics", "training_batches"]

EpochCallback = Callable[[int, int, nn.Module], None]


@contextmanager
def quiet_ultralytics() -> Iterator[None]:
    """Silence Ultralytics' log and its progress bars (disabled above INFO) while library code trains."""
    logger = logging.getLogger("ultralytics")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def finetune(
    model: nn.Module,
    data_yaml: Path,
    *,
    imgsz: int,
    recipe: FinetuneRecipe,
    workdir: Path,
    name: str = "finetune",
    on_epoch: EpochCallback | None = None,
    criterion: Callable[[nn.Module], Any] | None = None,
    trainer_args: dict[str, Any] | None = None,
) -> nn.Module:
    """Train ``model`` itself (not a rebuild from YAML) for ``recipe.epochs``; return its EMA weights in eval mode.

    ``data_yaml`` must hold absolute paths. ``on_epoch(done, total, ema_model)`` runs after each epoch (for
    progress bars and snapshots; copy the model if you keep it). ``criterion(model)`` builds the training loss
    (default: the model's own); ``trainer_args`` are extra Ultralytics training arguments.
    """
    from ultralytics.models.yolo.detect import DetectionTrainer

    net = copy.deepcopy(model).float().cpu()
    for param in net.parameters():
        param.requires_grad_(True)
    args = {
        "model": f"{name}.pt",
        "data": str(data_yaml),
        "epochs": recipe.epochs,
        "imgsz": imgsz,
        "batch": recipe.batch,
        "device": "cpu" if recipe.device == "cpu" else recipe.device.partition(":")[2] or "0",  # CUDA index
        "workers": 0,
        "seed": recipe.seed,
        "deterministic": True,
        "plots": False,
        "optimizer": recipe.optimizer,
        "lr0": recipe.lr,
        "lrf": recipe.lrf,
        "momentum": recipe.momentum,
        "warmup_epochs": recipe.warmup_epochs,
        "warmup_bias_lr": recipe.warmup_bias_lr,
        "mosaic": recipe.mosaic,
        "close_mosaic": recipe.close_mosaic,
        "amp": recipe.amp,
        "verbose": False,
        "project": str(workdir),
        "name": name,
        "exist_ok": True,
        "val": False,
        "save": False,
        **(trainer_args or {}),
    }
    done = 0

    def _on_fit_epoch_end(tr: Any) -> None:
        nonlocal done
        if done >= recipe.epochs:  # a final re-validation after training is not an epoch
            return
        done += 1
        if on_epoch is not None:
            on_epoch(done, recipe.epochs, tr.ema.ema if tr.ema is not None else tr.model)

    with quiet_ultralytics():
        trainer: Any = DetectionTrainer(overrides=args)
        trainer.model = net  # kept: the stock setup would rebuild the model from YAML
        trainer.add_callback("on_fit_epoch_end", _on_fit_epoch_end)
        if criterion is not None:  # set once the trainer set model.args (the loss gains) and made its EMA copy
            trainer.add_callback("on_train_start", lambda tr: setattr(tr.model, "criterion", criterion(tr.model)))
        with ExitStack() as batch_unit:  # each batch is a unit of heavy work (see paretodet.base._host)
            trainer.add_callback("on_train_batch_start", lambda _tr: batch_unit.enter_context(heavy_work()))
            trainer.add_callback("on_train_batch_end", lambda _tr: batch_unit.close())
            trainer.train()
    trained: Any = trainer.ema.ema if trainer.ema is not None else trainer.model
    trained = getattr(trained, "student_model", trained)  # Ultralytics' own distillation wraps the student
    trained.criterion = None
    detach_feature_projectors(trained)  # feature distillation's training-only projectors
    return copy.deepcopy(trained).float().cpu().eval()


def training_batches(data_yaml: Path, *, imgsz: int, count: int, batch: int = 16) -> list[dict[str, Any]]:
    """Up to ``count`` shuffled, letterboxed training batches (no augmentation) in the trainer's format, images
    scaled to [0, 1]. ``data_yaml`` must hold absolute paths."""
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_dataloader, build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    cfg: Any = get_cfg(overrides={"imgsz": imgsz})
    with quiet_ultralytics():
        data = check_det_dataset(str(data_yaml))
        dataset = build_yolo_dataset(cfg, data["train"], batch, data, mode="val", stride=32)
    batches = []
    for item in build_dataloader(dataset, batch, 0, shuffle=True):
        item["img"] = item["img"].float() / 255
        batches.append(item)
        if len(batches) >= count:
            break
    return batches
