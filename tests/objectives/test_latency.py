from __future__ import annotations

import time

import numpy as np
import pytest

from paretodet.errors import ConfigError
from paretodet.objectives import LatencySettings, measure_latency, summarize_times


def test_summary_statistics() -> None:
    stats = summarize_times([10.0, 12.0, 8.0, 10.0])
    assert stats.median_ms == 10.0
    assert stats.mean_ms == 10.0
    assert stats.cv == pytest.approx(np.std([10, 12, 8, 10]) / 10)
    assert stats.p90_ms == pytest.approx(np.percentile([10, 12, 8, 10], 90))


def test_too_few_runs_rejected() -> None:
    with pytest.raises(ConfigError, match=">= 30"):
        LatencySettings(runs=5)


def test_measures_real_calls() -> None:
    calls = []

    def runner(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        time.sleep(0.002)
        return batch

    stats = measure_latency(runner, imgsz=32, settings=LatencySettings(warmup=3, runs=30))  # type: ignore[arg-type]
    assert len(calls) == 33 and calls[0] == (1, 3, 32, 32)
    assert stats.runs == 30 and stats.median_ms >= 2.0
