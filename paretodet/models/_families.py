"""The detector family registry: one entry per family, looked up by name or by what a user names.

Families are imported lazily (their modules import torch and the family's own library), in registry order;
the first whose ``claims`` accepts a source loads it. Ultralytics comes last: it also claims bare names
(``yolov8n.pt``) that its own code downloads.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from paretodet.base import did_you_mean
from paretodet.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from paretodet.models._base import Detector, DetectorFamily

__all__ = ["family_for", "get_family", "list_families", "load_detector", "register_family", "techniques_for"]

# name -> "module:Class", in claim order
_ENTRIES: dict[str, str] = {
    "torchvision": "paretodet.models.torchvision:TorchvisionFamily",
    "yolov5": "paretodet.models.yolov5:YoloV5Family",
    "ultralytics": "paretodet.models.ultralytics:UltralyticsFamily",
}
_LOADED: dict[str, DetectorFamily] = {}


def register_family(name: str, target: str | DetectorFamily, *, first: bool = True) -> None:
    """Register a family (an instance, or ``"module:Class"`` imported on first use). ``first``: it is asked
    to claim sources before the built-ins.

    Example:
        >>> register_family("mmdet", "my_pkg.mmdet_family:MMDetFamily")  # doctest: +SKIP
    """
    global _ENTRIES
    _LOADED.pop(name, None)
    entries = {k: v for k, v in _ENTRIES.items() if k != name}
    if isinstance(target, str):
        value = target
    else:
        _LOADED[name] = target
        value = f"<instance {type(target).__name__}>"
    _ENTRIES = {name: value, **entries} if first else {**entries, name: value}


def list_families() -> list[str]:
    """Names of the registered families, in claim order."""
    return list(_ENTRIES)


def get_family(name: str) -> DetectorFamily:
    """The family registered as ``name``; ConfigError with the known names (and a close one) otherwise."""
    if name not in _ENTRIES:
        hint = did_you_mean(name, _ENTRIES)
        raise ConfigError(f"unknown detector family '{name}'{hint}: use one of {', '.join(_ENTRIES)}")
    if name not in _LOADED:
        module_name, _, class_name = _ENTRIES[name].partition(":")
        _LOADED[name] = getattr(importlib.import_module(module_name), class_name)()
    return _LOADED[name]


def family_for(source: str | Path) -> DetectorFamily:
    """The first family that claims ``source``; ModelError when none does."""
    text = str(source)
    for name in _ENTRIES:
        family = get_family(name)
        if family.claims(text):
            return family
    path = Path(text).expanduser()
    if path.is_dir():
        raise ModelError(f"model {path} is a folder: pass a .pt checkpoint, a model .yaml or torchvision:BUILDER")
    raise ModelError(
        f"model {text} is not a .pt checkpoint or model .yaml, nor torchvision:BUILDER: pass one of those "
        "(Ultralytics/YOLOv5 checkpoints, paretodet's own, or a torchvision builder with --weights)"
    )


def techniques_for(detector: Detector, *, teacher: str | Path = "") -> frozenset[str]:
    """What ``detector`` supports, learning from ``teacher`` (``distill.teacher``; empty: itself teaches).

    Example:
        >>> "kd_features" in techniques_for(yolo, teacher="torchvision:ssdlite320_mobilenet_v3_large")  # doctest: +SKIP
        False
    """
    family = get_family(detector.family)
    if not str(teacher):
        return family.supported_techniques(detector)
    return family.techniques_with_teacher(detector, family_for(teacher).name)


def load_detector(source: str | Path, *, trust_model: bool = False, weights: Path | None = None) -> Detector:
    """Load the detector ``source`` names, through the family that claims it.

    ``weights``: a state dict for builder names (``torchvision:fasterrcnn_mobilenet_v3_large_320_fpn``).
    ``trust_model``: let an Ultralytics/YOLOv5 checkpoint run code while unpickled (trusted files only).

    Example:
        >>> det = load_detector("runs/teacher/weights/best.pt")  # doctest: +SKIP
        >>> det = load_detector("torchvision:ssdlite320_mobilenet_v3_large", weights=Path("ssd.pth"))  # doctest: +SKIP
    """
    family = family_for(source)
    if weights is not None and not Path(weights).expanduser().is_file():
        raise ModelError(f"weights file not found: {weights} (check the --weights path)")
    return family.load(str(source), trust_model=trust_model, weights=Path(weights).expanduser() if weights else None)
