"""Accuracy: COCO-protocol mAP (pycocotools) from an artifact's own predictions."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from paretodet.data import label_path_for, letterbox, read_image, read_labels, unletterbox_boxes
from paretodet.objectives._host import heavy_work
from paretodet.objectives._runners import Runner

__all__ = [
    "AccuracyResult",
    "NmsSettings",
    "Predictions",
    "coco_ground_truth",
    "coco_map",
    "evaluate_map",
    "postprocess",
    "predict",
    "ultralytics_map",
]


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


@dataclass(frozen=True)
class Predictions:
    """An artifact's detections on val images: ``shapes`` = (image, height, width) and COCO-format ``results``
    (image id = position in ``shapes``)."""

    shapes: list[tuple[Path, int, int]]
    results: list[dict[str, Any]]


def predict(
    runner: Runner,
    images: Sequence[Path],
    *,
    nc: int,
    imgsz: int,
    nms: NmsSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> Predictions:
    """Run ``runner`` over ``images`` (letterboxed as Ultralytics' validator does) and keep its detections."""
    nms = nms or NmsSettings()
    for path in images:  # fail on a bad label file before spending time on inference
        read_labels(label_path_for(path), nc=nc)
    shapes: list[tuple[Path, int, int]] = []
    results: list[dict[str, Any]] = []
    for image_id, path in enumerate(images):
        image = read_image(path)
        shapes.append((path, image.shape[0], image.shape[1]))
        tensor, lb = letterbox(image, imgsz)
        with heavy_work():  # not while another process on this host times latency
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
    return Predictions(shapes=shapes, results=results)


def coco_map(predictions: Predictions, names: Sequence[str]) -> AccuracyResult:
    """mAP50-95 / mAP50 of ``predictions`` by pycocotools (the COCO protocol)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, results = len(predictions.shapes), predictions.results
    gt_dict = coco_ground_truth(predictions.shapes, names)
    if not gt_dict["annotations"]:
        return AccuracyResult(map50_95=float("nan"), map50=float("nan"), images=images, detections=len(results))
    if not results:
        return AccuracyResult(map50_95=0.0, map50=0.0, images=images, detections=0)
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
        map50_95=float(evaluator.stats[0]), map50=float(evaluator.stats[1]), images=images, detections=len(results)
    )


def ultralytics_map(predictions: Predictions, names: Sequence[str]) -> AccuracyResult:
    """mAP50-95 / mAP50 of the same ``predictions`` by Ultralytics' metrics (its validator's matching and
    ``ap_per_class``: 101-point interpolation, no area ranges): a second route to cross-check ``coco_map``."""
    import torch
    from ultralytics.engine.validator import BaseValidator
    from ultralytics.utils.metrics import ap_per_class, box_iou

    thresholds = SimpleNamespace(iouv=torch.linspace(0.5, 0.95, 10))
    gt = coco_ground_truth(predictions.shapes, names)
    by_image: dict[int, list[dict[str, Any]]] = {}
    for det in predictions.results:
        by_image.setdefault(det["image_id"], []).append(det)
    truth: dict[int, list[dict[str, Any]]] = {}
    for ann in gt["annotations"]:
        truth.setdefault(ann["image_id"], []).append(ann)
    tps: list[np.ndarray] = []
    confs: list[float] = []
    pred_cls: list[int] = []
    target_cls: list[int] = []
    for image_id in range(len(predictions.shapes)):
        dets = sorted(by_image.get(image_id, []), key=lambda d: -d["score"])
        anns = truth.get(image_id, [])
        target_cls.extend(a["category_id"] for a in anns)
        if not dets:
            continue
        p_boxes = torch.tensor([_xyxy(d["bbox"]) for d in dets])
        p_cls = torch.tensor([d["category_id"] for d in dets])
        if anns:
            iou = box_iou(torch.tensor([_xyxy(a["bbox"]) for a in anns]), p_boxes)
            t_cls = torch.tensor([a["category_id"] for a in anns])
            correct = BaseValidator.match_predictions(thresholds, p_cls, t_cls, iou)  # type: ignore[arg-type]
        else:
            correct = torch.zeros(len(dets), 10, dtype=torch.bool)
        tps.append(correct.numpy())
        confs.extend(d["score"] for d in dets)
        pred_cls.extend(d["category_id"] for d in dets)
    if not target_cls:
        return AccuracyResult(float("nan"), float("nan"), len(predictions.shapes), len(predictions.results))
    if not tps:
        return AccuracyResult(0.0, 0.0, len(predictions.shapes), 0)
    ap = ap_per_class(np.concatenate(tps), np.array(confs), np.array(pred_cls), np.array(target_cls))[5]
    return AccuracyResult(float(ap.mean()), float(ap[:, 0].mean()), len(predictions.shapes), len(predictions.results))


def _xyxy(box: Sequence[float]) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y + h]


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
    predictions = predict(runner, images, nc=len(names), imgsz=imgsz, nms=nms, on_image=on_image)
    return coco_map(predictions, names)
