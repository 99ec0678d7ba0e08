"""Scoring detections against ``ImageTruth`` of any dataset format.

Two protocols: COCO (pycocotools; difficult objects ignored, crowd regions scored as crowds) and Pascal VOC
mAP@0.5 (11-point and area under the precision envelope), written from the VOC devkit's description.
Detections are COCO-format result dicts ``{image_id, category_id, bbox: [x, y, w, h], score}`` whose
``image_id`` is the position of the image in ``truths`` and ``category_id`` the class id.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paretodet.data import ImageTruth

__all__ = ["VocResult", "coco_ground_truth", "score_coco", "voc_map"]

VOC_IOU = 0.5


def coco_ground_truth(truths: Sequence[ImageTruth], names: Sequence[str]) -> dict[str, Any]:
    """COCO-format ground truth of ``truths``: image id = position, category id = class id.

    Difficult objects are kept with ``"difficult": 1`` (``score_coco`` ignores them); crowd objects also get
    ``"iscrowd": 1``.

    Example:
        >>> gt = coco_ground_truth([read_truth(info, p) for p in split_images(info)], info.names)  # doctest: +SKIP
    """
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, truth in enumerate(truths):
        images.append({"id": image_id, "file_name": truth.path.name, "width": truth.width, "height": truth.height})
        assert truth.crowd is not None
        for (x0, y0, x1, y1), cls, difficult, crowd in zip(truth.boxes, truth.classes, truth.difficult, truth.crowd):
            w, h = float(x1 - x0), float(y1 - y0)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls),
                    "bbox": [float(x0), float(y0), w, h],
                    "area": w * h,
                    "iscrowd": int(crowd),
                    "difficult": int(difficult or crowd),
                }
            )
    categories = [{"id": i, "name": n} for i, n in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}


def score_coco(gt: dict[str, Any], results: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """``(mAP50-95, mAP50)`` of ``results`` against ``gt`` (from ``coco_ground_truth``) by pycocotools.

    Ground truth flagged ``difficult`` is ignored: a detection matching it is neither a hit nor a false positive
    and missing it costs no recall. NaN when there is no ground truth left to find, 0.0 when there are no
    detections. Neither argument is modified.

    Example:
        >>> map50_95, map50 = score_coco(gt, predictions.results)  # doctest: +SKIP
    """
    if not any(not a.get("difficult") and not a.get("iscrowd") for a in gt["annotations"]):
        return math.nan, math.nan
    if not results:
        return 0.0, 0.0
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco_gt = COCO()
        coco_gt.dataset = {**gt, "annotations": [dict(a) for a in gt["annotations"]]}  # it writes into them
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([dict(r) for r in results])
        evaluator = _evaluator_class()(coco_gt, coco_dt, iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = [float(s) if s >= 0 else math.nan for s in evaluator.stats[:2]]  # -1: nothing to score
    return stats[0], stats[1]


@functools.cache
def _evaluator_class() -> type:
    """pycocotools' COCOeval, ignoring ground truth flagged ``difficult`` (defined here: imports stay lazy)."""
    from pycocotools.cocoeval import COCOeval

    class DifficultIgnoringCOCOeval(COCOeval):
        """COCOeval whose ``_prepare`` also marks ``difficult`` ground truth ``ignore`` (as it marks crowds)."""

        def _prepare(self) -> None:
            super()._prepare()  # sets gt["ignore"] = iscrowd, then groups gts by (image, category)
            for gts in self._gts.values():
                for g in gts:
                    if g.get("difficult"):
                        g["ignore"] = 1

    return DifficultIgnoringCOCOeval


@dataclass(frozen=True)
class VocResult:
    """Pascal VOC mAP@0.5 by both interpolations, and the AP of each class (NaN: no non-difficult object).

    Attributes:
        map50_07_11pt: mean AP by VOC2007's 11-point interpolation.
        map50_area: mean AP as the area under the monotone precision envelope (VOC2010 onwards).
    """

    map50_07_11pt: float
    map50_area: float
    ap_11pt: tuple[float, ...]
    ap_area: tuple[float, ...]


def voc_map(truths: Sequence[ImageTruth], results: Sequence[dict[str, Any]], *, nc: int) -> VocResult:
    """Pascal VOC mAP@0.5 of ``results`` on ``truths``, by the VOC protocol.

    Per class: detections in descending score order are matched greedily, each to the same-class object of its
    image with the highest IoU; IoU >= 0.5 with an object not matched before is a true positive, with one
    matched before a false positive (a duplicate), with a difficult object neither; lower IoU is a false
    positive. Recall counts non-difficult objects. Classes without a non-difficult object are skipped.

    Example:
        >>> res = voc_map(truths, predictions.results, nc=20)  # doctest: +SKIP
        >>> res.map50_07_11pt, res.map50_area  # doctest: +SKIP
        (0.71, 0.73)
    """
    per_class: list[list[tuple[float, int, np.ndarray]]] = [[] for _ in range(nc)]
    for det in results:
        cls, image_id = int(det["category_id"]), int(det["image_id"])
        if not (0 <= cls < nc and 0 <= image_id < len(truths)):
            raise ValueError(f"detection {det} names a class outside 0..{nc - 1} or an unknown image")
        x, y, w, h = (float(v) for v in det["bbox"])
        per_class[cls].append((float(det["score"]), image_id, np.array([x, y, x + w, y + h])))
    ap_11pt, ap_area = [], []
    for cls, dets in enumerate(per_class):
        curve = _pr_curve(truths, dets, cls)
        ap_11pt.append(math.nan if curve is None else _ap_11pt(*curve))
        ap_area.append(math.nan if curve is None else _ap_area(*curve))
    return VocResult(_mean(ap_11pt), _mean(ap_area), tuple(ap_11pt), tuple(ap_area))


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def _pr_curve(
    truths: Sequence[ImageTruth], dets: list[tuple[float, int, np.ndarray]], cls: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Recall and precision after each counted detection of class ``cls``; None without non-difficult objects."""
    npos = sum(int(np.count_nonzero((t.classes == cls) & ~t.difficult)) for t in truths)
    if npos == 0:
        return None
    matched: dict[int, np.ndarray] = {}
    hits: list[bool] = []  # one entry per counted detection: True = TP, False = FP; ignored ones are left out
    for _score, image_id, box in sorted(dets, key=lambda d: -d[0]):  # stable: ties keep their input order
        truth = truths[image_id]
        mask = truth.classes == cls
        gts, difficult = truth.boxes[mask], truth.difficult[mask]
        if not len(gts):
            hits.append(False)
            continue
        overlaps = _iou(box, gts)
        best = int(np.argmax(overlaps))
        if overlaps[best] < VOC_IOU:
            hits.append(False)
        elif difficult[best]:
            continue  # neither a hit nor a false positive
        else:
            used = matched.setdefault(image_id, np.zeros(len(gts), bool))
            hits.append(not used[best])
            used[best] = True
    tp = np.cumsum(np.array(hits, dtype=np.float64))
    fp = np.cumsum(~np.array(hits, dtype=bool))
    return tp / npos, tp / np.maximum(tp + fp, 1e-12)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``xyxy`` box with each row of ``boxes`` (continuous pixel edges: VOC's 1-based inclusive
    coordinates were converted on reading, so widths already include the devkit's +1)."""
    iw = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    ih = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = iw * ih
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def _ap_11pt(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC2007: mean over recall levels 0, 0.1, ..., 1 of the best precision at that recall or more."""
    levels = np.arange(11) / 10
    return float(np.mean([precision[recall >= t].max() if np.any(recall >= t) else 0.0 for t in levels]))


def _ap_area(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC2010+: area under the precision envelope (precision made non-increasing in recall)."""
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))
