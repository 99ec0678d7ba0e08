"""mAP with its uncertainty: pycocotools' score of an artifact's predictions, the 95% bootstrap interval over
the val images, and the paired change between two artifacts scored on the same images."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paretodet.data import DatasetInfo, ImageTruth
from paretodet.objectives._accuracy import NmsSettings, Predictions, predict
from paretodet.objectives._image_evals import ImageEvals, image_evals
from paretodet.objectives._intervals import bootstrap_map, paired_delta, separable
from paretodet.objectives._truth import coco_ground_truth
from paretodet.runtimes import Runner

__all__ = [
    "ScoredImages",
    "evals_path",
    "image_accuracy",
    "paired_change",
    "paired_change_files",
    "score_predictions",
]

EVALS_MARK = ".evals-"  # <artifact file>.evals-<key of the images and NMS scored>.npz

NAN_PAIR = (math.nan, math.nan)


@dataclass(frozen=True)
class ScoredImages:
    """mAP50-95 / mAP50 of an artifact on ``images`` val images, with 95% bootstrap intervals and the
    per-image matches (``evals``) they were computed from (None when there was nothing to score)."""

    map50_95: float
    map50: float
    images: int
    detections: int
    interval: tuple[float, float] = NAN_PAIR
    interval50: tuple[float, float] = NAN_PAIR
    evals: ImageEvals | None = None


def score_predictions(
    predictions: Predictions, names: Sequence[str], *, reps: int = 1000, seed: int = 0
) -> ScoredImages:
    """Score ``predictions`` by pycocotools once, then bootstrap the images (``reps`` resamples, no new
    inference) for the 95% intervals.

    Example:
        >>> scored = score_predictions(predict(runner, truths, imgsz=320), info.names)  # doctest: +SKIP
        >>> scored.interval  # doctest: +SKIP
        (0.412, 0.468)
    """
    gt = coco_ground_truth(predictions.truths, names)
    evals = image_evals(gt, predictions.results)
    boot = bootstrap_map(evals, reps=reps, seed=seed)
    return ScoredImages(
        map50_95=boot.map50_95.estimate,
        map50=boot.map50.estimate,
        images=len(predictions.truths),
        detections=len(predictions.results),
        interval=(boot.map50_95.low, boot.map50_95.high),
        interval50=(boot.map50.low, boot.map50.high),
        evals=evals,
    )


def image_accuracy(
    runner: Runner,
    info: DatasetInfo,
    *,
    imgsz: int,
    truths: Sequence[ImageTruth] | None = None,
    nms: NmsSettings | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> ScoredImages:
    """Predict with ``runner`` on ``truths`` (default: the whole val split of ``info``) and score it."""
    from paretodet.data import read_truth, split_images

    chosen = list(truths) if truths is not None else [read_truth(info, p) for p in split_images(info)]
    return score_predictions(predict(runner, chosen, imgsz=imgsz, nms=nms, on_image=on_image), info.names)


def paired_change(reference: ScoredImages, other: ScoredImages, *, reps: int = 1000) -> dict[str, Any] | None:
    """``other``'s mAP50-95 minus ``reference``'s, with the 95% interval of the paired bootstrap (the same
    resampled images for both); None when either has nothing scored."""
    if reference.evals is None or other.evals is None:
        return None
    return _change(paired_delta(reference.evals, other.evals, reps=reps))


def _change(delta: Any) -> dict[str, Any]:
    iv = delta.map50_95
    return {"delta": iv.estimate, "low": iv.low, "high": iv.high, "separable": separable(delta)}


def evals_path(artifact: Path, images: Sequence[Path | str], nms: NmsSettings) -> Path:
    """Where an artifact's per-image matches on ``images`` (scored with ``nms``) are kept: beside the artifact,
    named by a key of the images and NMS, so that two files of the same key were scored on the same images.

    Example:
        >>> evals_path(Path("m.onnx"), [Path("a.jpg")], NmsSettings()).name.startswith("m.onnx.evals-")
        True
    """
    from dataclasses import asdict

    from paretodet.base import stable_hash

    key = stable_hash({"images": [str(p) for p in images], "nms": asdict(nms)})[:12]
    return artifact.with_name(f"{artifact.name}{EVALS_MARK}{key}.npz")


def paired_change_files(reference: str | Path, other: str | Path, *, reps: int = 1000) -> dict[str, Any] | None:
    """:func:`paired_change` from two ``Metrics.evals_file`` paths (None when either file is missing or they
    were scored on different images)."""
    paths = [Path(reference), Path(other)]
    if not all(str(p) not in ("", ".") and p.is_file() for p in paths):
        return None
    if paths[0].name.rpartition(EVALS_MARK)[2] != paths[1].name.rpartition(EVALS_MARK)[2]:
        return None  # the key after ".evals-" names the images scored: these were scored on different ones
    first, second = (ImageEvals.load(p) for p in paths)
    if first.n_images != second.n_images:
        return None
    return _change(paired_delta(first, second, reps=reps))
