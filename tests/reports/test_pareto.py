from __future__ import annotations

import numpy as np
import pytest

from paretodet.reports import pareto_mask


def test_single_point_is_the_front() -> None:
    assert pareto_mask(np.array([[0.3, 10.0, 5.0]]), [1, 1, -1]).tolist() == [True]


def test_empty() -> None:
    assert pareto_mask(np.zeros((0, 2)), [1, -1]).tolist() == []


def test_one_dominates_all() -> None:
    values = np.array([[0.5, 100.0, 1.0], [0.4, 90.0, 2.0], [0.5, 50.0, 1.0], [0.1, 100.0, 1.0]])
    assert pareto_mask(values, [1, 1, -1]).tolist() == [True, False, False, False]


def test_ties_are_all_kept() -> None:
    values = np.array([[0.5, 10.0], [0.5, 10.0], [0.4, 5.0]])
    assert pareto_mask(values, [1, -1]).tolist() == [True, True, True]


def test_trade_off_and_directions() -> None:
    values = np.array([[0.6, 20.0], [0.5, 10.0], [0.4, 15.0]])
    assert pareto_mask(values, [1, -1]).tolist() == [True, True, False]
    assert pareto_mask(values, [-1, 1]).tolist() == [True, False, True]


def test_nan_rows_never_on_front() -> None:
    values = np.array([[np.nan, 1.0], [0.5, 2.0], [0.4, 3.0]])
    assert pareto_mask(values, [1, 1]).tolist() == [False, True, True]


def test_shape_checked() -> None:
    with pytest.raises(ValueError, match="must be"):
        pareto_mask(np.zeros((3, 2)), [1, 1, 1])


def test_hypervolume_of_known_shapes() -> None:
    from paretodet.reports._pareto import hypervolume

    # two rectangles from the origin, overlapping in a 1x1 square: 2 + 2 - 1
    assert hypervolume(np.array([[2.0, 1.0], [1.0, 2.0]]), [1, 1], [0.0, 0.0]) == pytest.approx(3.0)
    # minimizing the second column: the same picture mirrored
    assert hypervolume(np.array([[2.0, -1.0], [1.0, -2.0]]), [1, -1], [0.0, 0.0]) == pytest.approx(3.0)
    # 3D: a unit cube plus a 2x0.5x0.5 box sticking out of it (shared part 1x0.5x0.5)
    pts = np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 0.5]])
    assert hypervolume(pts, [1, 1, 1], [0.0, 0.0, 0.0]) == pytest.approx(1.0 + 0.5 - 0.25)
    # dominated, NaN and beyond-reference rows add nothing; empty input is 0
    more = np.array([[1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [np.nan, 3, 3], [-1.0, 5.0, 5.0]])
    assert hypervolume(more, [1, 1, 1], [0.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert hypervolume(np.zeros((0, 3)), [1, 1, 1], [0.0, 0.0, 0.0]) == 0.0


def test_hypervolume_matches_monte_carlo() -> None:
    from paretodet.reports._pareto import hypervolume

    rng = np.random.default_rng(0)
    pts = rng.random((12, 3))
    samples = rng.random((200_000, 3))
    inside = (samples[:, None, :] <= pts[None, :, :]).all(axis=2).any(axis=1).mean()
    assert hypervolume(pts, [1, 1, 1], [0.0, 0.0, 0.0]) == pytest.approx(inside, abs=0.01)


def test_knee_is_the_balanced_front_point() -> None:
    from paretodet.reports._pareto import knee_index

    values = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.8], [0.5, 0.5]])
    assert knee_index(values, [1, 1]) == 2
    assert knee_index(np.array([[np.nan, 1.0]]), [1, 1]) == -1
