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


def test_budgets_and_directions_come_from_the_one_metric_table() -> None:
    from dataclasses import fields

    from paretodet.objectives import BUDGET_METRICS, METRIC_DIRECTIONS, METRICS, OBJECTIVE_METRICS, Metrics

    recorded = {name for name, spec in METRICS.items() if not spec.verified_only}
    assert recorded <= {f.name for f in fields(Metrics)} | {"size_mb"}  # every trial metric is recorded
    assert "size_mb" in BUDGET_METRICS and "latency_cv" not in BUDGET_METRICS and "threads" not in BUDGET_METRICS
    assert (
        METRIC_DIRECTIONS["fps"] == 1 and METRIC_DIRECTIONS["size_bytes"] == -1 and "threads" not in METRIC_DIRECTIONS
    )
    assert all(METRICS[m].direction for m in OBJECTIVE_METRICS)
    for metric in BUDGET_METRICS:
        assert Budget.parse(f"{metric}<=1").metric == metric
    with pytest.raises(BudgetError, match="unknown budget metric 'latency_cv'"):
        Budget.parse("latency_cv<=0.1")


def test_metric_formats_and_titles() -> None:
    from paretodet.objectives import METRICS, format_metric

    assert format_metric("size_bytes", 12e6) == "12.00 MB"
    assert format_metric("latency_ms", 7) == "7.00 ms"
    assert format_metric("map50_95", 0.7) == "0.7000"
    assert format_metric("fps", float("nan")) == "nan" and format_metric("runtime", "torch") == "torch"
    assert METRICS["size_bytes"].title == "artifact size, bytes (lower is better)"
    assert METRICS["map50_95"].title == "mAP50-95 (higher is better)"
    assert METRICS["map50_95"].optuna_direction == "maximize" and METRICS["gflops"].optuna_direction == "minimize"
    with pytest.raises(ValueError, match="cannot be an objective"):
        _ = METRICS["threads"].optuna_direction
