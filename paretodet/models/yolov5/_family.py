"""The original-YOLOv5 family: YOLOv5 checkpoints, read without the YOLOv5 code base (see ``_checkpoint``).

Everything downstream of loading is the Ultralytics family's (its stand-in model is an Ultralytics
``DetectionModel`` with the same output layout and Ultralytics' trainer), except the training loss and
distillation, which are YOLOv5's anchor-based ones (``_loss``). It has no students.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from paretodet.models._base import ALL_TECHNIQUES, Detector, DetectorFamily, KDSettings
from paretodet.models.ultralytics import FinetuneRecipe, UltralyticsFamily

__all__ = ["YoloV5Family"]


class YoloV5Family(UltralyticsFamily):
    """Original YOLOv5 ``.pt`` files (pickles of ``models.yolo.Model``)."""

    name: ClassVar[str] = "yolov5"
    techniques: ClassVar[frozenset[str]] = ALL_TECHNIQUES - {"student", "kd_features"}
    # the COCO YOLOv5n at 640 px keeps 94-97% of its mAP50-95 one-shot at 0.05, 49% at 0.1, 0% at 0.2
    # (benchmarks/one_shot_limit.py)
    one_shot_prune_limit: ClassVar[float | None] = 0.05
    # 1 QAT epoch of the COCO YOLOv5n on coco128 at 640 px: 0.2810 at 1e-4, 0.3103 at 3e-5, 0.3188 at 1e-5
    # (INT8 PTQ: 0.3170)
    qat_lr: ClassVar[float] = 1e-5
    # l2 0.3 recovered 5 epochs (plain or KD) or 20 stays at 0.0000 on coco128; l2 0.1 recovers (BENCHMARKS.md)
    recovered_prune_limit: ClassVar[float | None] = 0.1
    # fine-tuning a converged model on little data: AdamW at Ultralytics' own fit for short runs,
    # 0.002 * 5 / (4 + nc) (1.2e-4 for COCO's 80 classes), with a 1-epoch warm-up. On coco128 at 640 px the
    # unpruned COCO YOLOv5n fine-tuned 6 epochs this way scores 0.3177 against 0.3379 unmodified; the Ultralytics
    # family's 5e-4 without warm-up lost 14 points in 10 epochs (BENCHMARKS.md)
    recipe: ClassVar[FinetuneRecipe] = dataclasses.replace(
        UltralyticsFamily.recipe, lr_fit=(0.002 * 5, 4.0), warmup_epochs=1.0
    )

    def checkpoint_classes(self) -> dict[type, tuple[str, ...]]:
        """The stand-in model classes that pruned YOLOv5 checkpoints hold, besides the Ultralytics family's."""
        from paretodet.models.yolov5._checkpoint import YoloV5Detect, YoloV5Model

        old = "paretodet.models._yolov5"  # their module before the families got subpackages
        return {
            **super().checkpoint_classes(),
            YoloV5Model: (f"{old}.YoloV5Model",),
            YoloV5Detect: (f"{old}.YoloV5Detect",),
        }

    def claims(self, source: str) -> bool:
        """An existing ``.pt`` file whose pickle names YOLOv5's ``models.*`` classes, or paretodet's stand-in
        model (a pruned or fine-tuned YOLOv5 it saved), read without unpickling."""
        from paretodet.models.ultralytics import pickled_globals
        from paretodet.models.yolov5._checkpoint import YoloV5Model

        path = Path(source).expanduser()
        if path.suffix.lower() != ".pt" or not path.is_file():
            return False
        stand_in = {f"{YoloV5Model.__module__}.YoloV5Model", *self.checkpoint_classes()[YoloV5Model]}
        names = pickled_globals(path)
        return bool(names & stand_in) or any(name.startswith("models.") for name in names)

    def load(self, source: str, *, trust_model: bool = False, weights: Path | None = None) -> Detector:
        """The stand-in model and class names of a YOLOv5 checkpoint, or of one paretodet saved (a stage's
        pruned model: an Ultralytics checkpoint of the stand-in classes). The training size is the checkpoint's
        stored option, else YOLOv5's default 640."""
        from paretodet.base import file_digest
        from paretodet.errors import ModelError
        from paretodet.models.ultralytics import is_yolov5_checkpoint
        from paretodet.models.yolov5._checkpoint import load_yolov5

        if weights is not None:
            raise ModelError(f"--weights is for builder names (torchvision:...); {source} holds its own weights")
        path = Path(source).expanduser()
        if path.is_file() and not is_yolov5_checkpoint(path):
            saved = super().load(source, trust_model=trust_model)
            size = getattr(saved.model, "paretodet_train_imgsz", None)
            return dataclasses.replace(saved, family=self.name, train_imgsz=size)
        model, names = load_yolov5(path, trust_model=trust_model)
        return Detector(
            model=model,
            names=names,
            source=str(path),
            digest=file_digest(path),
            family=self.name,
            train_imgsz=int(getattr(model, "paretodet_train_imgsz")),  # noqa: B009 - set by load_yolov5
        )

    def training_recipe(self) -> dict[str, Any]:
        """The Ultralytics family's (this family's ``recipe``), with YOLOv5's default loss gains (``YoloV5Gains``:
        what the loss uses where a checkpoint stores none)."""
        from paretodet.models.yolov5._loss import YoloV5Gains

        base = super().training_recipe()
        return {**base, "recipe": {**base["recipe"], "loss_gains": dataclasses.asdict(YoloV5Gains())}}

    def techniques_with_teacher(self, detector: Detector, teacher_family: str) -> frozenset[str]:
        """Only a YOLOv5 teacher (same anchors) teaches a YOLOv5 model."""
        return DetectorFamily.techniques_with_teacher(self, detector, teacher_family)

    def distillation(self, teacher: Detector, settings: KDSettings) -> Callable[[Any], Any]:
        """Objectness, class and box distillation from a YOLOv5 teacher with the same anchors (the model a pruned
        student came from), cell by cell (see ``_loss``)."""
        from paretodet.errors import ConfigError
        from paretodet.models.yolov5._loss import YoloV5DistillationLoss

        if teacher.family != self.name:
            raise ConfigError(
                f"a YOLOv5 model learns from a YOLOv5 teacher with the same anchors only, not from a "
                f"{teacher.family} one: leave distill.teacher unset (the unpruned model teaches)"
            )

        def criterion(student: Any) -> Any:
            return YoloV5DistillationLoss(
                student, teacher.model, temperature=settings.temperature, alpha=settings.alpha
            )

        return criterion
