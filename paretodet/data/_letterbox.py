"""Ultralytics-style letterbox preprocessing (evaluation and calibration share it) and its inverse."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paretodet.errors import DataError

__all__ = ["Letterbox", "letterbox", "read_image", "unletterbox_boxes"]

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the square input: ``x_in = x_orig * ratio + pad_x``."""

    ratio: float
    pad_x: float
    pad_y: float
    orig_h: int
    orig_w: int


def read_image(path: Path) -> np.ndarray:
    """Read an image as BGR uint8 (greyscale and alpha images become 3-channel)."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"cannot read image {path}: the file is missing or not an image")
    return img


def letterbox(img: np.ndarray, imgsz: int) -> tuple[np.ndarray, Letterbox]:
    """Resize the long side to ``imgsz`` and pad to a centred square, as Ultralytics' (8.4) validator does: bilinear
    in both directions, sides rounded up (its dataset's ``load_image``), grey padding split as its ``LetterBox``.

    Returns the network input ``(1, 3, imgsz, imgsz)`` float32 RGB in [0, 1] and the mapping.
    """
    import cv2

    h, w = img.shape[:2]
    ratio = imgsz / max(h, w)
    if ratio != 1:
        size = (min(imgsz, math.ceil(w * ratio)), min(imgsz, math.ceil(h * ratio)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    nh, nw = img.shape[:2]
    dw, dh = (imgsz - nw) / 2, (imgsz - nh) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    tensor = np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    return tensor, Letterbox(ratio=ratio, pad_x=left, pad_y=top, orig_h=h, orig_w=w)


def unletterbox_boxes(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """Map ``xyxy`` boxes from network input pixels back to original image pixels (clipped)."""
    out = boxes.astype(np.float64, copy=True)
    out[:, [0, 2]] = (out[:, [0, 2]] - lb.pad_x) / lb.ratio
    out[:, [1, 3]] = (out[:, [1, 3]] - lb.pad_y) / lb.ratio
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, lb.orig_w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, lb.orig_h)
    return out
