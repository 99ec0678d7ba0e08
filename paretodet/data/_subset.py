"""A fixed, seeded subset of val images that represents every class where it can: trials score on it, the
verified front on the whole split (``search --val-images N``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from paretodet.data._info import ImageTruth
from paretodet.errors import ConfigError

__all__ = ["val_subset"]


def val_subset(truths: Sequence[ImageTruth], size: int, *, seed: int = 0) -> list[int]:
    """Indices (ascending) of ``size`` images of ``truths``: first, for each class from the rarest up, one image
    holding it (the first in a seeded shuffle), as long as room is left; then the rest of the shuffle. The
    same truths, size and seed give the same subset on every machine.

    Example:
        >>> val_subset(truths, 200, seed=0)[:3]  # doctest: +SKIP
        [4, 9, 17]
    """
    if size < 1:
        raise ConfigError(f"--val-images must be >= 1, got {size}")
    if size >= len(truths):
        return list(range(len(truths)))
    order = np.random.default_rng(seed).permutation(len(truths)).tolist()
    holders: dict[int, list[int]] = {}
    for index in order:
        for cls in sorted(set(truths[index].classes[~truths[index].difficult].tolist())):
            holders.setdefault(int(cls), []).append(index)
    chosen: list[int] = []
    covered: set[int] = set()
    for cls in sorted(holders, key=lambda c: (len(holders[c]), c)):  # rarest class first
        if len(chosen) == size:
            break
        if cls in covered:
            continue
        pick = holders[cls][0]
        chosen.append(pick)
        covered.update(int(c) for c in truths[pick].classes.tolist())
    taken = set(chosen)
    chosen += [i for i in order if i not in taken][: size - len(chosen)]
    return sorted(chosen)
