"""Accuracy: COCO-protocol mAP (pycocotools) from an artifact's own predictions."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paretodet.data import label_path_for, letterbox, read_image, read_labels, unletterbox_boxes
from paretodet.objectives._runners import Runner

__all__ = ["AccuracyResult", "NmsSettings", "coco_ground_truth", "evaluate_map", "postprocess"]


@dataclass(frozen=True)
class NmsSettings:
    """Detection post-processing, Ultralytics validator defaults."""

    conf: float = 0.001
    iou: float = 0.7
    max_det: int = 300


@dataclass(frozen=True)
class AccuracyResult:
    """mAP figures and what they were computed on."""

    map50_95: float
    map50: float
    images: int
    detections: int


def postprocess(raw: np.ndarray, nms: NmsSettings) -> np.ndarray:
    """Ultralytics NMS (class-aware, multi-label) over raw ``(1, 4 + nc, anchors)`` predictions.

    Returns ``(n, 6)``: ``x0 y0 x1 y1 score cls`` in network-input pixels.
    """
    import torch
    from ultralytics.utils.nms import non_max_suppression

    preds = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
    out = non_max_suppression(preds, nms.conf, nms.iou, multi_label=True, max_det=nms.max_det, max_time_img=1e6)
    return out[0][:, :6].numpy()


def coco_ground_truth(shapes: Sequence[tuple[Path, int, int]], names: Sequence[str]) -> dict[str, Any]:
    """COCO-format ground truth from ``(image, height, width)`` entries and their YOLO label files.

    Image id = position in ``shapes``; category id = class id.
    """
    coco_images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, (path, h, w) in enumerate(shapes):
        coco_images.append({"id": image_id, "file_name": path.name, "width": w, "height": h})
        for cls, cx, cy, bw, bh in read_labels(label_path_for(path), nc=len(names)):
            box = [(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": cls,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i, "name": n} for i, n in enumerate(names)]
    return {"images": coco_images, "annotations": annotations, "categories": categories}


def evaluate_map(
    runner: Runner,
    images: Sequence[Path],
    *,
    names: Sequence[str],
    imgsz: int,
    nms: NmsSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> AccuracyResult:
    """Run ``runner`` over ``images`` and score its detections with pycocotools (mAP50-95, mAP50).

    Example:
        >>> res = evaluate_map(runner, images, names=("cat",), imgsz=320)  # doctest: +SKIP
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    nms = nms or NmsSettings()
    for path in images:  # fail on a bad label file before spending time on inference
        read_labels(label_path_for(path), nc=len(names))
    shapes: list[tuple[Path, int, int]] = []
    results: list[dict[str, Any]] = []
    for image_id, path in enumerate(images):
        image = read_image(path)
        shapes.append((path, image.shape[0], image.shape[1]))
        tensor, lb = letterbox(image, imgsz)
        dets = postprocess(runner(tensor), nms)
        boxes = unletterbox_boxes(dets[:, :4], lb)
        for (x0, y0, x1, y1), score, cls in zip(boxes, dets[:, 4], dets[:, 5]):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(cls),
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    "score": float(score),
                }
            )
        if on_image is not None:
            on_image(image_id + 1, len(images))
    gt_dict = coco_ground_truth(shapes, names)
    if not gt_dict["annotations"]:
        return AccuracyResult(map50_95=float("nan"), map50=float("nan"), images=len(images), detections=len(results))
    if not results:
        return AccuracyResult(map50_95=0.0, map50=0.0, images=len(images), detections=0)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco_gt = COCO()
        coco_gt.dataset = gt_dict
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return AccuracyResult(
        map50_95=float(evaluator.stats[0]), map50=float(evaluator.stats[1]), images=len(images), detections=len(results)
    )
