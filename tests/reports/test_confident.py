"""`select --confident`: budgets hold at the pessimistic end of each interval."""

from __future__ import annotations

import pandas as pd

from paretodet.reports import Budget, select_best
from paretodet.reports._select import pessimistic


def _trials() -> pd.DataFrame:
    rows = [
        # trial 0: mAP 0.52 but its interval reaches down to 0.47; trial 1: 0.51, narrow interval
        {"number": 0, "state": "COMPLETE", "map50_95": 0.52, "map50_95_low": 0.47, "map50_95_high": 0.57,
         "latency_ms": 8.0, "latency_low_ms": 7.8, "latency_high_ms": 8.3, "fps": 125.0, "size_bytes": 4e6},
        {"number": 1, "state": "COMPLETE", "map50_95": 0.51, "map50_95_low": 0.50, "map50_95_high": 0.52,
         "latency_ms": 9.5, "latency_low_ms": 9.4, "latency_high_ms": 10.4, "fps": 105.3, "size_bytes": 5e6},
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_pessimistic_ends() -> None:
    worst = pessimistic(_trials(), [Budget.parse("map50_95>=0.5"), Budget.parse("fps>=100")])
    assert list(worst["map50_95"]) == [0.47, 0.50]
    assert list(worst["fps"].round(2)) == [120.48, 96.15]


def test_confident_selection_drops_configs_whose_interval_crosses_a_budget() -> None:
    budgets = [Budget.parse("map50_95>=0.5")]
    assert select_best(_trials(), budgets).best["number"] == 0
    assert select_best(_trials(), budgets, confident=True).best["number"] == 1
    latency = [Budget.parse("latency_ms<=10")]
    assert select_best(_trials(), latency, confident=True).best["number"] == 0  # trial 1 reaches 10.4 ms


def test_a_trial_without_intervals_cannot_be_shown_to_meet_a_budget() -> None:
    bare = _trials().drop(columns=["map50_95_low", "map50_95_high"])
    chosen = select_best(bare, [Budget.parse("map50_95>=0.5")], confident=True)
    assert chosen.best is None and chosen.feasible_count == 0
