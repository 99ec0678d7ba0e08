"""The original-YOLOv5 family: YOLOv5 checkpoints, read without the YOLOv5 code base (see ``_yolov5``).

Everything downstream of loading is the Ultralytics family's (its stand-in model is an Ultralytics
``DetectionModel`` with the same output layout); it has no training loss, so no technique that trains.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from paretodet.models._base import Detector
from paretodet.models._ultralytics_family import UltralyticsFamily

__all__ = ["YoloV5Family"]


class YoloV5Family(UltralyticsFamily):
    """Original YOLOv5 ``.pt`` files (pickles of ``models.yolo.Model``)."""

    name: ClassVar[str] = "yolov5"
    techniques: ClassVar[frozenset[str]] = frozenset({"fp16", "int8", "mixed_precision", "prune", "unstructured"})

    def claims(self, source: str) -> bool:
        """An existing ``.pt`` file whose pickle names YOLOv5's ``models.*`` classes (read without unpickling)."""
        from paretodet.models._ultralytics import is_yolov5_checkpoint

        path = Path(source).expanduser()
        return path.suffix.lower() == ".pt" and path.is_file() and is_yolov5_checkpoint(path)

    def load(self, source: str, *, trust_model: bool = False, weights: Path | None = None) -> Detector:
        """The stand-in model and class names of a YOLOv5 checkpoint, or of one paretodet saved (a stage's
        pruned model: an Ultralytics checkpoint of the stand-in classes)."""
        import dataclasses

        from paretodet.base import file_digest
        from paretodet.errors import ModelError
        from paretodet.models._ultralytics import is_yolov5_checkpoint
        from paretodet.models._yolov5 import load_yolov5

        if weights is not None:
            raise ModelError(f"--weights is for builder names (torchvision:...); {source} holds its own weights")
        path = Path(source).expanduser()
        if path.is_file() and not is_yolov5_checkpoint(path):
            saved = super().load(source, trust_model=trust_model)
            return dataclasses.replace(saved, trainable=False, family=self.name)
        model, names = load_yolov5(path, trust_model=trust_model)
        return Detector(
            model=model, names=names, source=str(path), digest=file_digest(path), trainable=False, family=self.name
        )
