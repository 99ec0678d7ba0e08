"""The torchvision family: SSD, SSDlite, Faster R-CNN, RetinaNet and FCOS from ``torchvision.models.detection``,
with its loading (builders, weights, label maps), trainer, detection-level KD, ONNX export wrapper and INT8
blocks, and pruning through Torch-Pruning."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paretodet.base import declared_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, declared_exports(__file__, __name__))

if TYPE_CHECKING:  # the public names (the one list)
    from paretodet.models.torchvision._family import (
        BUILDERS as BUILDERS,
        TorchvisionFamily as TorchvisionFamily,
        build_torchvision as build_torchvision,
        list_builders as list_builders,
    )
    from paretodet.models.torchvision._kd import (
        DetectionKD as DetectionKD,
        is_ssd_style as is_ssd_style,
        softened_targets as softened_targets,
    )
