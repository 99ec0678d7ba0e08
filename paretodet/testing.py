"""Helpers for tests and benchmarks: a tiny YOLO model YAML and tiny checkpoints (no downloads)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

__all__ = ["tiny_model_yaml", "tiny_checkpoint"]


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
