"""Pareto math: pure numpy over an (n, m) objective array plus directions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pareto_mask"]


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
