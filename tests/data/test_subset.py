"""Val subsets: deterministic for a seed, and holding every class where the size allows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretodet.data import ImageTruth, val_subset
from paretodet.errors import ConfigError


def _truth(i: int, classes: list[int]) -> ImageTruth:
    n = len(classes)
    boxes = np.tile([0.0, 0.0, 5.0, 5.0], (n, 1))
    return ImageTruth(Path(f"{i}.jpg"), 10, 10, boxes, np.array(classes), np.zeros(n, bool))


def _set() -> list[ImageTruth]:
    # 60 images of class 0, 30 of class 1; classes 2, 3 and 4 appear in one image each
    truths = [_truth(i, [0]) for i in range(60)] + [_truth(60 + i, [1, 0]) for i in range(30)]
    return [*truths, _truth(90, [2]), _truth(91, [3, 1]), _truth(92, [4])]


def test_subset_is_deterministic_and_changes_with_the_seed() -> None:
    truths = _set()
    first = val_subset(truths, 10, seed=3)
    assert first == val_subset(truths, 10, seed=3) and len(first) == 10 and first == sorted(first)
    assert first != val_subset(truths, 10, seed=4)


def test_subset_covers_every_class() -> None:
    truths = _set()
    for seed in range(5):
        chosen = val_subset(truths, 6, seed=seed)
        classes = {int(c) for i in chosen for c in truths[i].classes}
        assert classes == {0, 1, 2, 3, 4}


def test_subset_too_small_for_every_class_takes_the_rarest_first() -> None:
    chosen = val_subset(_set(), 3, seed=0)
    assert set(chosen) == {90, 91, 92}


def test_whole_split_and_bad_size() -> None:
    assert val_subset(_set(), 500) == list(range(93))
    with pytest.raises(ConfigError, match="--val-images must be >= 1"):
        val_subset(_set(), 0)
