from __future__ import annotations

import numpy as np
import pytest

from paretodet.errors import BudgetError
from paretodet.reports import Budget, feasible_mask, parse_budgets, violations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("size_mb<=4", Budget("size_mb", "<=", 4.0)),
        (" fps >= 30 ", Budget("fps", ">=", 30.0)),
        ("latency_ms<2.5e1", Budget("latency_ms", "<", 25.0)),
        ("map50_95>.3", Budget("map50_95", ">", 0.3)),
    ],
)
def test_parse(text: str, expected: Budget) -> None:
    assert Budget.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("size_mb=<4", "malformed"), ("size<=4", "unknown budget metric"), ("fps>=", "malformed"), ("", "malformed")],
)
def test_bad_budget(text: str, message: str) -> None:
    with pytest.raises(BudgetError, match=message):
        Budget.parse(text)


def test_feasibility_and_relative_violation() -> None:
    cols = {"size_mb": np.array([3.0, 4.0, 6.0, np.nan]), "fps": np.array([40.0, 20.0, 40.0, 40.0])}
    budgets = parse_budgets(["size_mb<=4", "fps>=30"])
    assert feasible_mask(cols, budgets).tolist() == [True, False, False, False]
    v = violations(cols, budgets)
    assert v[0] == 0 and v[1] == pytest.approx(10 / 30) and v[2] == pytest.approx(0.5) and np.isinf(v[3])


def test_strict_bound_excludes_equality() -> None:
    assert feasible_mask({"size_mb": np.array([4.0])}, [Budget.parse("size_mb<4")]).tolist() == [False]


def test_budget_text_keeps_its_precision() -> None:
    assert str(Budget.parse("size_bytes<=3141592")) == "size_bytes<=3141592"
    assert str(Budget.parse("latency_ms<12.5")) == "latency_ms<12.5"
    assert Budget.parse(str(Budget.parse("size_bytes<=3141592"))).bound == 3141592
