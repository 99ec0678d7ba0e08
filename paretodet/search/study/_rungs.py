"""The rules of multi-objective early stopping, on plain numbers (no study, no model): which epochs are rungs,
whether a trial at a rung stays among the best ``1/eta`` of its peers by non-dominated sorting (asynchronous,
as in MO-ASHA), and whether even an optimistic mAP would leave a candidate dominated by the front.

A point is a trial's objective values in the study's order (mAP50-95, FPS, size in bytes); ``signs`` says
which way is better (+1: larger, -1: smaller).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paretodet.reports import pareto_mask

__all__ = ["ETA", "Point", "bound_verdict", "dominates", "front_ranks", "rank_verdict", "rung_epochs"]

ETA = 3  # reduction factor: a rung keeps the best third of the trials that reached it


@dataclass(frozen=True)
class Point:
    """One trial's objective values (at a rung: its rung mAP with its known FPS and size)."""

    trial: int
    values: tuple[float, ...]


def rung_epochs(total: int, *, eta: int = ETA) -> tuple[int, ...]:
    """The epochs of a ``total``-epoch training at which a trial is checked: 1, eta, eta**2, ... below
    ``total`` (the last epoch is no rung: the trial is then measured whole).

    Example:
        >>> rung_epochs(10)
        (1, 3, 9)
    """
    epochs, epoch = [], 1
    while epoch < total:
        epochs.append(epoch)
        epoch *= eta
    return tuple(epochs)


def dominates(a: Sequence[float], b: Sequence[float], signs: Sequence[int]) -> bool:
    """Whether ``a`` is at least as good as ``b`` in every objective and better in one."""
    better = [s * (x - y) for x, y, s in zip(a, b, signs)]
    return all(d >= 0 for d in better) and any(d > 0 for d in better)


def front_ranks(values: np.ndarray, signs: Sequence[int]) -> np.ndarray:
    """The non-dominated sorting rank of each row (0: on the front, 1: on the front once those are removed...).

    Example:
        >>> front_ranks(np.array([[1.0, 1.0], [0.5, 0.5], [2.0, 0.0]]), [1, 1]).tolist()
        [0, 1, 0]
    """
    ranks = np.full(len(values), -1, dtype=int)
    rank = 0
    while (ranks < 0).any():
        left = np.flatnonzero(ranks < 0)
        ranks[left[pareto_mask(values[left], signs)]] = rank
        rank += 1
    return ranks


def rank_verdict(me: Point, peers: Sequence[Point], signs: Sequence[int], *, eta: int = ETA) -> tuple[bool, list[int]]:
    """``(keep, ahead)``: whether ``me`` stays among the best ``ceil(n / eta)`` of the ``n`` trials at its rung
    (``peers`` and ``me``) by non-dominated sorting (every trial on the same front as the last kept one is kept
    too), and the trials on better fronts than ``me``. With fewer than ``eta`` peers nobody is stopped yet.

    Example:
        >>> peers = [Point(1, (0.5, 10, 5)), Point(2, (0.6, 10, 5)), Point(3, (0.7, 10, 5))]
        >>> rank_verdict(Point(4, (0.1, 10, 5)), peers, [1, 1, -1])
        (False, [3, 2, 1])
    """
    if len(peers) < eta:
        return True, []
    points = [*peers, me]
    ranks = front_ranks(np.array([p.values for p in points], dtype=float), signs)
    keep_count = math.ceil(len(points) / eta)
    cutoff = int(np.sort(ranks)[keep_count - 1])
    mine = int(ranks[-1])
    ahead = sorted((p for p, r in zip(peers, ranks) if r < mine), key=lambda p: (ranks[points.index(p)], -p.trial))
    return mine <= cutoff, [p.trial for p in ahead]


def bound_verdict(optimistic: Point, front: Sequence[Point], signs: Sequence[int]) -> list[int]:
    """The trials of ``front`` that dominate ``optimistic`` (a candidate at the best mAP it could reach, with its
    known FPS and size): empty when it could still reach the front.

    Example:
        >>> bound_verdict(Point(9, (0.5, 10, 5)), [Point(1, (0.6, 12, 5)), Point(2, (0.4, 20, 1))], [1, 1, -1])
        [1]
    """
    return [p.trial for p in front if dominates(p.values, optimistic.values, signs)]
