from __future__ import annotations

import numpy as np
import pandas as pd

from paretodet.reports import Budget, select_best


def _trials() -> pd.DataFrame:
    # a failed trial without a candidate turns the int knob columns into floats, as pandas does
    return pd.DataFrame(
        [
            {
                "number": 0,
                "state": "COMPLETE",
                "imgsz": 320.0,
                "runtime": "onnxruntime",
                "quant.precision": "int8",
                "quant.per_channel": 1.0,
                "quant.fp_layers": 2.0,
                "map50_95": 0.7,
                "fps": 100.0,
                "size_bytes": 3e6,
                "latency_ms": 10.0,
            },
            {
                "number": 1,
                "state": "COMPLETE",
                "imgsz": 256.0,
                "runtime": "onnxruntime",
                "quant.precision": "fp32",
                "map50_95": 0.6,
                "fps": 150.0,
                "size_bytes": 12e6,
                "latency_ms": 6.0,
            },
            {
                "number": 2,
                "state": "FAIL",
                "imgsz": np.nan,
                "map50_95": np.nan,
                "fps": np.nan,
                "size_bytes": np.nan,
                "latency_ms": np.nan,
            },
        ]
    )


def test_selected_config_is_typed_and_complete() -> None:
    sel = select_best(_trials(), [Budget.parse("size_mb<=4")])
    config = sel.candidate()
    assert config["imgsz"] == 320 and isinstance(config["imgsz"], int)
    assert config["quant.per_channel"] is True and config["quant.fp_layers"] == 2
    assert config["quant.calibration"] == "minmax"  # knobs the trial did not record take their defaults


def test_objective_direction_and_closest() -> None:
    assert select_best(_trials(), [], objective="latency_ms").best["number"] == 1
    none = select_best(_trials(), [Budget.parse("size_mb<=1")])
    assert none.best is None and none.closest["number"] == 0


def test_objective_directions_come_from_the_metric_table() -> None:
    import pytest

    from paretodet.errors import BudgetError

    assert select_best(_trials(), [], objective="fps").best["number"] == 1  # larger is better
    assert select_best(_trials(), [], objective="size_mb").best["number"] == 0  # derived from size_bytes
    with pytest.raises(BudgetError, match="unknown objective 'latency_cv'"):
        select_best(_trials(), [], objective="latency_cv")
    with pytest.raises(BudgetError, match="no trial recorded 'gflops'"):
        select_best(_trials(), [], objective="gflops")
