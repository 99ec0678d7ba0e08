"""Accuracy: COCO-protocol mAP (pycocotools) from an artifact's own predictions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from paretodet.base import heavy_work
from paretodet.data import ImageTruth, letterbox, read_image, unletterbox_boxes
from paretodet.objectives._truth import coco_ground_truth, score_coco
from paretodet.runtimes import Runner

__all__ = [
    "AccuracyResult",
    "NmsSettings",
    "Predictions",
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


def postprocess(outputs: Sequence[np.ndarray], nms: NmsSettings, *, family: str) -> np.ndarray:
    """Detections from one image's raw outputs, by the decode of the artifact's detector family (Ultralytics:
    its NMS, class-aware and multi-label, over ``(1, 4 + nc, anchors)``).

    Returns ``(n, 6)``: ``x0 y0 x1 y1 score cls`` in network-input pixels.
    """
    from paretodet.models import get_family

    return get_family(family).decode(list(outputs), conf=nms.conf, iou=nms.iou, max_det=nms.max_det)


@dataclass(frozen=True)
class Predictions:
    """An artifact's detections on val images: the images' ground ``truths`` and COCO-format ``results``
    (image id = position in ``truths``)."""

    truths: list[ImageTruth]
    results: list[dict[str, Any]]


def predict(
    runner: Runner,
    truths: Sequence[ImageTruth],
    *,
    imgsz: int,
    nms: NmsSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> Predictions:
    """Run ``runner`` over the images of ``truths`` (letterboxed as Ultralytics' validator does, for every
    family) and keep its detections, decoded by the runner's detector family."""
    nms = nms or NmsSettings()
    results: list[dict[str, Any]] = []
    for image_id, truth in enumerate(truths):
        tensor, lb = letterbox(read_image(truth.path), imgsz)
        with heavy_work():  # not while another process on this host times latency
            dets = postprocess(runner(tensor), nms, family=runner.family)
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
            on_image(image_id + 1, len(truths))
    return Predictions(truths=list(truths), results=results)


def coco_map(predictions: Predictions, names: Sequence[str]) -> AccuracyResult:
    """mAP50-95 / mAP50 of ``predictions`` by pycocotools (the COCO protocol; difficult/crowd truth ignored)."""
    images, results = len(predictions.truths), predictions.results
    gt_dict = coco_ground_truth(predictions.truths, names)
    if not gt_dict["annotations"]:
        return AccuracyResult(map50_95=float("nan"), map50=float("nan"), images=images, detections=len(results))
    if not results:
        return AccuracyResult(map50_95=0.0, map50=0.0, images=images, detections=0)
    map50_95, map50 = score_coco(gt_dict, results)
    return AccuracyResult(map50_95=map50_95, map50=map50, images=images, detections=len(results))


def ultralytics_map(predictions: Predictions, names: Sequence[str]) -> AccuracyResult:
    """mAP50-95 / mAP50 of the same ``predictions`` by Ultralytics' metrics (its validator's matching and
    ``ap_per_class``: 101-point interpolation, no area ranges): a second route to cross-check ``coco_map``."""
    import torch
    from ultralytics.engine.validator import BaseValidator
    from ultralytics.utils.metrics import ap_per_class, box_iou

    thresholds = SimpleNamespace(iouv=torch.linspace(0.5, 0.95, 10))
    gt = coco_ground_truth(predictions.truths, names)
    by_image: dict[int, list[dict[str, Any]]] = {}
    for det in predictions.results:
        by_image.setdefault(det["image_id"], []).append(det)
    truth: dict[int, list[dict[str, Any]]] = {}
    for ann in gt["annotations"]:
        if not ann.get("difficult") and not ann.get("iscrowd"):  # this route has no "ignore": leave them out
            truth.setdefault(ann["image_id"], []).append(ann)
    tps: list[np.ndarray] = []
    confs: list[float] = []
    pred_cls: list[int] = []
    target_cls: list[int] = []
    for image_id in range(len(predictions.truths)):
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
        return AccuracyResult(float("nan"), float("nan"), len(predictions.truths), len(predictions.results))
    if not tps:
        return AccuracyResult(0.0, 0.0, len(predictions.truths), 0)
    ap = ap_per_class(np.concatenate(tps), np.array(confs), np.array(pred_cls), np.array(target_cls))[5]
    return AccuracyResult(float(ap.mean()), float(ap[:, 0].mean()), len(predictions.truths), len(predictions.results))


def _xyxy(box: Sequence[float]) -> list[float]:
    x, y, w, h = box
    return [x, y, x + w, y + h]


def evaluate_map(
    runner: Runner,
    truths: Sequence[ImageTruth],
    *,
    names: Sequence[str],
    imgsz: int,
    nms: NmsSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> AccuracyResult:
    """Run ``runner`` over the images of ``truths`` and score its detections with pycocotools (mAP50-95, mAP50).

    Example:
        >>> truths = [read_truth(info, p) for p in split_images(info)]  # doctest: +SKIP
        >>> res = evaluate_map(runner, truths, names=info.names, imgsz=320)  # doctest: +SKIP
    """
    return coco_map(predict(runner, truths, imgsz=imgsz, nms=nms, on_image=on_image), names)
