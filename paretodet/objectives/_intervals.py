"""Bootstrap intervals for COCO mAP over images, from one pycocotools evaluation (no new inference).

pycocotools matches detections to ground truth image by image (``evaluate``), then pools every image's matches
per category and reads the precision envelope (``accumulate``). Matches never depend on other images, so a
resample of images (each with an integer multiplicity) only re-weights the pooled records: ``ImageEvals`` keeps
them, in the order ``accumulate`` sorts them, and ``map_from_evals`` re-accumulates with weights. Weight 2 on an
image scores exactly as that image listed twice; no weights score exactly as ``score_coco``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from paretodet.errors import ConfigError
from paretodet.objectives._image_evals import ImageEvals, image_evals

__all__ = [  # ImageEvals and image_evals (the match records these re-accumulate) live in _image_evals
    "INTERVAL_METHODS",
    "DeltaInterval",
    "ImageEvals",
    "Interval",
    "MapInterval",
    "bootstrap_map",
    "image_evals",
    "map_from_evals",
    "paired_delta",
    "resample_weights",
    "separable",
]

INTERVAL_METHODS = ("percentile", "basic", "bca")

_CELLS_PER_CHUNK = 1 << 22  # array cells (reps x IoUs x detections of a category) held at once


def map_from_evals(evals: ImageEvals, weights: Sequence[int] | np.ndarray | None = None) -> tuple[float, float]:
    """``(mAP50-95, mAP50)`` re-accumulated with an integer multiplicity per image (None: each image once).

    Equals ``score_coco`` bit for bit: NaN when no ground truth is left to find, 0.0 without detections.
    Weight ``w`` on an image scores as the image listed ``w`` times (copies side by side); 0 leaves it out.

    Example:
        >>> map_from_evals(evals, weights=[2, 0, 1])  # doctest: +SKIP
        (0.41, 0.66)
    """
    w = np.ones(evals.n_images, dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    if w.shape != (evals.n_images,) or np.any(w < 0):
        raise ConfigError(f"weights must be {evals.n_images} non-negative integers, one per image")
    npig = evals.gt_count @ w  # (K,)
    scored = npig > 0
    if not scored.any():
        return math.nan, math.nan
    n_t, n_r = len(evals.iou_thresholds), len(evals.recall_thresholds)
    per_category = []
    for k in range(len(npig)):
        values, repeats = _category_curve(evals, k, w[None, :], npig[k : k + 1])
        per_category.append(np.repeat(values.ravel(), repeats.ravel()).reshape(n_t, n_r))
    precision = np.stack(per_category, axis=-1)[:, :, scored]  # (T, R, K): summarize's cells, in its order
    return float(np.mean(precision.ravel())), float(np.mean(precision[_t50(evals)].ravel()))


def _t50(evals: ImageEvals) -> int:
    return int(np.flatnonzero(evals.iou_thresholds == 0.5)[0])


def _maps(evals: ImageEvals, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(reps,)`` mAP50-95 and mAP50 for each row of ``weights`` (as ``map_from_evals``, summed per category:
    the same up to float rounding)."""
    n_t, n_r, n_k = len(evals.iou_thresholds), len(evals.recall_thresholds), len(evals.category_ids)
    largest = int(np.diff(evals.offsets).max(initial=0))
    step = max(1, _CELLS_PER_CHUNK // max(n_t * n_r, largest * n_t))
    out50_95, out50 = np.full(len(weights), math.nan), np.full(len(weights), math.nan)
    for start in range(0, len(weights), step):
        w = weights[start : start + step].astype(np.int32)  # multiplicities sum to n_images: int32 is plenty
        npig = w.astype(np.int64) @ evals.gt_count.T  # (reps, K)
        means = np.stack([_recall_mean(*_category_curve(evals, k, w, npig[:, k])) for k in range(n_k)], axis=1)
        means[npig == 0] = math.nan  # (reps, K, T); a category with nothing to find is skipped
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample with nothing to find: NaN
            out50_95[start : start + len(w)] = np.nanmean(means, axis=(1, 2))
            out50[start : start + len(w)] = np.nanmean(means[:, :, _t50(evals)], axis=1)
    return out50_95, out50


def _category_curve(evals: ImageEvals, k: int, w: np.ndarray, npig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category ``k``'s interpolated precision for each weight row: ``(values, repeats)``, both ``(reps, T, m)``;
    ``np.repeat(values[i, t], repeats[i, t])`` is its precision at each of the R recall thresholds.

    The interpolated precision at recall ``r`` is the best precision at recall ``>= r``; it peaks right after
    a hit, so only hit positions count: at each, the weighted hits and the weighted counted detections so far
    (``accumulate``'s float arithmetic, so the result is exact), and how many thresholds its recall reaches.
    """
    sl = slice(int(evals.offsets[k]), int(evals.offsets[k + 1]))
    ignored_all = evals.det_ignored[:, sl]
    keep = ~ignored_all.all(axis=0)  # ignored at every IoU: never counted
    ignored = ignored_all[:, keep]
    hit = evals.det_matched[:, sl][:, keep] & ~ignored
    flags = np.concatenate([hit, ignored]).T @ (1 << np.arange(2 * len(hit), dtype=np.int64))  # (n,) one key
    src, copy = _sequence(evals.det_image[sl][keep], evals.det_score[sl][keep], flags, int(w.max(initial=0)))
    image, ignored, hit = evals.det_image[sl][keep][src], ignored[:, src], hit[:, src]
    n_t, n_r = len(hit), len(evals.recall_thresholds)
    if not hit.any():
        return np.zeros((len(w), n_t, 1)), np.full((len(w), n_t, 1), n_r)
    wd = w[:, image]  # (reps, n)
    if copy.max(initial=-1) >= 0:
        wd = np.where(copy < 0, wd, wd > copy).astype(w.dtype)
    seen = np.cumsum(wd, axis=1, dtype=w.dtype)
    n_hits = hit.sum(axis=1)
    pos = np.zeros((n_t, int(n_hits.max())), dtype=np.int64)  # (T, m) hit positions, padded
    valid = np.arange(pos.shape[1]) < n_hits[:, None]
    pos[valid] = np.nonzero(hit)[1]
    tp = np.cumsum(wd[:, pos] * valid, axis=2, dtype=w.dtype)  # (reps, T, m)
    counted = seen[:, pos] - _ignored_before(wd, ignored, pos)  # tp + fp
    precision = tp.astype(np.float64) / (counted.astype(np.float64) + np.spacing(1)) * valid
    envelope = np.maximum.accumulate(precision[..., ::-1], axis=2)[..., ::-1]
    recall = tp / np.maximum(npig, 1)[:, None, None].astype(np.float64)
    reached = np.searchsorted(evals.recall_thresholds, recall, side="right")  # thresholds <= recall
    repeats = np.diff(reached, axis=2, prepend=0)  # thresholds first reached here (count 0 reads position 0)
    values = np.concatenate([envelope, np.zeros((len(w), n_t, 1))], axis=2)
    return values, np.concatenate([repeats, n_r - reached[..., -1:]], axis=2)  # beyond the last hit: 0


def _recall_mean(values: np.ndarray, repeats: np.ndarray) -> np.ndarray:
    """``(reps, T)`` mean over the recall thresholds of what ``_category_curve`` describes."""
    return (values * repeats).sum(axis=2) / repeats.sum(axis=2)


def _sequence(image: np.ndarray, score: np.ndarray, flags: np.ndarray, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """The detections scored for weights up to ``copies``: ``(source index, copy number or -1)``.

    An image listed w times puts its equal-score detections of a category in runs ``A B A' B'``, not ``A A' B B'``
    (which a weight on each detection would give). Where that matters (a run whose hit/ignore ``flags`` differ)
    the run is laid out ``copies`` times, copy ``r`` counting where the image's weight exceeds ``r``. Every
    other detection is one entry weighted by its image.
    """
    same = (image[1:] == image[:-1]) & (score[1:] == score[:-1])
    if not same.any():
        return np.arange(len(image)), np.full(len(image), -1)
    starts = np.flatnonzero(np.r_[True, ~same])
    block = np.cumsum(np.r_[True, ~same]) - 1
    mixed = np.minimum.reduceat(flags, starts) != np.maximum.reduceat(flags, starts)
    if not mixed.any():
        return np.arange(len(image)), np.full(len(image), -1)
    tied = mixed[block]
    per_det = np.where(tied, copies, 1)
    src = np.repeat(np.arange(len(image)), per_det)
    r = np.arange(len(src)) - np.repeat(np.cumsum(per_det) - per_det, per_det)
    order = np.lexsort((src - starts[block[src]], r, block[src]))  # block, then copy, then place in block
    return src[order], np.where(tied[src], r, -1)[order]


def _ignored_before(wd: np.ndarray, ignored: np.ndarray, pos: np.ndarray) -> np.ndarray | int:
    """``(reps, T, m)`` weight of the detections ignored at each IoU that come before each position."""
    cols = np.flatnonzero(ignored.any(axis=0))
    if not cols.size:
        return 0
    cum = np.cumsum(wd[:, None, cols] * ignored[None, :, cols], axis=2)
    cum = np.concatenate([np.zeros((*cum.shape[:2], 1), dtype=cum.dtype), cum], axis=2)
    before = np.broadcast_to(np.searchsorted(cols, pos)[None], (len(wd), *pos.shape))
    return np.take_along_axis(cum, before, axis=2)


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap interval.

    Attributes:
        bias: mean of the resampled values minus ``estimate``. mAP is biased upward on few images (its precision
            envelope takes maxima of noisy ratios); a bias that is a sizeable part of the interval's half-width
            says the sample is too small for any of these intervals to be trusted.
    """

    estimate: float
    low: float
    high: float
    bias: float = math.nan

    def contains(self, value: float) -> bool:
        """Whether ``low <= value <= high``."""
        return bool(self.low <= value <= self.high)


@dataclass(frozen=True)
class MapInterval:
    """mAP50-95 and mAP50 of one model, with intervals over resampled images (``method``: see ``bootstrap_map``)."""

    map50_95: Interval
    map50: Interval
    images: int
    reps: int
    level: float
    method: str


@dataclass(frozen=True)
class DeltaInterval:
    """The change b - a of mAP50-95 and mAP50 on the same images, with paired intervals."""

    map50_95: Interval
    map50: Interval
    images: int
    reps: int
    level: float
    method: str


def resample_weights(n_images: int, *, reps: int, seed: int) -> np.ndarray:
    """``(reps, n_images)`` multiplicities of ``reps`` resamples of ``n_images`` images with replacement.

    Example:
        >>> resample_weights(3, reps=2, seed=0).sum(axis=1).tolist()
        [3, 3]
    """
    draws = np.random.default_rng(seed).integers(0, n_images, size=(reps, n_images))
    flat = (draws + np.arange(reps)[:, None] * n_images).ravel()
    return np.bincount(flat, minlength=reps * n_images).reshape(reps, n_images).astype(np.int64)


def _interval(
    estimate: float, samples: np.ndarray, jackknife: np.ndarray | None, level: float, method: str
) -> Interval:
    """The ``method`` interval of ``estimate`` from its bootstrap ``samples`` (and leave-one-out values, for BCa)."""
    kept = samples[~np.isnan(samples)]
    if math.isnan(estimate) or not kept.size:
        return Interval(estimate, math.nan, math.nan)
    quantiles = [(1 - level) / 2, (1 + level) / 2]
    if method == "bca" and jackknife is not None:
        quantiles = _bca_quantiles(estimate, kept, jackknife[~np.isnan(jackknife)], quantiles)
    low, high = (float(q) for q in np.quantile(kept, quantiles))
    if method == "basic":  # the spread of estimate - truth taken as that of sample - estimate
        low, high = 2 * estimate - high, 2 * estimate - low
    return Interval(estimate, low, high, float(kept.mean()) - estimate)


def _bca_quantiles(estimate: float, samples: np.ndarray, jackknife: np.ndarray, quantiles: list[float]) -> list[float]:
    """Efron's bias-corrected and accelerated quantiles: bias from the samples below the estimate, acceleration
    from the skew of the leave-one-out values."""
    normal = NormalDist()
    below = (np.count_nonzero(samples < estimate) + 0.5 * np.count_nonzero(samples == estimate)) / len(samples)
    z0 = normal.inv_cdf(float(np.clip(below, 0.5 / len(samples), 1 - 0.5 / len(samples))))
    spread = jackknife.mean() - jackknife if jackknife.size else jackknife
    scale = 6 * float((spread**2).sum()) ** 1.5
    accel = float((spread**3).sum()) / scale if scale > 0 else 0.0
    out = []
    for q in quantiles:
        z = z0 + normal.inv_cdf(q)
        out.append(normal.cdf(z0 + z / (1 - accel * z)))
    return out


def _check(reps: int, level: float, method: str) -> None:
    if reps < 1 or not 0 < level < 1:
        raise ConfigError(f"reps must be >= 1 and level in (0, 1), got reps={reps}, level={level}")
    if method not in INTERVAL_METHODS:
        raise ConfigError(f"unknown interval method {method!r}: use one of {', '.join(INTERVAL_METHODS)}")


def _jackknife(evals: ImageEvals, method: str) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """mAP50-95 and mAP50 leaving each image out in turn (only BCa reads them)."""
    if method != "bca" or evals.n_images < 2:
        return None, None
    return _maps(evals, 1 - np.eye(evals.n_images, dtype=np.int64))


def bootstrap_map(
    evals: ImageEvals, *, reps: int = 1000, seed: int = 0, level: float = 0.95, method: str = "percentile"
) -> MapInterval:
    """mAP50-95 and mAP50 with intervals over ``reps`` resamples of the images (no new inference).

    ``method``: ``percentile`` (the resampled values' quantiles), ``basic`` (those quantiles reflected about the
    estimate, which undoes a bias the resamples show instead of doubling it) or ``bca`` (Efron's bias-corrected
    and accelerated percentiles; adds one re-accumulation per image).

    Example:
        >>> iv = bootstrap_map(image_evals(gt, predictions.results), reps=1000)  # doctest: +SKIP
        >>> iv.map50_95.low, iv.map50_95.estimate, iv.map50_95.high  # doctest: +SKIP
        (0.52, 0.56, 0.60)
    """
    _check(reps, level, method)
    point = map_from_evals(evals)
    m50_95, m50 = _maps(evals, resample_weights(evals.n_images, reps=reps, seed=seed))
    j50_95, j50 = _jackknife(evals, method)
    return MapInterval(
        _interval(point[0], m50_95, j50_95, level, method),
        _interval(point[1], m50, j50, level, method),
        evals.n_images, reps, level, method,
    )  # fmt: skip


def paired_delta(
    evals_a: ImageEvals,
    evals_b: ImageEvals,
    *,
    reps: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    method: str = "percentile",
) -> DeltaInterval:
    """The change b - a of mAP50-95 and mAP50, with an interval from resampling the same images for both.

    Example:
        >>> delta = paired_delta(image_evals(gt, fp32.results), image_evals(gt, int8.results))  # doctest: +SKIP
        >>> separable(delta)  # doctest: +SKIP
        False
    """
    _check(reps, level, method)
    if evals_a.n_images != evals_b.n_images or not np.array_equal(evals_a.image_ids, evals_b.image_ids):
        raise ConfigError(
            f"a paired delta needs the same images: got {evals_a.n_images} and {evals_b.n_images} image ids that "
            "differ; evaluate both models on the same val images"
        )
    weights = resample_weights(evals_a.n_images, reps=reps, seed=seed)
    (a50_95, a50), (b50_95, b50) = _maps(evals_a, weights), _maps(evals_b, weights)
    (ja50_95, ja50), (jb50_95, jb50) = _jackknife(evals_a, method), _jackknife(evals_b, method)
    pa, pb = map_from_evals(evals_a), map_from_evals(evals_b)
    jack = (None, None) if ja50_95 is None else (jb50_95 - ja50_95, jb50 - ja50)  # type: ignore[operator]
    return DeltaInterval(
        _interval(pb[0] - pa[0], b50_95 - a50_95, jack[0], level, method),
        _interval(pb[1] - pa[1], b50 - a50, jack[1], level, method),
        evals_a.n_images, reps, level, method,
    )  # fmt: skip


def separable(delta: DeltaInterval, *, metric: str = "map50_95") -> bool:
    """Whether the paired interval of ``metric`` (``map50_95`` or ``map50``) excludes 0.

    Example:
        >>> iv = Interval(0.02, 0.01, 0.03)
        >>> separable(DeltaInterval(iv, iv, images=100, reps=1000, level=0.95, method="percentile"))
        True
    """
    if metric not in ("map50_95", "map50"):
        raise ConfigError(f"unknown metric {metric!r}: use map50_95 or map50")
    iv: Interval = getattr(delta, metric)
    return not (math.isnan(iv.low) or iv.contains(0.0))
