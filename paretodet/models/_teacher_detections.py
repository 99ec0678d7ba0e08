"""A teacher of any family seen through its detections: the signal every pair of detector families shares.

Two detectors of different families share no anchor grid, head or feature layout, but both understand a
detection: a box and a class score. :class:`TeacherDetections` runs a frozen teacher through its family's
deployment path (``inference_module`` + ``decode``) on the letterboxed images the student trains on, at the
teacher's own training size (the image is resized to it and the boxes scaled back: a large teacher keeps
its resolution while a small student trains at a smaller one), and keeps
each image's detections in memory keyed by the image's bytes: an image seen again with the same augmentation
(torchvision students: the same image, flipped or not) costs no teacher pass. Random augmentations (Ultralytics'
mosaic) never repeat, so every batch then runs the teacher. :meth:`TeacherDetections.stats` tells what the
teacher cost.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from paretodet.data import check_class_names, names_unknown
from paretodet.errors import ConfigError

if TYPE_CHECKING:
    from paretodet.models._base import Detector

__all__ = [
    "MIN_BOX_SIDE",
    "MIN_SCORE",
    "TeacherDetections",
    "at_size",
    "check_same_classes",
    "encodable",
    "soften_scores",
]

MIN_SCORE = 0.05  # teacher detections below this score carry no signal worth matching
MIN_BOX_SIDE = 1.0  # px: the least width and height of a teacher box used as a target (as for ground truth)
TEACHER_IOU = 0.6  # the teacher's own NMS while producing targets
TEACHER_MAX_DET = 100
CACHE_IMAGES = 8192  # images whose detections are kept (the oldest go first)


def encodable(dets: np.ndarray) -> np.ndarray:
    """The detections whose boxes are at least ``MIN_BOX_SIDE`` wide and high (the teacher's boxes are clipped
    to the image, so one predicted beyond an edge comes out with zero width: no box coder can encode it).

    Example:
        >>> encodable(np.array([[0, 0, 4, 4, 0.9, 1], [10, 0, 10, 4, 0.8, 2]])).tolist()
        [[0.0, 0.0, 4.0, 4.0, 0.9, 1.0]]
    """
    sides = dets[:, 2:4] - dets[:, 0:2]
    return dets[(sides >= MIN_BOX_SIDE).all(axis=1)]


def soften_scores(scores: torch.Tensor, temperature: float) -> torch.Tensor:
    """A teacher's detection scores softened as Bernoulli logits: ``sigmoid(logit(s) / T)``.

    Example:
        >>> [round(v, 4) for v in soften_scores(torch.tensor([0.9, 0.5]), 2.0).tolist()]
        [0.75, 0.5]
    """
    clipped = scores.clamp(1e-4, 1 - 1e-4)
    return torch.sigmoid(torch.log(clipped / (1 - clipped)) / temperature)


def check_same_classes(teacher: Detector, *, names: Any = None, count: int | None = None, ignore: bool = False) -> None:
    """ConfigError in one line when the teacher predicts other classes than the student learns: another ``count``
    (a student that carries no names), or other ``names`` (a list, or Ultralytics' ``{index: name}``), the same
    names in another order included, unless ``ignore`` (``--ignore-class-names``: classes matched by id). The
    names compare as a model's with the data's do (``paretodet.data.check_class_names``); a teacher or student
    that names no classes is matched by id.

    Example:
        >>> check_same_classes(teacher, names=["circle", "square"])  # doctest: +SKIP
    """
    t_names = tuple(str(n) for n in teacher.names)
    s_names = [str(v) for v in (names.values() if isinstance(names, dict) else names or ())]
    fix = "distill from a teacher trained on the same classes"
    if count is not None and count != len(t_names):
        raise ConfigError(
            f"the teacher ({teacher.source}) predicts {len(t_names)} classes but the student learns {count}: {fix}"
        )
    if not s_names or names_unknown(s_names):
        return
    check_class_names(
        t_names,
        s_names,
        model=f"the teacher ({teacher.source})",
        data="the student",
        ignore=ignore,
        known=teacher.names_known,
        fix=fix,
    )


def at_size(image: torch.Tensor, size: int) -> tuple[torch.Tensor, float]:
    """``image`` (3, H, W) padded to a square at its bottom and right (the letterbox's grey) and resized to
    ``size``; with the scale from its pixels to the result's (boxes found there divide by it).

    Example:
        >>> out, scale = at_size(torch.zeros(3, 64, 32), 128)
        >>> tuple(out.shape), scale
        ((3, 128, 128), 2.0)
    """
    import torch.nn.functional as F

    _, h, w = image.shape
    side = max(h, w)
    if h != w:
        image = F.pad(image, (0, side - w, 0, side - h), value=114 / 255)
    if side == size:
        return image, 1.0
    resized = F.interpolate(image[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return resized[0], size / side


class TeacherDetections:
    """A frozen teacher of any family, run through its deployment path on letterboxed ``(B, 3, S, S)`` images."""

    def __init__(self, teacher: Detector, *, imgsz: int, cache_images: int = CACHE_IMAGES) -> None:
        from paretodet.models._families import get_family

        self.family = get_family(teacher.family)
        self.imgsz = int(teacher.train_imgsz or imgsz)  # the teacher sees images at its own training size
        self.module = self.family.inference_module(teacher, imgsz=self.imgsz).float().eval()
        for param in self.module.parameters():
            param.requires_grad_(False)
        self.cache_images = cache_images
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = self.misses = 0
        self.seconds = 0.0

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> list[np.ndarray]:
        """Per image: ``(n, 6)`` detections ``x0 y0 x1 y1 score cls`` in input pixels, scores >= MIN_SCORE, width
        and height >= MIN_BOX_SIDE."""
        start = time.perf_counter()
        results = []
        for image in images:
            cpu = image.detach().float().cpu().contiguous()  # the teacher's deployment path runs on the CPU
            key = hashlib.blake2b(cpu.numpy().tobytes(), digest_size=16).hexdigest()
            cached = self._cache.get(key)
            if cached is not None:
                self.hits += 1
                self._cache.move_to_end(key)
                results.append(cached)
                continue
            self.misses += 1
            resized, scale = at_size(cpu, self.imgsz)
            out = self.module(resized[None])
            outputs = [o.numpy() for o in (out if isinstance(out, tuple | list) else (out,))]
            dets = self.family.decode(outputs, conf=MIN_SCORE, iou=TEACHER_IOU, max_det=TEACHER_MAX_DET)
            dets[:, :4] /= scale
            dets = encodable(dets)
            self._cache[key] = dets
            if len(self._cache) > self.cache_images:
                self._cache.popitem(last=False)
            results.append(dets)
        self.seconds += time.perf_counter() - start
        return results

    def stats(self) -> dict[str, float]:
        """Teacher passes run (``misses``), images served from memory (``hits``) and seconds spent in the teacher.

        A KD epoch's extra cost over a plain epoch is ``teacher_s`` plus the KD terms themselves."""
        return {"teacher_passes": self.misses, "cache_hits": self.hits, "teacher_s": round(self.seconds, 1)}
