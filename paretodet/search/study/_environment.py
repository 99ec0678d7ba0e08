"""The environment a trial ran in (stored with every trial for reproducibility)."""

from __future__ import annotations

import os
import platform
import socket
from importlib import metadata
from typing import Any

from paretodet.base import cpu_model

__all__ = ["environment"]

_PACKAGES = ("paretodet", "torch", "torchvision", "ultralytics", "onnx", "onnxruntime", "optuna", "numpy")


def environment() -> dict[str, Any]:
    """Host, CPU, Python and package versions."""
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "packages": versions,
    }
