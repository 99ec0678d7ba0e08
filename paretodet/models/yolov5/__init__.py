"""The original-YOLOv5 family: YOLOv5 checkpoints read without the YOLOv5 code base (stand-in module classes),
trained with Ultralytics' trainer and YOLOv5's own loss and KD."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.models.yolov5._checkpoint import (
        YoloV5Detect as YoloV5Detect,
        YoloV5Model as YoloV5Model,
        load_yolov5 as load_yolov5,
    )
    from paretodet.models.yolov5._family import YoloV5Family as YoloV5Family
    from paretodet.models.yolov5._loss import (
        YoloV5DistillationLoss as YoloV5DistillationLoss,
        YoloV5Gains as YoloV5Gains,
        YoloV5Loss as YoloV5Loss,
        assign_targets as assign_targets,
    )
