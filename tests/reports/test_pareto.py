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
