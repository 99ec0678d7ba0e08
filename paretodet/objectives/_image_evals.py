"""pycocotools' per-image match records of one evaluation, kept so that mAP can be re-accumulated without it.

pycocotools matches detections to ground truth image by image (``evaluate``), then pools every image's matches
per category and reads the precision envelope (``accumulate``). ``ImageEvals`` is what ``accumulate`` reads for
mAP50-95 and mAP50, in its order; ``paretodet.objectives._intervals`` re-accumulates it with image weights.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from paretodet.errors import ConfigError
from paretodet.objectives._truth import _evaluator_class

__all__ = ["ImageEvals", "image_evals"]

_NONE = np.zeros(0)


@dataclass(frozen=True, eq=False)
class ImageEvals:
    """pycocotools' per-image match records for area "all" and 100 detections (what mAP50-95 and mAP50 read).

    Detections of category ``k`` are ``offsets[k]:offsets[k + 1]``, in ``accumulate``'s order: per image in image
    order (at most 100 each, best first), then a stable sort by descending score.

    Attributes:
        image_ids: the COCO image ids, sorted; ``det_image`` and ``gt_count`` index them.
        category_ids: the COCO category ids, sorted.
        offsets: ``(K + 1,)`` start of each category's detections.
        det_image: ``(N,)`` image index of each detection.
        det_score: ``(N,)`` its score.
        det_matched: ``(T, N)`` matched to ground truth at each IoU threshold.
        det_ignored: ``(T, N)`` matched to ignored (crowd, difficult) ground truth at each IoU threshold.
        gt_count: ``(K, I)`` non-ignored ground truth of each category in each image.
        iou_thresholds: ``(T,)`` 0.5, 0.55, ..., 0.95.
        recall_thresholds: ``(R,)`` 0, 0.01, ..., 1.
    """

    image_ids: np.ndarray
    category_ids: np.ndarray
    offsets: np.ndarray
    det_image: np.ndarray
    det_score: np.ndarray
    det_matched: np.ndarray
    det_ignored: np.ndarray
    gt_count: np.ndarray
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray

    @property
    def n_images(self) -> int:
        """Number of images evaluated."""
        return len(self.image_ids)

    def save(self, path: Path | str) -> Path:
        """Write a compressed ``.npz`` (plain arrays, no pickle) and return its path.

        Example:
            >>> ImageEvals.load(evals.save("evals.npz")).n_images == evals.n_images  # doctest: +SKIP
            True
        """
        path = Path(path)
        with path.open("wb") as fh:  # a file object: numpy would append ".npz" to a path without it
            np.savez_compressed(fh, **{f.name: getattr(self, f.name) for f in fields(self)})
        return path

    @classmethod
    def load(cls, path: Path | str) -> ImageEvals:
        """Read what :meth:`save` wrote."""
        with np.load(path, allow_pickle=False) as data:
            return cls(**{f.name: data[f.name] for f in fields(cls)})

    def select(self, indices: Sequence[int] | np.ndarray) -> ImageEvals:
        """The records of the images at ``indices`` (increasing, no repeats), as if only they were evaluated.

        Example:
            >>> evals.select(range(100)).n_images  # doctest: +SKIP
            100
        """
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (np.any(np.diff(idx) <= 0) or idx[0] < 0 or idx[-1] >= self.n_images):
            raise ConfigError(f"image indices must increase within 0..{self.n_images - 1}, without repeats")
        new_index = np.full(self.n_images, -1, dtype=np.int64)
        new_index[idx] = np.arange(idx.size)
        keep = new_index[self.det_image] >= 0  # a subsequence keeps accumulate's stable order
        cats = np.repeat(np.arange(len(self.category_ids)), np.diff(self.offsets))[keep]
        offsets = np.searchsorted(cats, np.arange(len(self.category_ids) + 1))
        return ImageEvals(
            self.image_ids[idx], self.category_ids, offsets, new_index[self.det_image[keep]],
            self.det_score[keep], self.det_matched[:, keep], self.det_ignored[:, keep], self.gt_count[:, idx],
            self.iou_thresholds, self.recall_thresholds,
        )  # fmt: skip


def image_evals(gt: dict[str, Any], results: Sequence[dict[str, Any]]) -> ImageEvals:
    """Run pycocotools' per-image matching once (difficult ground truth ignored, as ``score_coco`` does).

    Example:
        >>> evals = image_evals(coco_ground_truth(truths, names), predictions.results)  # doctest: +SKIP
        >>> map_from_evals(evals) == score_coco(coco_ground_truth(truths, names), predictions.results)  # doctest: +SKIP
        True
    """
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco_gt = COCO()
        coco_gt.dataset = {**gt, "annotations": [dict(a) for a in gt["annotations"]]}  # it writes into them
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes([dict(r) for r in results])
        else:  # loadRes cannot take an empty list
            coco_dt = COCO()
            coco_dt.dataset = {"images": list(gt["images"]), "categories": list(gt["categories"]), "annotations": []}
            coco_dt.createIndex()
        evaluator = _evaluator_class()(coco_gt, coco_dt, iouType="bbox")
        evaluator.evaluate()
    return _records(evaluator)


def _records(evaluator: Any) -> ImageEvals:
    """Pool ``evaluator.evalImgs`` (area "all", the largest maxDet) per category as ``accumulate`` does."""
    p = evaluator.params
    n_img, n_area, max_det, n_iou = len(p.imgIds), len(p.areaRng), p.maxDets[-1], len(p.iouThrs)
    assert p.areaRngLbl[0] == "all" and max_det == 100, "pycocotools' default bbox parameters expected"
    gt_count = np.zeros((len(p.catIds), n_img), dtype=np.int64)
    offsets, image, score, matched, ignored = [0], [], [], [], []
    for k in range(len(p.catIds)):
        per_image = [(i, e) for i in range(n_img) if (e := evaluator.evalImgs[k * n_area * n_img + i]) is not None]
        for i, e in per_image:
            gt_count[k, i] = np.count_nonzero(np.asarray(e["gtIgnore"]) == 0)
        kept = [len(e["dtScores"][:max_det]) for _, e in per_image]
        s = np.concatenate([np.asarray(e["dtScores"][:max_det], dtype=np.float64) for _, e in per_image] or [_NONE])
        order = np.argsort(-s, kind="mergesort")
        image.append(np.repeat([i for i, _ in per_image], kept).astype(np.int64)[order])
        score.append(s[order])
        dtm = [np.asarray(e["dtMatches"])[:, :max_det] for _, e in per_image] or [np.zeros((n_iou, 0))]
        dtig = [np.asarray(e["dtIgnore"])[:, :max_det] for _, e in per_image] or [np.zeros((n_iou, 0))]
        matched.append((np.concatenate(dtm, axis=1) != 0)[:, order])
        ignored.append(np.concatenate(dtig, axis=1).astype(bool)[:, order])
        offsets.append(offsets[-1] + len(order))
    return ImageEvals(
        np.asarray(p.imgIds, dtype=np.int64), np.asarray(p.catIds, dtype=np.int64), np.asarray(offsets),
        np.concatenate(image), np.concatenate(score), np.concatenate(matched, axis=1),
        np.concatenate(ignored, axis=1), gt_count, np.asarray(p.iouThrs, dtype=np.float64),
        np.asarray(p.recThrs, dtype=np.float64),
    )  # fmt: skip
