"""Pareto math: pure numpy over an (n, m) objective array plus directions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["hypervolume", "knee_index", "normalize", "pareto_mask"]


def pareto_mask(values: np.ndarray, directions: Sequence[int]) -> np.ndarray:
    """Mask of non-dominated rows.

    ``directions[j]`` is +1 when larger is better for column j, -1 when smaller is better. A row with a
    NaN is never on the front. Duplicated rows are all kept (neither dominates the other).

    Example:
        >>> pareto_mask(np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 0.5]]), [1, 1]).tolist()
        [True, True, False]
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(directions):
        raise ValueError(f"values must be (n, {len(directions)}), got {arr.shape}")
    if arr.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    signed = arr * np.asarray(directions, dtype=np.float64)  # now larger is better everywhere
    valid = ~np.isnan(signed).any(axis=1)
    mask = valid.copy()
    pts = signed[valid]
    idx = np.flatnonzero(valid)
    for i, p in zip(idx, pts):
        ge = (pts >= p).all(axis=1)
        gt = (pts > p).any(axis=1)
        if (ge & gt).any():
            mask[i] = False
    return mask


def normalize(values: np.ndarray, directions: Sequence[int], *, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    """Map each column to [0, 1] with 1 the best end (``lows``/``highs`` are the raw column bounds)."""
    arr = np.asarray(values, dtype=np.float64)
    span = np.where(highs > lows, highs - lows, 1.0)
    scaled = (arr - lows) / span
    return np.where(np.asarray(directions) > 0, scaled, 1.0 - scaled)


def hypervolume(values: np.ndarray, directions: Sequence[int], reference: Sequence[float]) -> float:
    """Volume dominated by the rows and bounded by ``reference`` (rows worse than it in any column add nothing).

    Exact, by slicing along the first column and measuring the lower-dimensional volume of each slab.

    Example:
        >>> hypervolume(np.array([[1.0, 1.0]]), [1, 1], [0.0, 0.0])
        1.0
    """
    signs = np.asarray(directions, dtype=np.float64)
    pts = np.asarray(values, dtype=np.float64) * signs  # larger is better everywhere
    ref = np.asarray(reference, dtype=np.float64) * signs
    pts = pts[~np.isnan(pts).any(axis=1)]
    pts = pts[(pts > ref).all(axis=1)] - ref  # the reference is now the origin
    if len(pts) == 0:
        return 0.0
    pts = pts[pareto_mask(pts, [1] * pts.shape[1])]
    return float(_dominated_volume(np.unique(pts, axis=0)))


def _dominated_volume(pts: np.ndarray) -> float:
    if pts.shape[1] == 1:
        return float(pts[:, 0].max())
    order = np.argsort(-pts[:, 0])  # best first along the first column
    pts = pts[order]
    volume = 0.0
    for i in range(len(pts)):
        upper = pts[i, 0]
        lower = pts[i + 1, 0] if i + 1 < len(pts) else 0.0
        if upper > lower:
            rest = pts[: i + 1, 1:]
            volume += (upper - lower) * _dominated_volume(rest[pareto_mask(rest, [1] * rest.shape[1])])
    return volume


def knee_index(values: np.ndarray, directions: Sequence[int]) -> int:
    """Row of the front closest to the utopia point (every objective at its best) after scaling each
    objective to [0, 1] over ``values``: the balanced choice. -1 when there is no valid row."""
    arr = np.asarray(values, dtype=np.float64)
    valid = ~np.isnan(arr).any(axis=1)
    if not valid.any():
        return -1
    lows, highs = np.nanmin(arr[valid], axis=0), np.nanmax(arr[valid], axis=0)
    scaled = normalize(arr, directions, lows=lows, highs=highs)
    distance = np.where(valid & pareto_mask(arr, directions), np.linalg.norm(1.0 - scaled, axis=1), np.inf)
    return int(np.argmin(distance))
