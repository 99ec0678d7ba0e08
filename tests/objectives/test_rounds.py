"""Interleaved rounds: every artifact once per round, rotated order, ratios with an order-statistic interval."""

from __future__ import annotations

import time

import numpy as np
import pytest

from paretodet.errors import ConfigError
from paretodet.objectives import RoundSettings, median_interval, time_interleaved


class _Sleeper:
    """A runner that takes ``seconds`` per call and records when it ran."""

    family = "ultralytics"
    threads = 1

    def __init__(self, seconds: float, log: list[str], name: str) -> None:
        self.seconds, self.log, self.name = seconds, log, name

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        self.log.append(self.name)
        time.sleep(self.seconds)
        return [batch]


def test_median_interval_is_distribution_free() -> None:
    # n = 10: ranks 2 and 9 cover the median with probability 0.979 (rank 3/8 would be 0.891)
    result = median_interval(np.arange(1.0, 11.0))
    assert (result.median, result.low, result.high) == (5.5, 2.0, 9.0)
    assert median_interval([4.0, 4.0, 4.0, 4.0, 4.0, 4.0]).low == 4.0


def test_fewer_than_six_values_have_no_95_percent_interval() -> None:
    result = median_interval([1.0, 2.0, 3.0])
    assert result.median == 2.0 and np.isnan(result.low)
    with pytest.raises(ConfigError, match="rounds must be >= 6"):
        RoundSettings(rounds=5)


def test_rounds_rotate_order_and_ratio_reflects_the_real_speed() -> None:
    log: list[str] = []
    slow, fast = _Sleeper(0.02, log, "slow"), _Sleeper(0.01, log, "fast")  # scheduling noise << 10 ms
    settings = RoundSettings(rounds=6, calls=5, warmup=1, settle=0)
    timing = time_interleaved([slow, fast], [32, 32], settings=settings)
    assert timing.per_round_ms.shape == (6, 2)
    turns = [log[i] for i in range(2, len(log), 5)]  # after warm-up, each turn is 5 calls of one runner
    assert turns[:4] == ["slow", "fast", "fast", "slow"]  # round 1 starts with the second artifact
    ratio = timing.ratio(1)
    assert 0.35 < ratio.median < 0.65
    assert ratio.low <= ratio.median <= ratio.high
    assert timing.latency(0).median > timing.latency(1).median


def test_one_input_size_per_runner() -> None:
    with pytest.raises(ConfigError, match="one input size per runner"):
        time_interleaved([_Sleeper(0.0, [], "a")], [32, 64], settings=RoundSettings(rounds=6, calls=5))
