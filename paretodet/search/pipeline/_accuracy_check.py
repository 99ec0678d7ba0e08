"""The score NNCF's accuracy control steers by: mAP50-95 on held-out training images (never the val split,
which measures the artifact)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paretodet.data import DatasetInfo, read_truth
from paretodet.objectives import coco_map, predict

__all__ = ["ACCURACY_CHECK_IMAGES", "accuracy_check"]

ACCURACY_CHECK_IMAGES = 64  # held-out training images accuracy control scores on


class _Callable:
    """A runner made of a function (what accuracy control hands over: batch -> raw outputs)."""

    def __init__(self, run: Callable[[np.ndarray], list[np.ndarray]], family: str) -> None:
        self.run = run
        self.family = family
        self.threads = 0
        self.precision_hint = ""
        self.provider = ""

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.run(batch)


def accuracy_check(
    data: DatasetInfo, images: Sequence[Path], *, imgsz: int, family: str
) -> Callable[[Callable[[Any], list[Any]]], float]:
    """``score(run)``: mAP50-95 of a model (``run`` maps a letterboxed batch to its raw outputs, decoded by
    ``family``) on ``images`` of ``data``'s training split (0 when it finds nothing).

    Example:
        >>> score = accuracy_check(data, held_out, imgsz=640, family="ultralytics")  # doctest: +SKIP
        >>> score(lambda batch: session.run(None, {"images": batch}))  # doctest: +SKIP
        0.61
    """
    truths = [read_truth(data, path) for path in images]

    def score(run: Callable[[Any], list[Any]]) -> float:
        value = coco_map(predict(_Callable(run, family), truths, imgsz=imgsz), data.names).map50_95
        return 0.0 if np.isnan(value) else float(value)

    return score
