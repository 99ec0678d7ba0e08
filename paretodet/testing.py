"""Helpers for tests and benchmarks: a tiny YOLO model YAML and tiny checkpoints (no downloads)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["tiny_checkpoint", "tiny_model_yaml", "tiny_yolov5"]


def tiny_model_yaml(dest: Path, *, nc: int) -> Path:
    """Write a very small YOLOv8-shaped model YAML (width 1/8 of 'n') with ``nc`` classes.

    Named ``yolov8n-*.yaml`` so Ultralytics picks the ``n`` scale from the file name.
    """
    import ultralytics

    base = Path(ultralytics.__file__).parent / "cfg" / "models" / "v8" / "yolov8.yaml"
    cfg = yaml.safe_load(base.read_text())
    cfg["nc"] = nc
    cfg["scales"] = {"n": [0.33, 0.125, 1024]}
    dest.parent.mkdir(parents=True, exist_ok=True)
    path = dest.parent / f"yolov8n-{dest.stem}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def tiny_checkpoint(dest: Path, *, names: Sequence[str], seed: int = 0) -> Path:
    """An untrained tiny model with class ``names``, saved as an ordinary Ultralytics ``.pt`` at ``dest``."""
    import torch

    from paretodet.compress import export_artifact
    from paretodet.models import load_detector

    torch.manual_seed(seed)
    detector = load_detector(tiny_model_yaml(dest.with_suffix(".yaml"), nc=len(names)))
    # Ultralytics initialises BatchNorm to identity; random affine parameters give the untrained network
    # activations with a real spread (histogram calibrators cannot bin near-constant tensors)
    for module in detector.model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0.0, 0.5)
    setattr(detector.model, "names", dict(enumerate(names)))  # noqa: B010 (nn.Module attribute typing)
    detector.names = tuple(names)
    export_artifact(detector, dest, runtime="torch", imgsz=64, precision="fp32")
    return dest


# YOLOv5's default anchors (pixels) for strides 8, 16, 32
_V5_ANCHORS: list[list[float]] = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]


def tiny_yolov5(*, names: Sequence[str], seed: int = 0) -> Any:
    """A tiny untrained YOLOv5-shaped detector (Conv/C3/SPPF backbone, YOLOv5's anchor-based head on strides 8,
    16 and 32) of the ``yolov5`` family, with class ``names``."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from paretodet.models import Detector, YoloV5Detect, YoloV5Model

    torch.manual_seed(seed)
    cfg = {
        "nc": len(names),
        "scales": {"n": [0.33, 0.125, 1024]},
        "scale": "n",
        "backbone": [
            [-1, 1, "Conv", [64, 3, 2]],
            [-1, 1, "Conv", [128, 3, 2]],
            [-1, 1, "C3", [128]],
            [-1, 1, "Conv", [256, 3, 2]],
            [-1, 1, "C3", [256]],  # 4: stride 8
            [-1, 1, "Conv", [512, 3, 2]],
            [-1, 1, "C3", [512]],  # 6: stride 16
            [-1, 1, "Conv", [1024, 3, 2]],
            [-1, 1, "SPPF", [1024, 5]],  # 8: stride 32
        ],
        "head": [[[4, 6, 8], 1, "Detect", ["nc"]]],
    }
    model: Any = DetectionModel(cfg, nc=len(names), verbose=False)
    old = model.model[-1]
    channels = [branch[0].conv.in_channels for branch in old.cv2]  # what each level feeds the head
    head: Any = YoloV5Detect.create(channels, nc=len(names), anchors=_V5_ANCHORS, strides=[8, 16, 32])
    head.f, head.i, head.type, head.np = old.f, old.i, "models.yolo.Detect", sum(p.numel() for p in head.parameters())
    model.model[-1] = head
    model.__class__ = YoloV5Model
    model.stride = head.stride
    model.names = dict(enumerate(names))
    model.paretodet_train_imgsz = 64
    for param in model.parameters():
        param.requires_grad_(False)
    return Detector(
        model=model.float().eval(), names=tuple(names), source="tiny-yolov5", digest=f"tiny-yolov5-{seed}",
        family="yolov5", train_imgsz=64,
    )  # fmt: skip
